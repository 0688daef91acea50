import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';
import { TamgaError } from '../core/errors.js';
import { digitalSourceTypeUri, type Provenance } from '../core/provenance.js';
import type { C2paLabelOptions, Finding, Format } from '../core/types.js';
import { TOOL_ID, VERSION } from '../version.js';
import { answerKey, cachedAnswer, fastC2paCandidate, fastC2paStats, fastC2paStore, learnC2paVerdict, rememberAnswer } from './c2pa-fast.js';
import { COSE_ALGORITHMS, coseReserveSize, coseSign1, localSigner, pemCertificates, type C2paSigner } from './cose.js';

/**
 * C2PA Content Credentials through c2pa-rs (@contentauth/c2pa-wasm): it embeds and validates
 * manifests in every container it knows, and tamga supplies the COSE signature (cose.ts), so the
 * same code signs with a local key or a KMS/HSM callback. Generic over format: bytes and a
 * format in, signed bytes out; adapters call it as the last step of labelling.
 */

/** Containers c2pa-rs embeds a manifest store into (and tamga's tests sign and validate). */
export const C2PA_SIGNABLE_MIME: Partial<Record<Format, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  heif: 'image/heif',
  avif: 'image/avif',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

/** Containers c2pa-rs can read a manifest store from (a superset: it validates PDFs and SVGs it cannot sign). */
export const C2PA_READABLE_MIME: Partial<Record<Format, string>> = {
  ...C2PA_SIGNABLE_MIME,
  avi: 'video/x-msvideo',
  pdf: 'application/pdf',
  svg: 'image/svg+xml',
};

let wasmReady = false;

/** A Blob stand-in over bytes we hold: c2pa-wasm only calls `size` and `slice` on it, then reads it with FileReaderSync. */
class BytesBlob {
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  slice(start?: number, end?: number): BytesBlob {
    return new BytesBlob(this.bytes.subarray(start, end));
  }
}

/**
 * Loads c2pa-rs once per process. Its builder reads source Blobs with `FileReaderSync`, which
 * exists only in browser workers; in Node the stand-in below returns the bytes a BytesBlob holds.
 */
function ensureWasm(): void {
  if (wasmReady) return;
  const g = globalThis as { FileReaderSync?: unknown };
  if (g.FileReaderSync === undefined) {
    g.FileReaderSync = class {
      readAsArrayBuffer(blob: unknown): ArrayBuffer {
        if (!(blob instanceof BytesBlob)) throw new TypeError('tamga FileReaderSync stand-in: only reads tamga BytesBlob');
        // A copy: a Buffer may be a view into a larger pooled ArrayBuffer.
        return Uint8Array.prototype.slice.call(blob.bytes).buffer as ArrayBuffer;
      }
    };
  }
  const wasmPath = createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm');
  initSync({ module: readFileSync(wasmPath) });
  wasmReady = true;
}

/**
 * The CAWG training-and-data-mining keys a training reservation sets to `notAllowed`
 * (labelling-standards.md §3.5, §9.3): AI training only, matching the XMP value
 * `DMI-PROHIBITED-AIMLTRAINING`, so every layer says the same thing. Data mining in general
 * (search, analytics) and inference are left unstated, as the Kazakh law reserves training only.
 */
const CAWG_TRAINING_KEYS = ['cawg.ai_generative_training', 'cawg.ai_training'] as const;

/** tamga's own assertion: the whole Provenance record, under an entity-specific (reverse-domain) label. */
export const TAMGA_ASSERTION = 'kz.tamga.provenance';

export interface C2paSignOptions {
  signer: C2paSigner;
  /** Add `cawg.training-mining` saying AI training (generative and other) is `notAllowed`. */
  reserveTraining?: boolean;
}

