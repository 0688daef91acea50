import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { buildPngChunk } from '../../src/formats/png.js';
import { jpegHeaderSegments } from '../../src/formats/jpeg.js';
import { sigStructure } from '../../src/metadata/cose.js';

/**
 * Builders of C2PA mutants for the differential tests and the fuzz target: a JUMBF tree that can
 * be edited and written back (with chosen box framings), COSE_Sign1 headers edited with their key
 * types kept, re-signing with a test key, and the store put back into a PNG or JPEG at its exact
 * length (the unprotected `pad` absorbs the difference), so the asset's data hash still matches
 * and only the edit is judged.
 */

export interface Box {
  type: string;
  /** Payload of a leaf box (jumd, cbor, json...). */
  payload?: Uint8Array;
  children?: Box[];
  /** How the size is written: a plain LBox (default), an XLBox, or LBox 0 ("to the end"). */
  framing?: 'xl' | 'zero';
}

const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export function parseBoxes(buf: Uint8Array, start = 0, end = buf.length): Box[] {
  const out: Box[] = [];
  for (let at = start; at < end; ) {
    if (end - at < 8) throw new Error(`truncated box at ${at}`);
    const lbox = u32(buf, at);
    const header = lbox === 1 ? 16 : 8;
    const size = lbox === 0 ? end - at : lbox === 1 ? Number(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readBigUInt64BE(at + 8)) : lbox;
    if (size < header || at + size > end) throw new Error(`box at ${at} has size ${size}`);
    const type = Buffer.from(buf.subarray(at + 4, at + 8)).toString('latin1');
    const box: Box = { type, ...(lbox === 0 ? { framing: 'zero' as const } : lbox === 1 ? { framing: 'xl' as const } : {}) };
    if (type === 'jumb') box.children = parseBoxes(buf, at + header, at + size);
    else box.payload = buf.subarray(at + header, at + size);
    out.push(box);
    at += size;
  }
  return out;
}

export function writeBox(b: Box): Buffer {
  const body = b.children ? Buffer.concat(b.children.map(writeBox)) : Buffer.from(b.payload!);
  const type = Buffer.from(b.type, 'latin1');
  if (b.framing === 'xl') {
    const h = Buffer.alloc(16);
    h.writeUInt32BE(1, 0);
    type.copy(h, 4);
    h.writeBigUInt64BE(BigInt(body.length + 16), 8);
    return Buffer.concat([h, body]);
  }
  const h = Buffer.alloc(8);
  h.writeUInt32BE(b.framing === 'zero' ? 0 : body.length + 8, 0);
  type.copy(h, 4);
  return Buffer.concat([h, body]);
}

/** The label in a superbox's description box. */
export function labelOf(b: Box): string | undefined {
  const d = b.children?.[0];
  if (!d || d.type !== 'jumd' || !(d.payload![16]! & 0x02)) return undefined;
  const p = d.payload!;
  const nul = p.indexOf(0, 17);
  return Buffer.from(p.subarray(17, nul)).toString('utf8');
}
export const child = (b: Box, label: string): Box => b.children!.find((c) => labelOf(c) === label) ?? (() => { throw new Error(`no ${label}`); })();

const keepKeys = new Decoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, useTag259ForMaps: false, mapsAsObjects: false } as ConstructorParameters<typeof Encoder>[0]);
export const encode = (v: unknown): Buffer => Buffer.from(encoder.encode(v));
export const decodeKeepingKeys = (b: Uint8Array): unknown => keepKeys.decode(b);

export interface Cose {
  tagged: boolean;
  protectedBytes: Uint8Array;
  unprotected: Map<number | string, unknown>;
  signature: Uint8Array;
}

export function readCose(bytes: Uint8Array): Cose {
  const v = keepKeys.decode(bytes) as unknown;
  const tagged = v instanceof Tag;
  const [protectedBytes, unprotected, , signature] = (tagged ? (v as Tag).value : v) as [Uint8Array, Map<number | string, unknown>, null, Uint8Array];
  return { tagged, protectedBytes, unprotected, signature };
}

export function writeCose(c: Cose): Buffer {
  const arr = [c.protectedBytes, c.unprotected, null, c.signature];
  return encode(c.tagged ? new Tag(arr, 18) : arr);
}

/** The manifest's signature box content (the COSE_Sign1 bytes) and a setter. */
export const sigCbor = (manifest: Box): Box => child(manifest, 'c2pa.signature').children![1]!;
export const claimCbor = (manifest: Box): Box => (manifest.children!.find((c) => /^c2pa\.claim/.test(labelOf(c) ?? '')) ?? child(manifest, 'c2pa.claim')).children![1]!;

/** ES256/PS256 signature over Sig_structure("Signature1", protected, claim) with a test key. */
export function signClaim(key: KeyObject | string, protectedBytes: Uint8Array, claim: Uint8Array): Buffer {
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  const tbs = sigStructure('Signature1', protectedBytes, claim);
  if (k.asymmetricKeyType === 'ec') return cryptoSign('sha256', tbs, { key: k, dsaEncoding: 'ieee-p1363' });
  return cryptoSign('sha256', tbs, { key: k, padding: 6, saltLength: 32 });
}

/**
 * Sets the active signature's `pad` so the store serializes to `length` bytes; c2pa-rs laid the
 * store out at that size and the asset's data hash excludes exactly that range.
 */
