import { createHash, verify as cryptoVerify } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Decoder, Encoder, Tag } from 'cbor-x';
import type { Format } from '../core/types.js';
import { jpegC2paStore, jpegHashBoxes } from '../formats/jpeg.js';
import { childLabelled, parseJumbf, uuidType, type JumbfSuperbox } from '../formats/jumbf.js';
import { gifContainer } from '../formats/gif.js';
import { bmffC2paStore, childBoxes, type Box } from '../formats/isobmff.js';
import { pngC2paStore } from '../formats/png.js';
import { webpC2paStore } from '../formats/riff.js';
import { tiffContainer } from '../formats/tiff.js';
import { BufferReader } from '../core/source.js';
import { verifyTimeStampToken, type VerifiedTimeStamp } from './c2pa-timestamp.js';
import { certificateInfo, validityAt } from './x509-cache.js';

/**
 * The C2PA fast path: validates a manifest store natively when it is an intact, common one, so
 * an archive scan does not pay c2pa-rs/wasm's 10-30 ms per signed file.
 *
 * What it checks per file, with node:crypto: every hashed URI of every claim (assertions and
 * ingredient manifests), the active manifest's `c2pa.hash.data` over the asset, every claim's
 * COSE_Sign1 signature, and each RFC 3161 time stamp (imprint, digest and TSA signature).
 *
 * What it takes from c2pa-rs instead: the verdict on the credentials (certificate profile, trust,
 * expiry, OCSP) and the validation of the store's shape (action and ingredient rules). Those
 * depend only on the certificates, where the signing time falls in their validity, and the shape,
 * so the first file with a given credential key and shape is validated by c2pa-rs and the verdict
 * is reused for later files with the same key and shape (a thousand DALL-E outputs share one).
 * The first answer is also compared in full with the report the fast path builds; any
 * difference pins that key to c2pa-rs for the rest of the process.
 *
 * Anything it does not positively confirm (a hash or signature that does not match, a binding
 * other than c2pa.hash.data, redactions, CAWG identity assertions, update manifests, unknown
 * headers, other containers) goes to c2pa-rs, so failures are always reported by c2pa-rs itself.
 */

/** The raw store shape c2pa.ts turns into a report (the subset of c2pa-rs's Reader JSON it reads). */
export interface FastRawManifest {
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string }[];
  assertions: { label: string; data?: unknown }[];
  signature_info?: { issuer?: string; common_name?: string; time?: string };
}
export interface FastRawStore {
  active_manifest: string;
  manifests: Record<string, FastRawManifest>;
  validation_status: { code: string }[];
  validation_state: string;
}

/** What c2pa-rs said about one credential key and shape. */
interface Learned {
  state: string;
  codes: string[];
  signer?: { issuer?: string; common_name?: string };
}

/** A store the fast path confirmed intact; it needs the learned verdict to become a report. */
export interface FastCandidate {
  /** Credentials and shape: c2pa-rs's whole verdict on an intact store with this key is reused. */
  key: string;
  /** Credentials only: c2pa-rs's credential codes, reused beside the failures the fast path found. */
  credKey: string;
  /** C2PA failure codes found natively; empty for an intact store. */
  failures: string[];
  store: Omit<FastRawStore, 'validation_status' | 'validation_state'>;
}