/** The manifest tamga signs for an AI-generated asset. */
export function manifestDefinition(p: Provenance, mime: string, opts: Pick<C2paSignOptions, 'reserveTraining'>): Record<string, unknown> {
  const created: Record<string, unknown> = { action: 'c2pa.created', digitalSourceType: digitalSourceTypeUri(p.digitalSourceType), when: p.createdAt };
  if (p.generator) created.softwareAgent = { name: p.generator.name, ...(p.generator.version ? { version: p.generator.version } : {}) };
  const assertions: { label: string; data: unknown }[] = [
    { label: 'c2pa.actions', data: { actions: [created] } },
    { label: TAMGA_ASSERTION, data: { ...p, labeller: TOOL_ID } },
  ];
  if (opts.reserveTraining) {
    assertions.push({ label: 'cawg.training-mining', data: { entries: Object.fromEntries(CAWG_TRAINING_KEYS.map((k) => [k, { use: 'notAllowed' }])) } });
  }
  return {
    claim_generator_info: [{ name: 'tamga', version: VERSION }],
    format: mime,
    instance_id: `xmp:iid:${p.contentId}`,
    assertions,
  };
}

function c2paError(e: unknown, what: string, format: string): TamgaError {
  if (e instanceof TamgaError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const code = /UnsupportedType|NotImplemented|UnsupportedFormat/i.test(msg) ? 'UNSUPPORTED_FORMAT' : 'CORRUPT_INPUT';
  return new TamgaError(code, `${format}: c2pa-rs could not ${what}: ${msg}`, { format, c2pa: msg }, { cause: e });
}

/**
 * Signs `bytes` (a complete asset of `format`) with a new manifest and returns the signed asset.
 * Any manifest store the input had is replaced. Call it last: every later byte change breaks
 * the hard binding.
 */
export async function signC2pa(bytes: Uint8Array, format: Format, p: Provenance, opts: C2paSignOptions): Promise<Uint8Array> {
  const mime = C2PA_SIGNABLE_MIME[format];
  if (!mime) throw new TamgaError('UNSUPPORTED_FORMAT', `${format}: c2pa-rs cannot embed a C2PA manifest into this format`, { format });
  ensureWasm();
  const reserveSize = coseReserveSize(opts.signer);
  // An error thrown in the callback reaches us only as text through wasm; keep the original.
  let signerError: unknown;
  const signerDefinition = {
    alg: opts.signer.alg,
    reserveSize,
    sign: async (claim: Uint8Array) => {
      try {
        return (await coseSign1(opts.signer, claim, reserveSize)) as Uint8Array<ArrayBuffer>;
      } catch (e) {
        signerError = e;
        throw e;
      }
    },
  };
  let builder: WasmBuilder | undefined;
  try {
    builder = WasmBuilder.fromJson(JSON.stringify(manifestDefinition(p, mime, opts)));
    return await builder.sign(signerDefinition, [], mime, new BytesBlob(bytes) as unknown as Blob);
  } catch (e) {
    if (signerError !== undefined) {
      if (signerError instanceof TamgaError) throw signerError;
      throw new TamgaError('INVALID_OPTION', `c2pa.signer: the signer failed: ${(signerError as Error).message ?? String(signerError)}`, { option: 'c2pa.signer' }, { cause: signerError });
    }
    throw c2paError(e, 'sign', format);
  } finally {
    builder?.free();
  }
}

export type C2paValidationState = 'valid' | 'invalid' | 'untrusted';

/** The value of a `c2pa:manifest` finding: the contract the verifier reads. */
export interface C2paManifestReport {
  /** `valid`: intact and signed by a trust anchor's chain; `untrusted`: intact, signer not trusted; `invalid`: broken (see statusCodes). */
  validationState: C2paValidationState;
  /** Label of the active manifest. */
  activeManifest?: string;
  claimGenerator?: string;
  signer?: { subject?: string; issuer?: string };
  /** Signing time from the signature's RFC 3161 time stamp, when it has one. */
  signedAt?: string;
  /**
   * Full IPTC URIs from the actions of the active manifest and of the manifests its ingredients
   * reach (transitively). A manifest nothing reaches is listed in `unreferencedManifests` and
   * never counts as evidence.
   */
  digitalSourceTypes: string[];
  /** Action names of the active manifest, e.g. `c2pa.created`. */
  actions: string[];
  /** Entries of a `cawg.training-mining` (or legacy `c2pa.training-mining`) assertion of the active manifest. */
  trainingMining?: Record<string, { use: string; constraint_info?: string }>;
  /** c2pa-rs validation status codes that are not successes, e.g. `signingCredential.untrusted`, `assertion.dataHash.mismatch`. */
  statusCodes: string[];
  /** Number of manifests in the store. */
  manifests: number;
  /** Labels of manifests in the store that neither the active manifest nor its ingredients reach (anybody can add one). */
  unreferencedManifests?: string[];
  /**
   * Which reader answered: `c2pa-rs` (it read this file), or `native` (the fast path checked the
   * file's hashes and signatures and reused c2pa-rs's verdict on the same credentials and shape).
   * The rest of the report is the same either way.
   */
  validatedBy?: 'c2pa-rs' | 'native';
  /** Present when c2pa-rs could not read the store at all. */
  error?: string;
}

export interface C2paReadOptions {
  /** PEM bundle of trusted root certificates. Without it no signer is trusted: intact manifests are `untrusted`. */
  trustAnchors?: string;
  /** Use the native fast path (c2pa-fast.ts) where it applies; default true. False always asks c2pa-rs. */
  fast?: boolean;
}

/** Validation runs offline: no remote manifest or OCSP fetches from inside a scan. */
function readerSettings(opts: C2paReadOptions): string {
  return JSON.stringify({
    verify: { remote_manifest_fetch: false, ocsp_fetch: false, verify_trust: true },
    ...(opts.trustAnchors ? { trust: { trust_anchors: opts.trustAnchors } } : {}),
  });
}

interface RawAction {
  action?: string;
  digitalSourceType?: string;
  parameters?: Record<string, unknown>;
}
interface RawManifest {
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string }[];
  assertions?: { label: string; data?: unknown }[];
  signature_info?: { issuer?: string; common_name?: string; time?: string };
  ingredients?: { active_manifest?: string }[];
}
interface RawStore {
  active_manifest?: string;
  manifests?: Record<string, RawManifest>;
  validation_status?: { code: string }[];
  validation_state?: string;
}

