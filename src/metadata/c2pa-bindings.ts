import { createHash } from 'node:crypto';
import type { Format } from '../core/types.js';
import { jpegHashBoxes } from '../formats/jpeg.js';
import { childBoxes, type Box } from '../formats/isobmff.js';
import { bail, bytesOf, digest, HASHES, isRecord, same } from './c2pa-native.js';

/**
 * The hard bindings the C2PA fast path checks natively: `c2pa.hash.data`, `c2pa.hash.bmff.v2/v3`
 * without a merkle tree, and `c2pa.hash.boxes` over a plain JPEG. Only matches are trusted from
 * these reimplementations; the caller hands a BMFF or boxes mismatch to c2pa-rs.
 */

/** A hard-binding assertion as the claim reader found it. */
export interface HardBinding {
  label: string;
  data: Record<string, unknown>;
  alg: string;
}
/** `c2pa.hash.data` (C2PA 2.x §9.2.2): the asset's bytes outside the exclusion ranges. */
export function dataHashMatches(asset: Uint8Array, hb: HardBinding): boolean {
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
export function bmffHashMatches(asset: Uint8Array, hb: HardBinding): boolean {
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
export function boxesHashMatches(asset: Uint8Array, format: Format, hb: HardBinding): boolean {
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

export const BMFF_FORMATS = new Set<Format>(['heif', 'avif', 'mp4', 'mov', 'm4a']);