import type { Format } from '../core/types.js';
import { jpegC2paStore } from '../formats/jpeg.js';
import { parseJumbf, uuidType } from '../formats/jumbf.js';
import { gifContainer } from '../formats/gif.js';
import { bmffC2paStore } from '../formats/isobmff.js';
import { pngC2paStore } from '../formats/png.js';
import { webpC2paStore } from '../formats/riff.js';
import { tiffContainer } from '../formats/tiff.js';
import { BufferReader } from '../core/source.js';
import { BMFF_FORMATS, bmffHashMatches, boxesHashMatches, dataHashMatches } from './c2pa-bindings.js';
import { checkManifest, expectCanonicalFraming, type ManifestCheck } from './c2pa-claims.js';
import { bail, digest } from './c2pa-native.js';
import type { FastCandidate } from './c2pa-verdicts.js';

export type { FastRawManifest } from './c2pa-claims.js';
export { answerKey, cachedAnswer, fastC2paStats, fastC2paStore, learnC2paVerdict, rememberAnswer, resetFastC2pa, type FastCandidate, type FastRawStore } from './c2pa-verdicts.js';

/**
 * The C2PA fast path: validates a manifest store natively when it is an intact, canonical one, so
 * an archive scan does not pay c2pa-rs/wasm's 10-30 ms per signed file.
 *
 * What it checks per file, with node:crypto: every hashed URI of every claim (assertions and
 * ingredient manifests), the active manifest's hard binding over the asset (c2pa-bindings.ts),
 * every claim's COSE_Sign1 signature, and each RFC 3161 time stamp (imprint, digest and TSA
 * signature). The store must be in the canonical form c2pa-rs writes (c2pa-claims.ts).
 *
 * What it takes from c2pa-rs instead: the verdict on the credentials and on the store's shape,
 * learned from the first store with the same key (c2pa-verdicts.ts says what the key holds).
 *
 * Anything it does not positively confirm (a hash or signature that does not match, a binding
 * other than those above, redactions, update manifests, unknown headers, unreferenced manifests,
 * other containers) goes to c2pa-rs, so failures are always reported by c2pa-rs itself.
 */

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

const C2PA_STORE_UUID = '6332706100110010800000aa00389b71';

/** Indexes of the manifests the active one reaches through ingredients (itself included). */
function reachable(checks: ManifestCheck[], manifests: ReturnType<typeof parseJumbf>[]): Set<number> {
  const seen = new Set<number>([checks.length - 1]);
  const todo = [checks.length - 1];
  while (todo.length) for (const ing of checks[todo.pop()!]!.ingredientManifests) {
    const i = manifests.indexOf(ing);
    if (!seen.has(i)) {
      seen.add(i);
      todo.push(i);
    }
  }
  return seen;
}

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
    if (store.uuid !== C2PA_STORE_UUID || !store.plainDescription || store.toggles !== 0x03 || store.label !== 'c2pa' || store.contents.length) bail('not a C2PA store');
    expectCanonicalFraming(buf, store);
    const manifests = store.children;
    if (!manifests.length || manifests.some((m) => uuidType(m) !== 'c2ma')) bail('no manifests, or an update manifest');
    if (new Set(manifests.map((m) => m.label)).size !== manifests.length) bail('two manifests with one label');
    const checks = manifests.map((m) => checkManifest(buf, store, m, manifests));
    const active = checks.at(-1)!;
    // A manifest the active one does not reach is no evidence; c2pa-rs reports such stores.
    if (reachable(checks, manifests).size !== manifests.length) bail('a manifest the active manifest does not reference');
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
    const key = keyOf(checks.map((c) => [c.credParts, c.shapeParts]));
    const candidate: FastCandidate = { key, failures: [...new Set(failures)], store: { active_manifest: active.label, manifests: Object.fromEntries(checks.map((c) => [c.label, c.raw])) } };
    return { candidate, ...(failures.length ? { reason: `tampered: ${candidate.failures.join(', ')}` } : {}) };
  } catch (e) {
    // NotFast, JumbfError, DerError, or a CBOR/shape error on a damaged store: c2pa-rs reports it.
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}