function actionsOf(m: RawManifest): RawAction[] {
  const out: RawAction[] = [];
  for (const a of m.assertions ?? []) {
    if (!/^c2pa\.actions(\.v\d+)?$/.test(a.label)) continue;
    const list = (a.data as { actions?: RawAction[] } | undefined)?.actions;
    if (Array.isArray(list)) out.push(...list);
  }
  return out;
}

/** `digitalSourceType` of an action; Adobe tools also put it in `parameters` under their own key. */
function sourceTypesOf(a: RawAction): string[] {
  const out: string[] = [];
  if (typeof a.digitalSourceType === 'string') out.push(a.digitalSourceType);
  const adobe = a.parameters?.['com.adobe.digitalSourceType'];
  if (typeof adobe === 'string') out.push(adobe);
  return out;
}

function claimGeneratorOf(m: RawManifest): string | undefined {
  if (m.claim_generator) return m.claim_generator;
  const info = m.claim_generator_info?.filter((i) => i.name);
  return info?.length ? info.map((i) => (i.version ? `${i.name}/${i.version}` : i.name)).join(' ') : undefined;
}

const STATE: Record<string, C2paValidationState> = { Trusted: 'valid', Valid: 'untrusted', Invalid: 'invalid' };

/** The active manifest and every manifest its ingredients name, transitively (labels present in the store). */
function reachableManifests(store: RawStore): Set<string> {
  const manifests = store.manifests ?? {};
  const seen = new Set<string>();
  const todo = store.active_manifest && manifests[store.active_manifest] ? [store.active_manifest] : [];
  for (const l of todo) seen.add(l);
  while (todo.length) {
    for (const ing of manifests[todo.pop()!]!.ingredients ?? []) {
      const l = ing.active_manifest;
      if (typeof l === 'string' && manifests[l] && !seen.has(l)) {
        seen.add(l);
        todo.push(l);
      }
    }
  }
  return seen;
}

