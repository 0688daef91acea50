import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { FastRawManifest } from './c2pa-claims.js';

/**
 * The verdict cache of the C2PA fast path. The fast path checks a store's integrity natively
 * (hashes, signatures, time stamps) but takes the verdict on its credentials (certificate
 * profile, trust, expiry, OCSP) and on its shape (action and ingredient rules) from c2pa-rs: the
 * first store with a given key is read by c2pa-rs, and its verdict is reused for later stores
 * with the same key. That is sound only if the key holds everything c2pa-rs's verdict depends
 * on, so that no file can change another file's answer:
 * - only canonical stores become candidates (c2pa-claims.ts declines every other form, so two
 *   stores with one key are read alike by tamga and by c2pa-rs);
 * - the key holds the format, the trust settings, and per manifest the algorithm, where the chain
 *   sits, the full certificate chains (SHA-256 of each DER) of the signer, the time-stamp
 *   authority and CAWG identities, which time-stamp header and whether its token stamps this
 *   claim, where the signing time (or now) falls in each certificate's validity, a digest of the
 *   stapled OCSP responses, and the shape;
 * - a verdict is reused only when it consists of credential codes and the report built from the
 *   fast path's own reading equals c2pa-rs's in full; any disagreement pins the key to c2pa-rs.
 */

export interface FastRawStore {
  active_manifest: string;
  manifests: Record<string, FastRawManifest>;
  validation_status: { code: string }[];
  validation_state: string;
}

/** A store the fast path confirmed intact; it needs the learned verdict to become a report. */
export interface FastCandidate {
  /** Credentials and shape: c2pa-rs's whole verdict on an intact store with this key is reused. */
  key: string;
  /** C2PA failure codes found natively; empty for an intact store (a store with failures goes to c2pa-rs). */
  failures: string[];
  store: Omit<FastRawStore, 'validation_status' | 'validation_state'>;
}

/** What c2pa-rs said about one credential key and shape. */
interface Learned {
  state: string;
  codes: string[];
  signer?: { issuer?: string; common_name?: string };
}

/** Codes c2pa-rs derives from the credentials alone; only verdicts made of these are reused. */
const LEARNABLE_CODE = /^(signingCredential\.(untrusted|invalid|expired|revoked|trusted)|signingCredential\.ocsp\.[A-Za-z]+|timeStamp\.(untrusted|outsideValidity)|cawg\.x509\.credential\.(untrusted|trusted|invalid|expired|revoked)|cawg\.identity\.(trusted|untrusted))$/;

const MAX_LEARNED = 4096;
const learned = new Map<string, Learned | 'c2pa-rs'>();
/** Counters for benchmarks and tests: how each store was decided. */
export const fastC2paStats = { fast: 0, learned: 0, pinned: 0, slow: 0 };

/**
 * The finished raw store for an intact candidate whose key c2pa-rs has already answered. A store
 * with native failures (a tampered asset, claim or assertion) always goes to c2pa-rs: on such
 * bytes c2pa-rs may stop at a decoding error instead of listing the failures, so no native answer
 * is guaranteed to be its answer, and tampered files are rare enough not to matter for speed.
 */
export function fastC2paStore(c: FastCandidate): FastRawStore | undefined {
  if (c.failures.length) return undefined;
  const l = learned.get(c.key);
  if (!l || l === 'c2pa-rs') return undefined;
  fastC2paStats.fast++;
  return withVerdict(c, l);
}

function withVerdict(c: FastCandidate, l: Learned): FastRawStore {
  const manifests = { ...c.store.manifests };
  const active = manifests[c.store.active_manifest]!;
  const sig = { ...l.signer, ...(active.signature_info?.time ? { time: active.signature_info.time } : {}) };
  manifests[c.store.active_manifest] = { ...active, ...(Object.keys(sig).length ? { signature_info: sig } : {}) };
  return { ...c.store, manifests, validation_status: l.codes.map((code) => ({ code })), validation_state: l.state };
}

type C2paAnswer = { validation_state?: string; validation_status?: { code: string }[]; active_manifest?: string; manifests?: Record<string, { signature_info?: { issuer?: string; common_name?: string } }> };

/**
 * Records c2pa-rs's answer for an intact candidate: its verdict is reused for the key when every
 * code is a credential code and the report built from the fast path's own reading equals
 * c2pa-rs's in full. Any disagreement leaves that key with c2pa-rs for the rest of the process.
 */
export function learnC2paVerdict<R>(c: FastCandidate, c2pa: C2paAnswer, report: (store: FastRawStore | C2paAnswer) => R): void {
  if (c.failures.length || learned.has(c.key)) return;
  const codes = [...new Set((c2pa.validation_status ?? []).map((s) => s.code))];
  const sig = c2pa.active_manifest ? c2pa.manifests?.[c2pa.active_manifest]?.signature_info : undefined;
  const signer = sig && (sig.issuer || sig.common_name) ? { signer: { ...(sig.issuer ? { issuer: sig.issuer } : {}), ...(sig.common_name ? { common_name: sig.common_name } : {}) } } : {};
  const credential: Learned = { state: c2pa.validation_state ?? '', codes, ...signer };
  const ok = codes.every((code) => LEARNABLE_CODE.test(code)) && isDeepStrictEqual(report(withVerdict(c, credential)), report(c2pa));
  if (learned.size >= MAX_LEARNED) learned.delete(learned.keys().next().value!);
  learned.set(c.key, ok ? credential : 'c2pa-rs');
  if (ok) fastC2paStats.learned++;
  else fastC2paStats.pinned++;
}

/**
 * c2pa-rs's answers by the exact bytes it read, so a file seen twice in a scan (copies, re-runs
 * in `serve`) is read by c2pa-rs once. Its answer depends on those bytes, the trust settings and
 * the clock (certificate validity at the signing time or now), so the key holds the bytes'
 * SHA-256, the format, the trust anchors and, for a store the fast path parsed, its candidate key
 * (which holds every certificate's validity class); for any other store the current minute, so
 * an answer is never older than a minute.
 */
const MAX_ANSWERS = 512;
const answers = new Map<string, unknown>();
export function answerKey(bytes: Uint8Array, format: string, trustAnchors: string | undefined, candidate: FastCandidate | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([format, trustAnchors ?? '', candidate?.key ?? Math.floor(Date.now() / 60_000)]))
    .update(bytes)
    .digest('hex');
}
export function cachedAnswer<T>(key: string): T | undefined {
  const a = answers.get(key) as T | undefined;
  return a === undefined ? undefined : structuredClone(a);
}
export function rememberAnswer(key: string, answer: unknown): void {
  if (answers.size >= MAX_ANSWERS) answers.delete(answers.keys().next().value!);
  answers.set(key, structuredClone(answer));
}

/** Forgets every learned verdict and remembered answer (tests). */
export function resetFastC2pa(): void {
  learned.clear();
  answers.clear();
  Object.assign(fastC2paStats, { fast: 0, learned: 0, pinned: 0, slow: 0 });
}
