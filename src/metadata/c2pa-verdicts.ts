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
  /** Credentials only: c2pa-rs's credential codes, reused beside the failures the fast path found. */
  credKey: string;
  /** C2PA failure codes found natively; empty for an intact store. */
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