export function reportFromStore(store: RawStore): C2paManifestReport {
  const manifests = store.manifests ?? {};
  const active = store.active_manifest ? manifests[store.active_manifest] : undefined;
  const statusCodes = [...new Set((store.validation_status ?? []).map((s) => s.code))];
  const digitalSourceTypes = new Set<string>();
  const reached = reachableManifests(store);
  // c2pa-wasm's map order differs between processes: walk the manifests by label so reports are reproducible.
  for (const label of [...reached].sort()) for (const a of actionsOf(manifests[label]!)) for (const t of sourceTypesOf(a)) digitalSourceTypes.add(t);
  const unreferenced = Object.keys(manifests).filter((l) => !reached.has(l)).sort();
  const report: C2paManifestReport = {
    validationState: STATE[store.validation_state ?? ''] ?? 'invalid',
    digitalSourceTypes: [...digitalSourceTypes],
    actions: active ? actionsOf(active).map((a) => a.action ?? '') : [],
    statusCodes,
    manifests: Object.keys(manifests).length,
  };
  if (store.active_manifest) report.activeManifest = store.active_manifest;
  if (unreferenced.length) report.unreferencedManifests = unreferenced;
  if (active) {
    const gen = claimGeneratorOf(active);
    if (gen) report.claimGenerator = gen;
    const sig = active.signature_info;
    if (sig && (sig.common_name || sig.issuer)) report.signer = { ...(sig.common_name ? { subject: sig.common_name } : {}), ...(sig.issuer ? { issuer: sig.issuer } : {}) };
    if (sig?.time) report.signedAt = sig.time;
    const tdm = active.assertions?.find((a) => a.label === 'cawg.training-mining' || a.label === 'c2pa.training-mining');
    const entries = (tdm?.data as { entries?: C2paManifestReport['trainingMining'] } | undefined)?.entries;
    if (entries) report.trainingMining = entries;
  }
  return report;
}

/** c2pa-rs's answer when an asset has no manifest store. */
const NO_MANIFEST = /JumbfNotFound|ManifestNotFound|no JUMBF|not found/i;

/**
 * The manifest store of a complete asset as c2pa-rs reports it (manifests, assertions,
 * validation results), or undefined when the asset has none. Throws c2pa-rs's error otherwise.
 */
export async function readManifestStore(bytes: Uint8Array, format: Format, opts: C2paReadOptions = {}): Promise<Record<string, unknown> | undefined> {
  const mime = C2PA_READABLE_MIME[format];
  if (!mime) return undefined;
  ensureWasm();
  let reader: WasmReader | undefined;
  try {
    reader = await WasmReader.fromBytes(mime, bytes, readerSettings(opts));
    return reader.manifestStore() as Record<string, unknown>;
  } catch (e) {
    if (NO_MANIFEST.test(e instanceof Error ? e.message : String(e))) return undefined;
    throw e;
  } finally {
    reader?.free();
  }
}

/**
 * Reads and validates the manifest store of a complete asset. Returns undefined when it has
 * none; a store c2pa-rs cannot parse is reported `invalid` with the error.
 */
export async function readC2pa(bytes: Uint8Array, format: Format, opts: C2paReadOptions = {}): Promise<C2paManifestReport | undefined> {
  const candidate = opts.fast === false ? undefined : await fastC2paCandidate(bytes, format, opts.trustAnchors);
  const fast = candidate && fastC2paStore(candidate);
  if (fast) return { ...reportFromStore(fast), validatedBy: 'native' };
  const memo = opts.fast === false ? undefined : answerKey(bytes, format, opts.trustAnchors, candidate);
  const seen = memo && cachedAnswer<{ report: C2paManifestReport | undefined }>(memo);
  if (seen) return seen.report;
  fastC2paStats.slow++;
  let report: C2paManifestReport | undefined;
  try {
    const store = await readManifestStore(bytes, format, opts);
    if (store && candidate) learnC2paVerdict(candidate, store as RawStore, (s) => reportFromStore(s as RawStore));
    report = store && { ...reportFromStore(store as RawStore), validatedBy: 'c2pa-rs' };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    report = { validationState: 'invalid', digitalSourceTypes: [], actions: [], statusCodes: [], manifests: 0, error: msg, validatedBy: 'c2pa-rs' };
  }
  if (memo) rememberAnswer(memo, { report });
  return report;
}