const cborDecoder = new Decoder({ mapsAsObjects: true, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);
const decode = (b: Uint8Array): unknown => cborDecoder.decode(b);

/** TIFF (tag 0xCD41) and GIF (`C2PA_GIF` application extension) stores, found by the container readers. */
async function carriedStore(asset: Uint8Array, format: 'tiff' | 'gif'): Promise<Uint8Array | undefined> {
  const meta = await (format === 'tiff' ? tiffContainer : gifContainer).read(new BufferReader(asset));
  const c = meta.c2pa;
  if (!c) return undefined;
  if (format === 'tiff') return asset.subarray(c.offset, c.offset + c.length);
  // 21 FF 0B, the 11-byte identifier block, then data sub-blocks up to the terminator.
  const parts: Uint8Array[] = [];
  for (let at = c.offset + 14; at < c.offset + c.length && asset[at] !== 0; at += 1 + asset[at]!) parts.push(asset.subarray(at + 1, at + 1 + asset[at]!));
  return Buffer.concat(parts);
}

const STORE_OF: Partial<Record<Format, (b: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>>> = {
  jpeg: jpegC2paStore,
  png: pngC2paStore,
  webp: webpC2paStore,
  tiff: (b) => carriedStore(b, 'tiff'),
  gif: (b) => carriedStore(b, 'gif'),
  heif: bmffC2paStore,
  avif: bmffC2paStore,
  mp4: bmffC2paStore,
  mov: bmffC2paStore,
  m4a: bmffC2paStore,
};

const COSE_ALGS: Record<number, { name: string; hash: string | null; kind: 'ec' | 'pss' | 'ed'; ecBytes?: number }> = {
  [-7]: { name: 'es256', hash: 'sha256', kind: 'ec', ecBytes: 64 },
  [-35]: { name: 'es384', hash: 'sha384', kind: 'ec', ecBytes: 96 },
  [-36]: { name: 'es512', hash: 'sha512', kind: 'ec', ecBytes: 132 },
  [-37]: { name: 'ps256', hash: 'sha256', kind: 'pss' },
  [-38]: { name: 'ps384', hash: 'sha384', kind: 'pss' },
  [-39]: { name: 'ps512', hash: 'sha512', kind: 'pss' },
  [-8]: { name: 'ed25519', hash: null, kind: 'ed' },
};
const HASHES = new Set(['sha256', 'sha384', 'sha512']);
/** Unprotected COSE header entries the fast path understands; any other goes to c2pa-rs. */
const UNPROTECTED_KNOWN = new Set(['pad', 'pad2', 'sigTst', 'sigTst2', 'rVals', '33', 'x5chain']);

/** Codes c2pa-rs derives from the credentials alone; only verdicts made of these are reused. */
const LEARNABLE_CODE = /^(signingCredential\.(untrusted|invalid|expired|revoked|trusted)|signingCredential\.ocsp\.[A-Za-z]+|timeStamp\.(untrusted|outsideValidity)|cawg\.x509\.credential\.(untrusted|trusted|invalid|expired|revoked)|cawg\.identity\.(trusted|untrusted))$/;

class NotFast extends Error {}
const bail = (why: string): never => {
  throw new NotFast(why);
};

// CBOR header for a byte or text string of `len` (major type `major`).
function cborHead(major: number, len: number): Uint8Array {
  const m = major << 5;
  if (len < 24) return Uint8Array.of(m | len);
  if (len < 0x100) return Uint8Array.of(m | 24, len);
  if (len < 0x10000) return Uint8Array.of(m | 25, len >> 8, len & 0xff);
  return Uint8Array.of(m | 26, len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
}
const cborBytes = (b: Uint8Array): Buffer => Buffer.concat([cborHead(2, b.length), b]);
const cborText = (s: string): Buffer => Buffer.concat([cborHead(3, Buffer.byteLength(s)), Buffer.from(s)]);

/** Sig_structure (RFC 9052 §4.4) with an empty external_aad: `[context, protected, h'', payload]`. */
const sigStructure = (context: string, protectedBytes: Uint8Array, payload: Uint8Array): Buffer =>
  Buffer.concat([Uint8Array.of(0x84), cborText(context), cborBytes(protectedBytes), Uint8Array.of(0x40), cborBytes(payload)]);

/** The ISO 19566-5 suffix of every C2PA box type UUID (after the 4-character type). */
const C2PA_UUID_SUFFIX = '00110010800000aa00389b71';
/** Embedded-file assertions (thumbnails) use the JUMBF embedded file type. */
const EMBEDDED_FILE_UUID = '40cb0c32bb8a489da70b2ad6f47f4369';
const ROLE_OF_LABEL: Record<string, string> = {
  'c2pa.assertions': 'c2as',
  'c2pa.claim': 'c2cl',
  'c2pa.claim.v2': 'c2cl',
  'c2pa.signature': 'c2cs',
  'c2pa.databoxes': 'c2db',
  'c2pa.credentials': 'c2vc',
};

/**
 * A superbox written the way C2PA writers write them, of the expected type: requestable with a
 * label and nothing else, or (assertions only) with the salt as a private `c2sh` box.
 */
function expectBox(box: JumbfSuperbox, types: readonly string[], salted = false): void {
  const typed = types.some((t) => (t.length === 32 ? box.uuid === t : box.uuid === Buffer.from(t, 'latin1').toString('hex') + C2PA_UUID_SUFFIX));
  const described = box.plainDescription && (box.toggles === 0x03 || (salted && box.toggles === 0x13 && box.privateBox === 'c2sh'));
  if (!described || !typed) bail(`unusual superbox ${box.label ?? '(no label)'}`);
}

const bytesOf = (v: unknown): Uint8Array | undefined => (v instanceof Uint8Array ? v : undefined);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

interface HashedUri {
  url: string;
  alg?: string;
  hash: Uint8Array;
}
function hashedUri(v: unknown): HashedUri {
  if (!isRecord(v) || typeof v.url !== 'string' || !bytesOf(v.hash)) bail('malformed hashed URI');
  const r = v as Record<string, unknown>;
  return { url: r.url as string, hash: bytesOf(r.hash)!, ...(typeof r.alg === 'string' ? { alg: r.alg } : {}) };
}

/** Resolves a `self#jumbf=` URI, relative to `manifest` or absolute from the store. */
function resolve(store: JumbfSuperbox, manifest: JumbfSuperbox, url: string): JumbfSuperbox | undefined {
  if (!url.startsWith('self#jumbf=')) return undefined;
  const path = url.slice('self#jumbf='.length).split('/').filter(Boolean);
  let box: JumbfSuperbox | undefined = manifest;
  if (path[0] === 'c2pa') {
    box = store;
    path.shift();
  }
  for (const seg of path) box = box && childLabelled(box, seg);
  return box;
}

const digest = (alg: string, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

/** A superbox's hash as C2PA hashed URIs use it: from its description box to its end (no superbox header). */
const boxHash = (buf: Uint8Array, box: JumbfSuperbox, alg: string): Buffer => digest(alg, buf.subarray(box.descriptionStart, box.end));

/** The payload of a superbox's single content box of `type`. */
function contentOf(buf: Uint8Array, box: JumbfSuperbox, type: string): Uint8Array {
  const c = box.contents.find((x) => x.type === type);
  if (!c || box.contents.length !== 1 || box.children.length) bail(`expected one ${type} box in ${box.label}`);
  return buf.subarray(c!.payloadStart, c!.end);
}

interface ManifestCheck {
  label: string;
  raw: FastRawManifest;
  /** What the credential verdict depends on: algorithm, certificates, where the signing time falls in their validity. */
  credParts: unknown[];
  /** The store's shape as c2pa-rs validates it: claim version, assertions, actions, ingredients. */
  shapeParts: unknown[];
  /** C2PA failure codes the native checks found (a tampered claim, assertion or ingredient). */
  failures: string[];
  hardBindings: { label: string; data: Record<string, unknown>; alg: string }[];
}

interface CoseSign1 {
  protectedBytes: Uint8Array;
  /** Protected and unprotected headers (integer labels as strings). */
  p: Record<string, unknown>;
  u: Record<string, unknown>;
  signature: Uint8Array;
  alg: (typeof COSE_ALGS)[number];
  /** DER certificates, the signer's first. */
  chain: Uint8Array[];
}

/** A COSE_Sign1 with a detached payload, an algorithm C2PA allows and an x5chain; anything else is left to c2pa-rs. */
function parseCoseSign1(bytes: Uint8Array, unprotectedKnown: ReadonlySet<string>): CoseSign1 {
  let cose = decode(bytes);
  if (cose instanceof Tag) {
    if (cose.tag !== 18) bail('COSE tag is not COSE_Sign1');
    cose = cose.value;
  }
  if (!Array.isArray(cose) || cose.length !== 4) bail('not a COSE_Sign1 array');
  const [protectedBytes, unprotected, payload, signature] = cose as unknown[];
  const pb = bytesOf(protectedBytes);
  const sig = bytesOf(signature);
  if (!pb || !sig || (payload !== null && payload !== undefined) || !isRecord(unprotected)) bail('malformed COSE_Sign1');
  const prot = decode(pb!);
  if (!isRecord(prot)) bail('protected header is not a map');
  const p = prot as Record<string, unknown>;
  for (const k of Object.keys(p)) if (k !== '1' && k !== '33') bail(`protected header ${k}`);
  const alg = COSE_ALGS[p['1'] as number] ?? bail('unsupported COSE algorithm');
  const u = unprotected as Record<string, unknown>;
  for (const k of Object.keys(u)) if (!unprotectedKnown.has(k)) bail(`unprotected header ${k}`);
  const x5 = p['33'] ?? u['33'] ?? u.x5chain;
  const chain = (Array.isArray(x5) ? x5 : [x5]).map((c) => bytesOf(c) ?? bail('x5chain entry is not bytes'));
  if (!chain.length) bail('no x5chain');
  if (alg.kind === 'ec' && sig!.length !== alg.ecBytes) bail('EC signature not in r|s form');
  return { protectedBytes: pb!, p, u, signature: sig!, alg, chain };
}

/** Certificates as they enter a credential key: a SHA-256 prefix each. */
const certificateIds = (certs: Uint8Array[]): string[] => certs.map((c) => digest('sha256', c).toString('hex').slice(0, 32));

/** Whether the signer's key verifies the signature over Sig_structure("Signature1", protected, payload). */
function coseVerifies(c: CoseSign1, payload: Uint8Array): boolean {
  const key = (certificateInfo(c.chain[0]!) ?? bail('signing certificate does not parse')).publicKey;
  const tbs = sigStructure('Signature1', c.protectedBytes, payload);
  const { alg } = c;
  if (alg.kind === 'ec') return cryptoVerify(alg.hash, tbs, { key, dsaEncoding: 'ieee-p1363' }, c.signature);
  if (alg.kind === 'pss') return cryptoVerify(alg.hash, tbs, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: createHash(alg.hash!).digest().length }, c.signature);
  return cryptoVerify(null, tbs, key, c.signature);
}

function checkSignature(buf: Uint8Array, sigBox: JumbfSuperbox, claimBytes: Uint8Array, credParts: unknown[], failures: string[]): VerifiedTimeStamp | undefined {
  const cose = parseCoseSign1(contentOf(buf, sigBox, 'cbor'), UNPROTECTED_KNOWN);
  const { p, u, alg, chain } = cose;
  if (!coseVerifies(cose, claimBytes)) failures.push('claimSignature.mismatch');

  let ts: VerifiedTimeStamp | undefined;
  const tstHeader = u.sigTst2 !== undefined ? 'sigTst2' : u.sigTst !== undefined ? 'sigTst' : undefined;
  if (tstHeader) {
    const container = u[tstHeader];
    const tokens = isRecord(container) && Array.isArray(container.tstTokens) ? container.tstTokens : bail('malformed sigTst');
    if (tokens.length !== 1 || !isRecord(tokens[0]) || !bytesOf(tokens[0].val)) bail('sigTst must hold one token');
    const data = tstHeader === 'sigTst' ? claimBytes : cborBytes(cose.signature);
    const token = verifyTimeStampToken(bytesOf((tokens[0] as Record<string, unknown>).val)!, sigStructure('CounterSignature', cose.protectedBytes, data)) ?? bail('time stamp does not verify');
    // A sound token over other data (the claim changed after it was stamped): c2pa-rs goes on
    // without a signing time and checks the certificates against now.
    if (token.imprintMatches) ts = token;
    else credParts.push('time stamp over other data');
  }
  const at = ts?.ms ?? Date.now();
  const certs = [...chain, ...(ts?.certificates ?? [])];
  // Stapled OCSP responses are part of what c2pa-rs judges the credential on.
  const rVals = u.rVals === undefined ? '' : digest('sha256', Buffer.from(JSON.stringify(u.rVals, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)))).toString('hex');
  credParts.push(alg.name, p['33'] ? 'p' : 'u', tstHeader ?? '-', rVals, certificateIds(certs), certs.map((c) => validityAt(c, at)));
  return ts;
}

/** `urn:uuid:` (1.x) or `urn:c2pa:` (2.x) and a lowercase UUID, with an optional vendor prefix (`adobe:`, `contentauth:`). */
const MANIFEST_LABEL = /^([a-z][a-z0-9]*:)?urn:(uuid|c2pa):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const cawgEncoder = new Encoder({ useRecords: false, tagUint8Array: false, useTag259ForMaps: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);
const CAWG_FIELDS = new Set(['signer_payload', 'signature', 'pad1', 'pad2']);

/**
 * A CAWG identity assertion with an X.509 credential (`cawg.x509.cose`, CAWG 1.1 §8.2): its
 * referenced assertions must be the claim's own (hard binding included) and its COSE_Sign1 must
 * verify over the CBOR signer payload. The credential's verdict joins the key's credentials, so
 * c2pa-rs judges it like the claim signer's. Roles, expectations, time stamps and other credential
 * types are left to c2pa-rs.
 */
function checkCawgIdentity(d: Record<string, unknown>, claimRefs: HashedUri[], credParts: unknown[], signedAt: number | undefined): void {
  if (Object.keys(d).some((k) => !CAWG_FIELDS.has(k))) bail('CAWG identity field');
  for (const pad of [d.pad1, d.pad2]) if (pad !== undefined && !bytesOf(pad)?.every((b) => b === 0)) bail('CAWG padding is not zeros');
  const payload = isRecord(d.signer_payload) ? d.signer_payload : bail('CAWG identity without a signer payload');
  if (Object.keys(payload).some((k) => k !== 'referenced_assertions' && k !== 'sig_type') || payload.sig_type !== 'cawg.x509.cose') bail('CAWG signer payload other than plain X.509');
  const references = (Array.isArray(payload.referenced_assertions) ? payload.referenced_assertions : bail('CAWG without referenced assertions')).map(hashedUri);
  if (!references.every((r) => claimRefs.some((c) => c.url === r.url && same(c.hash, r.hash)))) bail('CAWG reference not in the claim');
  if (!references.some((r) => /c2pa\.hash\./.test(r.url))) bail('CAWG without the hard binding');
  const cose = parseCoseSign1(bytesOf(d.signature) ?? bail('CAWG identity without a signature'), new Set());
  if (!coseVerifies(cose, cawgEncoder.encode(payload))) bail('CAWG signature does not verify');
  const now = Date.now();
  credParts.push('cawg', cose.alg.name, certificateIds(cose.chain), cose.chain.map((c) => [validityAt(c, now), signedAt === undefined ? null : validityAt(c, signedAt)]));
}

const ACTIONS = /^c2pa\.actions(\.v\d+)?$/;
const INGREDIENT = /^c2pa\.ingredient(\.v\d+)?(__\d+)?$/;
const HARD_BINDING = /^c2pa\.hash\./;
/** Assertions decoded for the report (the rest are only hashed). */
const REPORTED = /^(c2pa\.actions(\.v\d+)?|cawg\.training-mining|c2pa\.training-mining)$/;

function checkManifest(buf: Uint8Array, store: JumbfSuperbox, m: JumbfSuperbox, manifests: JumbfSuperbox[]): ManifestCheck {
  const label = m.label ?? bail('manifest without a label');
  // The label is outside every hash and signature, and c2pa-rs parses it: only the two standard URN forms.
  if (!MANIFEST_LABEL.test(label)) bail(`manifest label ${JSON.stringify(label)}`);
  expectBox(m, ['c2ma']);
  for (const c of m.children) expectBox(c, [ROLE_OF_LABEL[c.label ?? ''] ?? bail(`unexpected box ${c.label} in the manifest`)]);
  for (const a of childLabelled(m, 'c2pa.assertions')?.children ?? []) expectBox(a, ['cbor', 'json', EMBEDDED_FILE_UUID], true);
  const kinds = m.children.map((c) => c.label);
  const assertionStore = childLabelled(m, 'c2pa.assertions') ?? bail('no assertion store');
  const claimBox = childLabelled(m, 'c2pa.claim.v2') ?? childLabelled(m, 'c2pa.claim') ?? bail('no claim');
  const sigBox = childLabelled(m, 'c2pa.signature') ?? bail('no signature');
  // Data boxes and a credential store are only reached through hashed URIs inside assertions.
  if (m.contents.length || kinds.some((k) => k !== 'c2pa.assertions' && k !== claimBox.label && k !== 'c2pa.signature' && k !== 'c2pa.databoxes' && k !== 'c2pa.credentials')) bail('unexpected boxes in the manifest');
  const claimBytes = contentOf(buf, claimBox, 'cbor');
  const claim = decode(claimBytes);
  if (!isRecord(claim)) bail('claim is not a map');
  const c = claim as Record<string, unknown>;
  const v2 = claimBox.label === 'c2pa.claim.v2';
  if (Array.isArray(c.redacted_assertions) && c.redacted_assertions.length) bail('redacted assertions');
  const claimAlg = typeof c.alg === 'string' ? c.alg : 'sha256';
  // The claim names its signature box, in 2.x by an absolute URI that holds the manifest label.
  if (typeof c.signature !== 'string' || resolve(store, m, c.signature) !== sigBox) bail('claim does not point at its signature');
  const refs = (v2 ? [...((c.created_assertions as unknown[]) ?? []), ...((c.gathered_assertions as unknown[]) ?? [])] : ((c.assertions as unknown[]) ?? [])).map(hashedUri);
  const shapeParts: unknown[] = [v2 ? 'v2' : 'v1', label.replace(/[0-9a-f-]{36}$/, '')];
  const credParts: unknown[] = [];
  const failures: string[] = [];
  const raw: FastRawManifest = { assertions: [] };
  if (typeof c.claim_generator === 'string') raw.claim_generator = c.claim_generator;
  const info = c.claim_generator_info;
  const infos = (Array.isArray(info) ? info : info !== undefined ? [info] : []).filter(isRecord);
  if (infos.length) raw.claim_generator_info = infos.map((i) => ({ ...(typeof i.name === 'string' ? { name: i.name } : {}), ...(typeof i.version === 'string' ? { version: i.version } : {}) }));

  const referenced = new Set<JumbfSuperbox>();
  const identities: Record<string, unknown>[] = [];
  const hardBindings: ManifestCheck['hardBindings'] = [];
  for (const ref of refs) {
    const box = resolve(store, m, ref.url) ?? bail(`missing assertion ${ref.url}`);
    if (!assertionStore.children.includes(box)) bail(`hashed URI ${ref.url} outside the assertion store`);
    const alg = ref.alg ?? claimAlg;
    if (!HASHES.has(alg)) bail(`hash algorithm ${alg}`);
    const al = box.label ?? '';
    referenced.add(box);
    if (!same(boxHash(buf, box, alg), ref.hash)) {
      // A changed assertion is reported; c2pa-rs still follows a changed ingredient to its manifest.
      if (HARD_BINDING.test(al) || REPORTED.test(al)) bail(`hash mismatch for ${ref.url}`);
      failures.push('assertion.hashedURI.mismatch');
      shapeParts.push([al, 'changed']);
      if (!INGREDIENT.test(al)) continue;
    }
    if (al.startsWith('cawg.identity')) {
      if (uuidType(box) !== 'cbor') bail('CAWG identity assertion is not CBOR');
      const data = decode(contentOf(buf, box, 'cbor'));
      identities.push(isRecord(data) ? data : bail('CAWG identity assertion is not a map'));
    }
    const shape: unknown[] = [al];
    const type = uuidType(box);
    if (HARD_BINDING.test(al) || INGREDIENT.test(al) || REPORTED.test(al)) {
      if (type !== 'cbor') bail(`${al} is not CBOR`);
      const data = decode(contentOf(buf, box, 'cbor'));
      if (!isRecord(data)) bail(`${al} is not a map`);
      const d = data as Record<string, unknown>;
      if (HARD_BINDING.test(al)) hardBindings.push({ label: al, data: d, alg: typeof d.alg === 'string' ? d.alg : claimAlg });
      else if (INGREDIENT.test(al)) {
        const target = d.c2pa_manifest ?? d.active_manifest;
        if (d.claim_signature !== undefined || (d.active_manifest !== undefined && d.c2pa_manifest !== undefined)) bail('v3 ingredient');
        if (target !== undefined) {
          const t = hashedUri(target);
          const ing = resolve(store, m, t.url);
          const talg = t.alg ?? claimAlg;
          if (!HASHES.has(talg)) bail(`hash algorithm ${talg}`);
          if (!ing || !manifests.includes(ing) || ing === m) {
            failures.push('ingredient.manifest.missing');
            shape.push(d.relationship, 'missing');
          } else {
            if (!same(boxHash(buf, ing, talg), t.hash)) bail('ingredient manifest hash mismatch');
            shape.push(d.relationship, manifests.indexOf(ing));
          }
        } else shape.push(d.relationship, -1);
      } else {
        raw.assertions.push({ label: al, data: d });
        if (ACTIONS.test(al) && Array.isArray(d.actions)) shape.push(d.actions.map((a: unknown) => (isRecord(a) ? [a.action, a.digitalSourceType, isRecord(a.parameters) && Object.keys(a.parameters).sort().join()] : null)));
      }
    }
    shapeParts.push(shape);
  }
  for (const a of assertionStore.children) if (!referenced.has(a)) bail(`assertion ${a.label} not in the claim`);
  if (assertionStore.contents.length) bail('content boxes in the assertion store');

  const ts = checkSignature(buf, sigBox, claimBytes, credParts, failures);
  for (const identity of identities) checkCawgIdentity(identity, refs, credParts, ts?.ms);
  if (ts) raw.signature_info = { time: ts.time };
  return { label, raw, credParts, shapeParts, failures, hardBindings };
}

/** `c2pa.hash.data` (C2PA 2.x §9.2.2): the asset's bytes outside the exclusion ranges. */
function dataHashMatches(asset: Uint8Array, hb: ManifestCheck['hardBindings'][number]): boolean {
  const d = hb.data;
  if (hb.label !== 'c2pa.hash.data' || d.url !== undefined) bail(`hard binding ${hb.label}`);
  if (!HASHES.has(hb.alg)) bail('data hash algorithm');
  const expected = bytesOf(d.hash) ?? bail('data hash without a hash');
  const exclusions = Array.isArray(d.exclusions) ? d.exclusions : [];
  const h = createHash(hb.alg);
  let at = 0;
  for (const e of exclusions) {
    if (!isRecord(e) || !Number.isSafeInteger(e.start) || !Number.isSafeInteger(e.length)) bail('malformed exclusion');
    const start = (e as { start: number }).start;
    const end = start + (e as { length: number }).length;
    if (start < at || end > asset.length) bail('exclusions out of order or out of range');
    h.update(asset.subarray(at, start));
    at = end;
  }
  h.update(asset.subarray(at));
  return same(h.digest(), expected);
}

/** Boxes an exclusion path may pass through, and where their children start (`meta` is a full box). */
const BMFF_CONTAINERS: Record<string, number> = { moov: 0, trak: 0, mdia: 0, minf: 0, stbl: 0, mfra: 0, moof: 0, traf: 0, meta: 4 };

interface BmffExclusion {
  path: string[];
  length?: number;
  data: { offset: number; value: Uint8Array }[];
  subset?: { offset: number; length: number }[];
  version?: number;
  flags?: number;
  exact: boolean;
}

function bmffExclusion(e: unknown): BmffExclusion {
  if (!isRecord(e) || typeof e.xpath !== 'string' || !/^(\/[\x20-\x7e]{4})+$/.test(e.xpath)) bail('malformed bmff exclusion');
  const x = e as Record<string, unknown>;
  const path = (x.xpath as string).slice(1).split('/');
  if (path.slice(0, -1).some((t) => BMFF_CONTAINERS[t] === undefined)) bail(`bmff exclusion through ${x.xpath}`);
  const out: BmffExclusion = { path, data: [], exact: x.exact !== false };
  if (x.length != null) out.length = Number.isSafeInteger(x.length) ? (x.length as number) : bail('malformed bmff exclusion length');
  if (x.data != null) {
    if (!Array.isArray(x.data)) bail('malformed bmff data match');
    out.data = (x.data as unknown[]).map((m) => (isRecord(m) && Number.isSafeInteger(m.offset) && bytesOf(m.value) ? { offset: m.offset as number, value: bytesOf(m.value)! } : bail('malformed bmff data match')));
  }
  if (x.subset != null) {
    if (!Array.isArray(x.subset)) bail('malformed bmff subset');
    out.subset = (x.subset as unknown[]).map((m) => (isRecord(m) && Number.isSafeInteger(m.offset) && Number.isSafeInteger(m.length) ? { offset: m.offset as number, length: m.length as number } : bail('malformed bmff subset')));
  }
  if (x.version != null) out.version = Number.isSafeInteger(x.version) ? (x.version as number) : bail('malformed bmff version');
  if (x.flags != null) {
    const f = bytesOf(x.flags) ?? bail('malformed bmff flags');
    out.flags = f.length >= 3 ? (f[0]! << 16) | (f[1]! << 8) | f[2]! : 0;
  }
  return out;
}

/** Boxes at `path` (a top-level box list, then the children of each named container). */
function boxesAt(asset: Uint8Array, top: Box[], path: string[]): Box[] {
  let level = top.filter((b) => b.type === path[0]);
  for (const type of path.slice(1)) {
    level = level.flatMap((p) => childBoxes(asset, p.offset + p.headerSize + BMFF_CONTAINERS[p.type]!, p.offset + p.size)).filter((b) => b.type === type);
  }
  return level;
}

/**
 * `c2pa.hash.bmff.v2`/`.v3` without a merkle tree (C2PA 2.x §9.3, as c2pa-rs computes it): the
 * file's bytes outside the exclusions, each top-level box not wholly excluded preceded by its file
 * offset as a big-endian u64. Exclusions name box paths, filtered by length, data, version and
 * flags, and may cover only subsets of a box.
 */
function bmffHashMatches(asset: Uint8Array, hb: ManifestCheck['hardBindings'][number]): boolean {
  const d = hb.data;
  if (!/^c2pa\.hash\.bmff\.v[23]$/.test(hb.label) || d.url != null || d.merkle != null) bail(`hard binding ${hb.label}`);
  if (!HASHES.has(hb.alg)) bail('bmff hash algorithm');
  const expected = bytesOf(d.hash) ?? bail('bmff hash without a hash');
  const top = childBoxes(asset, 0, asset.length);
  const ranges: [number, number][] = [];
  const wholeTop = new Set<number>();
  for (const e of (Array.isArray(d.exclusions) ? d.exclusions : []).map(bmffExclusion)) {
    for (const b of boxesAt(asset, top, e.path)) {
      if (e.length !== undefined && e.length !== b.size) continue;
      if (e.version !== undefined || e.flags !== undefined) {
        const at = b.offset + b.headerSize;
        const version = asset[at]!;
        const flags = (asset[at + 1]! << 16) | (asset[at + 2]! << 8) | asset[at + 3]!;
        if (e.version !== undefined && e.version !== version) continue;
        if (e.flags !== undefined && (e.exact ? e.flags !== flags : (e.flags | flags) !== e.flags)) continue;
      }
      if (!e.data.every((m) => same(asset.subarray(b.offset + m.offset, b.offset + m.offset + m.value.length), m.value))) continue;
      if (e.subset) {
        for (const sub of e.subset) {
          if (sub.offset > b.size) continue;
          const length = sub.length === 0 ? b.size - sub.offset : Math.min(sub.length, b.size - sub.offset);
          ranges.push([b.offset + sub.offset, b.offset + sub.offset + length]);
        }
      } else {
        ranges.push([b.offset, b.offset + b.size]);
        if (e.path.length === 1) wholeTop.add(b.offset);
      }
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] < ranges[i - 1]![1]) bail('overlapping bmff exclusions');
  const h = createHash(hb.alg);
  const offset = Buffer.alloc(8);
  let r = 0;
  for (const b of top) {
    if (wholeTop.has(b.offset)) continue;
    offset.writeBigUInt64BE(BigInt(b.offset));
    h.update(offset);
    let at = b.offset;
    const end = b.offset + b.size;
    while (r < ranges.length && ranges[r]![1] <= at) r++;
    for (; r < ranges.length && ranges[r]![0] < end; r++) {
      h.update(asset.subarray(at, Math.max(at, ranges[r]![0])));
      at = Math.max(at, Math.min(end, ranges[r]![1]));
      if (ranges[r]![1] > end) break;
    }
    h.update(asset.subarray(at, end));
  }
  return same(h.digest(), expected);
}

/**
 * `c2pa.hash.boxes` over a JPEG (C2PA 2.x §9.4, with c2pa-rs's segment names): each entry names
 * consecutive segments and hashes the bytes they span; the `C2PA` entry stands alone and is not
 * hashed. The entries must name every segment, in order (c2pa-rs lets trailing ones go unnamed;
 * such files are left to it).
 */
function boxesHashMatches(asset: Uint8Array, format: Format, hb: ManifestCheck['hardBindings'][number]): boolean {
  const boxes = format === 'jpeg' ? jpegHashBoxes(asset) : undefined;
  if (!boxes) bail('boxes hash outside a plain JPEG');
  const entries = Array.isArray(hb.data.boxes) ? hb.data.boxes : bail('malformed boxes hash');
  let next = 0;
  for (const e of entries) {
    if (!isRecord(e) || !Array.isArray(e.names) || !e.names.length || e.excluded != null || e.exclusions != null) bail('boxes hash entry with exclusions');
    const names = e.names as unknown[];
    const first = boxes![next];
    for (const name of names) if (boxes![next++]?.name !== name) return false;
    if (names[0] === 'C2PA') {
      if (names.length !== 1) return false;
      continue;
    }
    const alg = typeof e.alg === 'string' ? e.alg : hb.alg;
    if (!HASHES.has(alg)) bail('boxes hash algorithm');
    const hash = bytesOf(e.hash) ?? bail('boxes hash entry without a hash');
    if (!same(digest(alg, asset.subarray(first!.start, boxes![next - 1]!.end)), hash)) return false;
  }
  return next === boxes!.length;
}

const BMFF_FORMATS = new Set<Format>(['heif', 'avif', 'mp4', 'mov', 'm4a']);

/**
 * Checks the store of `asset` natively. Returns a candidate whose key names the credentials and
 * shape, or undefined when the store is not one the fast path confirms (c2pa-rs decides then).
 */
export async function fastC2paCandidate(asset: Uint8Array, format: Format, trustAnchors?: string): Promise<FastCandidate | undefined> {
  return (await fastC2paCheck(asset, format, trustAnchors)).candidate;
}

/** fastC2paCandidate with the reason it declined (tests, benchmarks). */
export async function fastC2paCheck(asset: Uint8Array, format: Format, trustAnchors?: string): Promise<{ candidate?: FastCandidate; reason?: string }> {
  const locate = STORE_OF[format];
  if (!locate) return { reason: `no fast path for ${format}` };
  try {
    const buf = (await locate(asset)) ?? bail('no single store found');
    const store = parseJumbf(buf);
    expectBox(store, ['c2pa']);
    if (store.label !== 'c2pa' || store.contents.length) bail('not a C2PA store');
    const manifests = store.children;
    if (!manifests.length || manifests.some((m) => uuidType(m) !== 'c2ma')) bail('no manifests, or an update manifest');
    if (new Set(manifests.map((m) => m.label)).size !== manifests.length) bail('two manifests with one label');
    const checks = manifests.map((m) => checkManifest(buf, store, m, manifests));
    const active = checks.at(-1)!;
    if (active.hardBindings.length !== 1) bail(`${active.hardBindings.length} hard bindings`);
    // c2pa-rs reports an ingredient manifest's own failures apart from the active manifest's.
    if (checks.slice(0, -1).some((c) => c.failures.length)) bail('a changed ingredient manifest');
    const failures = [...active.failures];
    // A BMFF hash that does not match goes to c2pa-rs: only matches are trusted from this reimplementation.
    const binding = active.hardBindings[0]!;
    if (binding.label === 'c2pa.hash.boxes') {
      if (!boxesHashMatches(asset, format, binding)) bail('boxes hash mismatch');
    } else if (BMFF_FORMATS.has(format)) {
      if (!bmffHashMatches(asset, binding)) bail('bmff hash mismatch');
    } else if (!dataHashMatches(asset, active.hardBindings[0]!)) failures.push('assertion.dataHash.mismatch');
    const keyOf = (parts: unknown) => digest('sha256', Buffer.from(JSON.stringify([format, trustAnchors ?? '', parts]))).toString('hex');
    const credKey = keyOf(checks.map((c) => c.credParts));
    const key = keyOf(checks.map((c) => [c.credParts, c.shapeParts]));
    const candidate: FastCandidate = { key, credKey, failures: [...new Set(failures)], store: { active_manifest: active.label, manifests: Object.fromEntries(checks.map((c) => [c.label, c.raw])) } };
    return { candidate, ...(failures.length ? { reason: `tampered: ${candidate.failures.join(', ')}` } : {}) };
  } catch (e) {
    // NotFast, JumbfError, DerError, or a CBOR/shape error on a damaged store: c2pa-rs reports it.
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}

const MAX_LEARNED = 4096;
const learned = new Map<string, Learned | 'c2pa-rs'>();
const credentials = new Map<string, Learned | 'c2pa-rs'>();
/** Counters for benchmarks and tests: how each store was decided. */
export const fastC2paStats = { fast: 0, learned: 0, pinned: 0, slow: 0 };

const remember = (map: Map<string, Learned | 'c2pa-rs'>, key: string, v: Learned | 'c2pa-rs'): void => {
  if (map.size >= MAX_LEARNED) map.delete(map.keys().next().value!);
  map.set(key, v);
};

/** c2pa-rs's order: ingredient codes, the signer's credential, the claim signature, assertions, data hash, then CAWG identities. */
const FAILURE_ORDER = ['ingredient.', '', 'claimSignature.', 'assertion.hashedURI.', 'assertion.dataHash.', 'cawg.'];
function orderedCodes(credential: string[], failures: string[]): string[] {
  const rank = (code: string) => (code.startsWith('cawg.') ? 5 : LEARNABLE_CODE.test(code) ? 1 : FAILURE_ORDER.findIndex((p, i) => i !== 1 && code.startsWith(p)));
  return [...credential, ...failures].map((code, i) => ({ code, i, r: rank(code) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.code);
}

/** The finished raw store for a candidate, when c2pa-rs has already answered for its key (intact) or its credentials (tampered). */
export function fastC2paStore(c: FastCandidate): FastRawStore | undefined {
  const l = c.failures.length ? credentials.get(c.credKey) : learned.get(c.key);
  if (!l || l === 'c2pa-rs') return undefined;
  fastC2paStats.fast++;
  return withVerdict(c, l);
}

function withVerdict(c: FastCandidate, l: Learned): FastRawStore {
  const manifests = { ...c.store.manifests };
  const active = manifests[c.store.active_manifest]!;
  const sig = { ...l.signer, ...(active.signature_info?.time ? { time: active.signature_info.time } : {}) };
  manifests[c.store.active_manifest] = { ...active, ...(Object.keys(sig).length ? { signature_info: sig } : {}) };
  const codes = c.failures.length ? orderedCodes(l.codes, c.failures) : l.codes;
  return { ...c.store, manifests, validation_status: codes.map((code) => ({ code })), validation_state: c.failures.length ? 'Invalid' : l.state };
}

type C2paAnswer = { validation_state?: string; validation_status?: { code: string }[]; active_manifest?: string; manifests?: Record<string, { signature_info?: { issuer?: string; common_name?: string } }> };

/**
 * Records c2pa-rs's answer for a candidate. An intact store's whole verdict is reused for its key
 * when every code is a credential code and the report built from the fast path's own parse equals
 * c2pa-rs's. The credential codes alone are reused for tampered stores with the same credentials
 * when c2pa-rs found exactly the failures the fast path found and the reports agree. Any
 * disagreement leaves that key with c2pa-rs for the rest of the process.
 */
export function learnC2paVerdict<R>(c: FastCandidate, c2pa: C2paAnswer, report: (store: FastRawStore | C2paAnswer) => R): void {
  const codes = [...new Set((c2pa.validation_status ?? []).map((s) => s.code))];
  const sig = c2pa.active_manifest ? c2pa.manifests?.[c2pa.active_manifest]?.signature_info : undefined;
  const signer = sig && (sig.issuer || sig.common_name) ? { signer: { ...(sig.issuer ? { issuer: sig.issuer } : {}), ...(sig.common_name ? { common_name: sig.common_name } : {}) } } : {};
  const credential: Learned = { state: c2pa.validation_state ?? '', codes: codes.filter((code) => LEARNABLE_CODE.test(code)), ...signer };
  const integrity = codes.filter((code) => !LEARNABLE_CODE.test(code));
  const agrees = integrity.length === c.failures.length && integrity.every((code) => c.failures.includes(code));
  // For a tampered store the reports must match up to the order of the codes.
  const sorted = (r: R) => ({ ...(r as object), statusCodes: [...((r as { statusCodes?: string[] }).statusCodes ?? [])].sort() });
  const ok = agrees && isDeepStrictEqual(sorted(report(withVerdict(c, credential))), sorted(report(c2pa)));
  if (!c.failures.length && !learned.has(c.key)) {
    remember(learned, c.key, ok ? credential : 'c2pa-rs');
    if (ok) fastC2paStats.learned++;
    else fastC2paStats.pinned++;
  }
  if (!credentials.has(c.credKey) && (ok || c.failures.length)) remember(credentials, c.credKey, ok ? credential : 'c2pa-rs');
}

/** Forgets every learned verdict (tests). */
export function resetFastC2pa(): void {
  learned.clear();
  credentials.clear();
  Object.assign(fastC2paStats, { fast: 0, learned: 0, pinned: 0, slow: 0 });
}