export function fitStore(store: Box, length: number, manifest = store.children!.at(-1)!): Buffer {
  const cbor = sigCbor(manifest);
  const cose = readCose(cbor.payload!);
  const padKey = cose.unprotected.has('pad') ? 'pad' : 'pad2';
  const try_ = (n: number, pad2: boolean) => {
    const u = new Map(cose.unprotected);
    u.set(padKey, new Uint8Array(n));
    if (pad2 && !u.has('pad2')) u.set('pad2', new Uint8Array(0));
    cbor.payload = writeCose({ ...cose, unprotected: u });
    return writeBox(store);
  };
  const base = (cose.unprotected.get(padKey) as Uint8Array | undefined)?.length ?? 0;
  const first = try_(base, false);
  const guess = base + length - first.length;
  for (const pad2 of [false, true]) for (let n = Math.max(0, guess - 12); n <= guess + 12; n++) {
    const out = try_(n, pad2);
    if (out.length === length) return out;
  }
  throw new Error(`cannot fit the store into ${length} bytes (it needs ${first.length - base}+)`);
}

/** Where a PNG's `caBX` chunk data is. */
function pngStoreRange(png: Uint8Array): [number, number] {
  for (let at = 8; at < png.length; ) {
    const len = u32(png, at);
    if (Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1') === 'caBX') return [at, at + 12 + len];
    at += 12 + len;
  }
  throw new Error('no caBX chunk');
}
export const pngStore = (png: Uint8Array): Buffer => {
  const [s, e] = pngStoreRange(png);
  return Buffer.from(png.subarray(s + 8, e - 4));
};
export function withPngStore(png: Uint8Array, store: Uint8Array): Buffer {
  const [s, e] = pngStoreRange(png);
  return Buffer.concat([png.subarray(0, s), buildPngChunk('caBX', store), png.subarray(e)]);
}

/** A JPEG's APP11 store segments in order, as [start, end) ranges of the store bytes they hold. */
function jpegStoreRanges(jpeg: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (const { marker, at, end } of jpegHeaderSegments(jpeg)) {
    if (marker !== 0xeb || jpeg[at + 4] !== 0x4a || jpeg[at + 5] !== 0x50) continue;
    const first = !out.length;
    out.push([at + 12 + (first ? 0 : u32(jpeg, at + 12) === 1 ? 16 : 8), end]);
  }
  return out;
}
export const jpegStore = (jpeg: Uint8Array): Buffer => Buffer.concat(jpegStoreRanges(jpeg).map(([s, e]) => jpeg.subarray(s, e)));
/** The JPEG with its store bytes replaced in place (same length). */
export function withJpegStore(jpeg: Uint8Array, store: Uint8Array): Buffer {
  const out = Buffer.from(jpeg);
  let at = 0;
  for (const [s, e] of jpegStoreRanges(jpeg)) {
    out.set(store.subarray(at, at + e - s), s);
    at += e - s;
  }
  if (at !== store.length) throw new Error(`store is ${store.length} bytes, the segments hold ${at}`);
  return out;
}

/** Edits a carrier's store: `edit` changes the tree, then the store is fitted back to its length. */
export function mutate(asset: Uint8Array, format: 'png' | 'jpeg', edit: (store: Box) => void): Buffer {
  const bytes = format === 'png' ? pngStore(asset) : jpegStore(asset);
  const store = parseBoxes(bytes)[0]!;
  edit(store);
  const fitted = fitStore(store, bytes.length);
  return format === 'png' ? withPngStore(asset, fitted) : withJpegStore(asset, fitted);
}

/** A CBOR map's bytes with one more entry appended (a duplicate key when `key` is already there). */
export function appendMapEntry(map: Uint8Array, key: unknown, value: unknown): Buffer {
  const entry = Buffer.concat([encode(key), encode(value)]);
  const ib = map[0]!;
  if (ib === 0xbf) return Buffer.concat([map.subarray(0, map.length - 1), entry, Uint8Array.of(0xff)]);
  const n = ib & 0x1f;
  if ((ib >> 5) !== 5 || n >= 23) throw new Error('appendMapEntry: a small definite map only');
  return Buffer.concat([Uint8Array.of(ib + 1), map.subarray(1), entry]);
}

/** A report without `validatedBy`, the one field that says which reader answered (the rest must not depend on it). */
export function bare<R extends { validatedBy?: unknown } | undefined>(r: R): Omit<NonNullable<R>, 'validatedBy'> | undefined {
  if (!r) return undefined;
  const { validatedBy: _by, ...rest } = r;
  return rest;
}

/**
 * Edits a CBOR assertion of the active manifest the way its signer could: the assertion's data
 * (decoded with its keys as written), then its hash in the claim, then the claim signature with
 * `keyPem`. Returns false when the manifest has no assertion matching `label`.
 */
export function editAssertion(store: Box, label: RegExp, keyPem: string, edit: (data: Map<string, unknown>) => void): boolean {
  const m = store.children!.at(-1)!;
  const box = child(m, 'c2pa.assertions').children!.slice(1).find((a) => label.test(labelOf(a) ?? ''));
  const content = box?.children!.find((c) => c.type === 'cbor');
  if (!box || !content) return false;
  const data = decodeKeepingKeys(content.payload!) as Map<string, unknown>;
  edit(data);
  content.payload = encode(data);
  const hash = createHash('sha256').update(writeBox(box).subarray(8)).digest();
  const c = claimCbor(m);
  const claim = decodeKeepingKeys(c.payload!) as Map<string, unknown>;
  for (const list of ['created_assertions', 'assertions', 'gathered_assertions']) {
    for (const ref of (claim.get(list) as Map<string, unknown>[] | undefined) ?? []) if (String(ref.get('url')).endsWith(`/${labelOf(box)}`)) ref.set('hash', hash);
  }
  c.payload = encode(claim);
  const cbor = sigCbor(m);
  const cose = readCose(cbor.payload!);
  cose.signature = signClaim(keyPem, cose.protectedBytes, c.payload);
  cbor.payload = writeCose(cose);
  return true;
}