/** The `c2pa:manifest` finding for a store, or nothing when the asset has none. */
/** JUMBF description-box type of a C2PA store: "c2pa" then the fixed 0011-0010-8000-00AA00389B71 suffix (§3.1). */
const C2PA_STORE_TYPE = Buffer.from('6332706100110010800000aa00389b71', 'hex');

/**
 * A cheap check before starting the validator: an embedded store in a binary container always
 * carries its JUMBF type UUID verbatim. SVG embeds it base64 in a `c2pa:manifest` element, and a
 * PDF may compress its embedded file, so those two are always handed to c2pa-rs.
 */
export function mayHoldC2paStore(bytes: Uint8Array, format: Format): boolean {
  if (format === 'pdf') return true;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'svg') return buf.includes('c2pa:manifest') || buf.includes('c2pa.org/manifest');
  return buf.includes(C2PA_STORE_TYPE);
}

export async function c2paFindings(bytes: Uint8Array, format: Format, where: string, opts: C2paReadOptions = {}): Promise<Finding[]> {
  const report = await readC2pa(bytes, format, opts);
  return report ? [{ layer: 'c2pa', kind: 'c2pa:manifest', value: report, confidence: 1, where }] : [];
}

/** PEM given inline, or a path to a PEM file (CLI flags and API options take either). */
function pemContents(value: string | Uint8Array, option: string): string {
  if (typeof value !== 'string') return Buffer.from(value).toString('utf8');
  if (value.includes('-----BEGIN ')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (e) {
    throw new TamgaError('INVALID_OPTION', `${option}: cannot read ${value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { option, path: value }, { cause: e });
  }
}

/** Checks LabelOptions.c2pa and turns a PEM pair into a local signer. */
export function resolveC2paSigning(c2pa: C2paLabelOptions): C2paSignOptions {
  const reserveTraining = c2pa.reserveTraining ?? false;
  if (typeof reserveTraining !== 'boolean') throw new TamgaError('INVALID_OPTION', 'c2pa.reserveTraining: expected a boolean', { option: 'c2pa.reserveTraining' });
  if ('signer' in c2pa) {
    const s = c2pa.signer;
    if (!s || typeof s.sign !== 'function' || !(s.alg in COSE_ALGORITHMS) || !Array.isArray(s.certificateChain) || !s.certificateChain.length) {
      throw new TamgaError('INVALID_OPTION', `c2pa.signer: expected { alg: ${Object.keys(COSE_ALGORITHMS).join('|')}, certificateChain: DER[] (signing certificate first), sign(bytes) }`, { option: 'c2pa.signer' });
    }
    return { signer: s, reserveTraining };
  }
  if (!('cert' in c2pa) || !('key' in c2pa) || !c2pa.cert || !c2pa.key) {
    throw new TamgaError('INVALID_OPTION', 'c2pa: give { cert, key } (PEM contents or paths) or { signer }', { option: 'c2pa' });
  }
  return { signer: localSigner({ cert: pemContents(c2pa.cert, 'c2pa.cert'), key: pemContents(c2pa.key, 'c2pa.key') }), reserveTraining };
}

/** DetectOptions.trustAnchors (PEM contents or a path) as PEM text with at least one certificate. */
export function resolveTrustAnchors(value: string): string {
  const pem = pemContents(value, 'trustAnchors');
  const certs = pemCertificates(pem);
  if (!certs.length) throw new TamgaError('INVALID_OPTION', 'trustAnchors: no PEM certificate found', { option: 'trustAnchors' });
  certs.forEach((der, i) => {
    try {
      new X509Certificate(der);
    } catch (e) {
      throw new TamgaError('INVALID_OPTION', `trustAnchors: certificate ${i + 1} does not parse (${(e as Error).message})`, { option: 'trustAnchors' }, { cause: e });
    }
  });
  return pem;
}
