import { ascii, concat, encodeUtf8, latin1, putU32be, u16be, u32be } from '../core/bytes.js';
import { planSplices, type EditPlan, type Splice } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import type { Format } from '../core/types.js';
import { AIGC_FIELD, TAMGA_FIELD, mergeCommentField } from './fields.js';
import type { AvContainer, AvMetadata, AvMetadataWrite, Carrier } from './types.js';

/**
 * ISO BMFF (ISO/IEC 14496-12) and QuickTime: MP4, M4A, MOV. tamga writes
 * - the XMP packet in a top-level `uuid` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC right after
 *   `ftyp` (c2pa-rs `bmff_io.rs`; labelling-standards.md §2.7), and for QuickTime also in
 *   `moov/udta/XMP_` (ExifTool's and the XMP spec's MOV location);
 * - iTunes-style `moov/udta/meta/ilst` items: `©cmt` with the disclosure and freeform `----`
 *   items (mean `com.apple.iTunes`) named `AIGC` and `tamga`.
 * When those edits move the media data, every `stco`/`co64` chunk offset is shifted, so the
 * samples are found where they now are; the sample bytes themselves are copied untouched.
 * Detection reads box headers, `moov/udta` and the XMP box only, never `mdat`.
 */

const FORMAT = 'isobmff';
export const XMP_UUID = Uint8Array.of(0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8, 0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac);
export const C2PA_UUID = Uint8Array.of(0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81);
/** The whole `moov` is read to rewrite it: real ones are kilobytes to a few tens of MB (long films). */
const MAX_MOOV_BYTES = 256 << 20;
/** `udta` is read whole for detection. */
const MAX_UDTA_BYTES = 16 << 20;
const MAX_BOXES = 1 << 20;
const ITUNES_MEAN = 'com.apple.iTunes';
/** Boxes whose children tamga walks to reach chunk offset tables. */
const OFFSET_PATH = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

export interface Box {
  type: string;
  offset: number;
  /** Header bytes (8, 16 with a 64-bit size, plus 16 for a `uuid` box's user type). */
  headerSize: number;
  /** Total size, header included. */
  size: number;
  /** `uuid` boxes: the 16-byte user type. */
  uuid?: Uint8Array;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) => Boolean(a) && a!.length === b.length && a!.every((x, i) => x === b[i]);
const u64be = (b: Uint8Array, o: number) => u32be(b, o) * 2 ** 32 + u32be(b, o + 4);

/** Parses one box header from `h` (at least 32 bytes or what is left), for a box at `offset` inside [.., limit). */
function parseBoxHeader(h: Uint8Array, offset: number, limit: number): Box {
  if (h.length < 8) throw corrupt(FORMAT, 'truncated box header', offset);
  const type = latin1(h.subarray(4, 8));
  let size = u32be(h, 0);
  let headerSize = 8;
  if (size === 1) {
    if (h.length < 16) throw corrupt(FORMAT, `truncated 64-bit size of '${type}'`, offset);
    size = u64be(h, 8);
    headerSize = 16;
  } else if (size === 0) size = limit - offset;
  const box: Box = { type, offset, headerSize, size };
  if (type === 'uuid') {
    if (h.length < headerSize + 16) throw corrupt(FORMAT, 'truncated uuid box', offset);
    box.uuid = h.slice(headerSize, headerSize + 16);
    box.headerSize += 16;
  }
  if (size < box.headerSize || offset + size > limit) throw corrupt(FORMAT, `box '${type}' of ${size} bytes does not fit in its parent (ends at ${limit})`, offset);
  return box;
}

/** Top-level boxes, reading 32 header bytes per box. */
export async function readTopLevelBoxes(reader: ByteReader): Promise<Box[]> {
  const boxes: Box[] = [];
  for (let at = 0; at < reader.size; ) {
    if (boxes.length >= MAX_BOXES) throw corrupt(FORMAT, `more than ${MAX_BOXES} top-level boxes`, at);
    const box = parseBoxHeader(await reader.read(at, Math.min(40, reader.size - at)), at, reader.size);
    boxes.push(box);
    at += box.size;
  }
  if (boxes[0]?.type !== 'ftyp') throw corrupt(FORMAT, "the first box is not 'ftyp'", 0);
  return boxes;
}

/**
 * Whether a file's top-level boxes include a C2PA `uuid` box, from box headers alone; true when
 * the boxes cannot be walked, so that c2pa-rs judges such a file's bytes.
 */
export async function mayHoldBmffC2paBox(reader: ByteReader): Promise<boolean> {
  try {
    return (await readTopLevelBoxes(reader)).some((b) => b.type === 'uuid' && sameBytes(b.uuid, C2PA_UUID));
  } catch (e) {
    if (e instanceof TamgaError) return true;
    throw e;
  }
}

/** Child boxes of an in-memory box payload `b[from..to)`; offsets are relative to `b`. */
export function childBoxes(b: Uint8Array, from: number, to: number): Box[] {
  const out: Box[] = [];
  for (let at = from; at < to; ) {
    // Some writers end udta with a 4-byte zero terminator (QuickTime); it is not a box.
    if (to - at < 8) {
      if (b.subarray(at, to).every((x) => x === 0)) break;
      throw corrupt(FORMAT, 'truncated child box', at);
    }
    const box = parseBoxHeader(b.subarray(at, Math.min(to, at + 40)), at, to);
    out.push(box);
    at += box.size;
    if (out.length > MAX_BOXES) throw corrupt(FORMAT, 'too many child boxes', at);
  }
  return out;
}

function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const body = concat(payload);
  const out = new Uint8Array(8 + body.length);
  putU32be(out, 0, out.length);
  out.set(ascii(type), 4);
  out.set(body, 8);
  return out;
}

const fullBoxHeader = () => new Uint8Array(4);

/** `meta` is a full box in ISO files and a plain container in QuickTime's: tell them apart by what follows. */
function metaChildrenStart(b: Uint8Array, meta: Box): number {
  const p = meta.offset + meta.headerSize;
  const looksLikeBox = (o: number) => o + 8 <= meta.offset + meta.size && /^[a-z©\-]{4}$/i.test(latin1(b.subarray(o + 4, o + 8)));
  return !looksLikeBox(p) && looksLikeBox(p + 4) ? p + 4 : looksLikeBox(p) ? p : p + 4;
}

// ---------------------------------------------------------------------------------------------
// Reading udta

function ilstItemText(b: Uint8Array, item: Box): { key: string; text: string } | undefined {
  const kids = childBoxes(b, item.offset + item.headerSize, item.offset + item.size);
  let key = item.type;
  if (item.type === '----') {
    const name = kids.find((k) => k.type === 'name');
    if (name) key = Buffer.from(b.subarray(name.offset + name.headerSize + 4, name.offset + name.size)).toString('utf8');
  }
  const data = kids.find((k) => k.type === 'data');
  if (!data || data.size < data.headerSize + 8) return undefined;
  const typeIndicator = u32be(b, data.offset + data.headerSize) & 0xffffff;
  // 1 = UTF-8, 2 = UTF-16 BE (QuickTime well-known types); others are numbers and images.
  const value = b.subarray(data.offset + data.headerSize + 8, data.offset + data.size);
  if (typeIndicator === 1) return { key, text: Buffer.from(value).toString('utf8') };
  if (typeIndicator === 2) return { key, text: Buffer.from(value).swap16().toString('utf16le') };
  return undefined;
}

/** Reads `udta` contents: ilst text items, QuickTime `©xxx` text atoms, `XMP_`. */
function readUdta(b: Uint8Array, base: number, meta: AvMetadata): void {
  const where = (name: string, k: Box): Carrier => ({ name: `mp4:${name}`, offset: base + k.offset, length: k.size });
  for (const k of childBoxes(b, 0, b.length)) {
    if (k.type === 'meta') {
      for (const c of childBoxes(b, metaChildrenStart(b, k), k.offset + k.size)) {
        if (c.type !== 'ilst') continue;
        for (const item of childBoxes(b, c.offset + c.headerSize, c.offset + c.size)) {
          const t = ilstItemText(b, item);
          if (t) meta.texts.push({ kind: 'mp4:udta', key: t.key, text: t.text, carrier: where(`udta/meta/ilst/${item.type}`, item) });
        }
      }
    } else if (k.type === 'XMP_' && !meta.xmp) {
      meta.xmp = { packet: b.slice(k.offset + k.headerSize, k.offset + k.size), carrier: where('udta/XMP_', k) };
    } else if (k.type.charCodeAt(0) === 0xa9 && k.size >= k.headerSize + 4) {
      // QuickTime user data text: u16 length, u16 language, then the text (Mac Roman or UTF-8 in practice).
      const p = k.offset + k.headerSize;
      const len = u16be(b, p);
      if (p + 4 + len <= k.offset + k.size) {
        meta.texts.push({ kind: 'mp4:udta', key: k.type, text: Buffer.from(b.subarray(p + 4, p + 4 + len)).toString('utf8'), carrier: where(`udta/${k.type}`, k) });
      }
    }
  }
}

async function readMoovUdta(reader: ByteReader, moov: Box, meta: AvMetadata): Promise<void> {
  for (let at = moov.offset + moov.headerSize; at < moov.offset + moov.size; ) {
    const k = parseBoxHeader(await reader.read(at, Math.min(40, moov.offset + moov.size - at)), at, moov.offset + moov.size);
    if (k.type === 'udta') {
      if (k.size > MAX_UDTA_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: udta of ${k.size} bytes`, { size: k.size });
      readUdta(await reader.read(k.offset + k.headerSize, k.size - k.headerSize), k.offset + k.headerSize, meta);
    }
    at += k.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing udta

function dataBox(text: string): Uint8Array {
  const head = new Uint8Array(8);
  putU32be(head, 0, 1); // UTF-8, locale 0
  return box('data', head, encodeUtf8(text));
}

function freeformItem(name: string, text: string): Uint8Array {
  return box('----', box('mean', fullBoxHeader(), encodeUtf8(ITUNES_MEAN)), box('name', fullBoxHeader(), encodeUtf8(name)), dataBox(text));
}

/** The iTunes metadata handler (`mdir`/`appl`) that tells readers how to read `ilst`. */
const MDIR_HDLR = box('hdlr', fullBoxHeader(), new Uint8Array(4), ascii('mdirappl'), new Uint8Array(9));

function rebuildIlst(b: Uint8Array | undefined, ilst: Box | undefined, write: AvMetadataWrite): Uint8Array {
  const kept: Uint8Array[] = [];
  let oldComment: string | undefined;
  if (b && ilst) {
    for (const item of childBoxes(b, ilst.offset + ilst.headerSize, ilst.offset + ilst.size)) {
      const t = ilstItemText(b, item);
      if (item.type === '----' && (t?.key === AIGC_FIELD || t?.key === TAMGA_FIELD)) continue;
      if (item.type === '\u00a9cmt') {
        oldComment = t?.text;
        continue;
      }
      kept.push(b.subarray(item.offset, item.offset + item.size));
    }
  }
  const comment = mergeCommentField(oldComment, write.comment, write.previousComment);
  return box('ilst', ...kept, box('\u00a9cmt', dataBox(comment)), freeformItem(AIGC_FIELD, write.aigc), freeformItem(TAMGA_FIELD, write.tamga));
}

function rebuildMeta(b: Uint8Array | undefined, meta: Box | undefined, write: AvMetadataWrite): Uint8Array {
  if (!b || !meta) return box('meta', fullBoxHeader(), MDIR_HDLR, rebuildIlst(undefined, undefined, write));
  const start = metaChildrenStart(b, meta);
  const kids = childBoxes(b, start, meta.offset + meta.size);
  const prefix = b.subarray(meta.offset + meta.headerSize, start);
  const ilst = kids.find((k) => k.type === 'ilst');
  const parts: Uint8Array[] = [];
  if (!kids.some((k) => k.type === 'hdlr')) parts.push(MDIR_HDLR);
  for (const k of kids) parts.push(k === ilst ? rebuildIlst(b, k, write) : b.subarray(k.offset, k.offset + k.size));
  if (!ilst) parts.push(rebuildIlst(undefined, undefined, write));
  return box('meta', prefix, ...parts);
}

/** The new udta: its other children kept, `meta` (and for QuickTime `XMP_`) rewritten. */
function rebuildUdta(b: Uint8Array | undefined, write: AvMetadataWrite, quicktime: boolean): Uint8Array {
  const kids = b ? childBoxes(b, 0, b.length) : [];
  const meta = kids.find((k) => k.type === 'meta');
  const parts: Uint8Array[] = [];
  for (const k of kids) {
    if (k === meta) parts.push(rebuildMeta(b, k, write));
    else if (k.type === 'XMP_' && quicktime) continue;
    else parts.push(b!.subarray(k.offset, k.offset + k.size));
  }
  if (!meta) parts.push(rebuildMeta(undefined, undefined, write));
  if (quicktime) parts.push(box('XMP_', write.xmp));
  return box('udta', ...parts);
}

/** moov/trak/mdia/minf/stbl is 5 deep; a hostile file may nest these boxes until the stack runs out. */
const MAX_OFFSET_PATH_DEPTH = 16;
/** Fragments (`moof`) and `mfra` are read to move the absolute offsets they hold; real ones are small. */
const MAX_FRAGMENT_BOX_BYTES = 16 << 20;
const MAX_FRAGMENT_BYTES_TOTAL = 256 << 20;

/** Calls `visit` for every box of the given types found along OFFSET_PATH (and `extraPath`) inside `b[from..to)`. */
function forEachBoxOnPath(b: Uint8Array, from: number, to: number, types: ReadonlySet<string>, visit: (k: Box) => void, path: ReadonlySet<string> = OFFSET_PATH, depth = 0): void {
  if (depth > MAX_OFFSET_PATH_DEPTH) throw corrupt(FORMAT, `boxes nested more than ${MAX_OFFSET_PATH_DEPTH} deep`, from);
  for (const k of childBoxes(b, from, to)) {
    if (types.has(k.type)) visit(k);
    else if (path.has(k.type)) forEachBoxOnPath(b, k.offset + k.headerSize, k.offset + k.size, types, visit, path, depth + 1);
  }
}

/** Maps an absolute offset of the input to where that byte is in the output; throws when the byte does not survive. */
type OffsetMap = (v: number) => number;

/** Rewrites `count` offsets of `width` bytes at `p` (in place) through `map`; a 32-bit field that overflows is refused. */
function mapOffsetFields(b: Uint8Array, p: number, count: number, width: 4 | 8, stride: number, map: OffsetMap, what: string): void {
  for (let i = 0, o = p; i < count; i++, o += stride) {
    if (width === 4) {
      const v = map(u32be(b, o));
      if (v > 0xffffffff) throw new TamgaError('METADATA_TOO_LARGE', `the labelled file would move data past the 4 GiB reach of a 32-bit ${what} offset`, { offset: v });
      putU32be(b, o, v);
    } else {
      const v = map(u64be(b, o));
      putU32be(b, o, Math.floor(v / 2 ** 32));
      putU32be(b, o + 4, v >>> 0);
    }
  }
}

/** stco/co64: a count, then the absolute file offset of every chunk. */
function mapChunkOffsets(b: Uint8Array, k: Box, map: OffsetMap): void {
  const p = k.offset + k.headerSize;
  if (k.size < k.headerSize + 8) throw corrupt(FORMAT, `${k.type} box too short`, k.offset);
  const count = u32be(b, p + 4);
  const width = k.type === 'co64' ? 8 : 4;
  if (p + 8 + count * width > k.offset + k.size) throw corrupt(FORMAT, `${k.type} table of ${count} entries runs past its box`, k.offset);
  mapOffsetFields(b, p + 8, count, width, width, map, k.type);
}

/**
 * saio (ISO/IEC 14496-12 §8.7.9): where the sample auxiliary information (CENC IVs and
 * sub-sample maps, usually in `senc`) is. In a SampleTableBox the offsets are absolute; in a
 * track fragment they are relative to the fragment's base offset, which moves with the fragment.
 */
function mapAuxInfoOffsets(b: Uint8Array, k: Box, map: OffsetMap): void {
  const p = k.offset + k.headerSize;
  if (k.size < k.headerSize + 8) throw corrupt(FORMAT, 'saio box too short', k.offset);
  const version = b[p]!;
  const flags = u32be(b, p) & 0xffffff;
  const countAt = p + 4 + (flags & 1 ? 8 : 0);
  if (countAt + 4 > k.offset + k.size) throw corrupt(FORMAT, 'saio box too short', k.offset);
  const count = u32be(b, countAt);
  const width = version === 0 ? 4 : 8;
  if (countAt + 4 + count * width > k.offset + k.size) throw corrupt(FORMAT, `saio table of ${count} entries runs past its box`, k.offset);
  mapOffsetFields(b, countAt + 4, count, width, width, map, 'saio');
}

/** tfhd with base-data-offset-present (flag 0x000001): an absolute offset the trun data offsets add to. */
function mapFragmentBase(b: Uint8Array, k: Box, map: OffsetMap): boolean {
  const p = k.offset + k.headerSize;
  if (k.size < k.headerSize + 8) throw corrupt(FORMAT, 'tfhd box too short', k.offset);
  if (!(u32be(b, p) & 1)) return false;
  if (k.size < k.headerSize + 16) throw corrupt(FORMAT, 'tfhd box too short for its base data offset', k.offset);
  mapOffsetFields(b, p + 8, 1, 8, 8, map, 'tfhd base data');
  return true;
}

/** tfra (§8.8.10): per entry time, moof_offset (absolute), then traf/trun/sample numbers of 1-4 bytes each. */
function mapRandomAccessOffsets(b: Uint8Array, k: Box, map: OffsetMap): void {
  const p = k.offset + k.headerSize;
  if (k.size < k.headerSize + 16) throw corrupt(FORMAT, 'tfra box too short', k.offset);
  const width = b[p] === 1 ? 8 : 4;
  const sizes = u32be(b, p + 8);
  const stride = 2 * width + (((sizes >> 4) & 3) + 1) + (((sizes >> 2) & 3) + 1) + ((sizes & 3) + 1);
  const count = u32be(b, p + 12);
  if (p + 16 + count * stride > k.offset + k.size) throw corrupt(FORMAT, `tfra table of ${count} entries runs past its box`, k.offset);
  mapOffsetFields(b, p + 16 + width, count, width as 4 | 8, stride, map, 'tfra');
}

/**
 * iloc (§8.11.3): item extents. With construction_method 0 (file offsets) the base offset, or
 * each extent offset when there is no base, is absolute. Returns whether anything was rewritten.
 */
function mapItemLocations(b: Uint8Array, k: Box, map: OffsetMap): boolean {
  const end = k.offset + k.size;
  let p = k.offset + k.headerSize;
  const need = (n: number) => {
    if (p + n > end) throw corrupt(FORMAT, 'iloc box truncated', k.offset);
  };
  need(6);
  const version = b[p]!;
  const offsetSize = b[p + 4]! >> 4;
  const lengthSize = b[p + 4]! & 15;
  const baseSize = b[p + 5]! >> 4;
  const indexSize = version === 1 || version === 2 ? b[p + 5]! & 15 : 0;
  p += 6;
  const idWidth = version === 2 ? 4 : 2;
  need(idWidth);
  const count = version === 2 ? u32be(b, p) : u16be(b, p);
  p += idWidth;
  const field = (size: number) => {
    if (size !== 0 && size !== 4 && size !== 8) throw corrupt(FORMAT, `iloc field of ${size} bytes`, k.offset);
    return size as 0 | 4 | 8;
  };
  const [os, ls, bs, is] = [field(offsetSize), field(lengthSize), field(baseSize), field(indexSize)];
  let changed = false;
  for (let i = 0; i < count; i++) {
    need(idWidth);
    p += idWidth;
    let method = 0;
    if (version === 1 || version === 2) {
      need(2);
      method = u16be(b, p) & 15;
      p += 2;
    }
    need(2 + bs + 2);
    p += 2; // data_reference_index
    const fileOffsets = method === 0;
    const baseAt = p;
    const base = bs === 0 ? 0 : bs === 4 ? u32be(b, p) : u64be(b, p);
    p += bs;
    const extents = u16be(b, p);
    p += 2;
    if (fileOffsets && bs) {
      mapOffsetFields(b, baseAt, 1, bs, bs, map, 'iloc');
      changed = true;
    }
    for (let e = 0; e < extents; e++) {
      need(is + os + ls);
      p += is;
      if (fileOffsets && !bs && os) {
        mapOffsetFields(b, p, 1, os, os, map, 'iloc');
        changed = true;
      } else if (fileOffsets && !bs && !os && map(base) !== base) {
        throw new TamgaError('UNSUPPORTED_FORMAT', 'an iloc item at offset 0 of the file would move', { format: FORMAT });
      }
      p += os + ls;
    }
  }
  return changed;
}

const CHUNK_OFFSET_TABLES = new Set(['stco', 'co64', 'saio']);
const FRAGMENT_PATH = new Set(['traf']);

/** Whether moov/udta has an `XMP_` child. */
function udtaHoldsXmp(moov: Uint8Array, m: Box): boolean {
  const udta = childBoxes(moov, m.headerSize, moov.length).find((k) => k.type === 'udta');
  return Boolean(udta && childBoxes(moov, udta.offset + udta.headerSize, udta.offset + udta.size).some((k) => k.type === 'XMP_'));
}

/** The rebuilt moov and where each kept child moved: [old start, old end, new start] relative to the moov start. */
interface RebuiltMoov {
  bytes: Uint8Array;
  moved: [number, number, number][];
}

function rebuildMoov(moov: Uint8Array, m: Box, write: AvMetadataWrite, quicktime: boolean): RebuiltMoov {
  const kids = childBoxes(moov, m.headerSize, moov.length);
  const udta = kids.find((k) => k.type === 'udta');
  const parts: Uint8Array[] = [];
  const moved: RebuiltMoov['moved'] = [];
  let at = 8;
  for (const k of kids) {
    const part = k === udta ? rebuildUdta(moov.subarray(k.offset + k.headerSize, k.offset + k.size), write, quicktime) : moov.subarray(k.offset, k.offset + k.size);
    if (k !== udta) moved.push([k.offset, k.offset + k.size, at]);
    parts.push(part);
    at += part.length;
  }
  if (!udta) parts.push(rebuildUdta(undefined, write, quicktime));
  return { bytes: box('moov', ...parts), moved };
}
/**
 * The top-level boxes besides moov that hold absolute offsets, rewritten in place (same size) when
 * the label moves what they point at: moof/traf/tfhd base data offsets, mfra/tfra moof offsets,
 * a top-level meta's iloc. A sidx addresses what follows it relative to its own end: an edit
 * between the two (moov between an index and its fragments) is refused.
 */
async function fragmentSplices(reader: ByteReader, top: readonly Box[], moov: Box, shift: (v: number) => number, map: OffsetMap): Promise<Splice[]> {
  const out: Splice[] = [];
  let total = 0;
  const load = async (b: Box) => {
    if (b.size > MAX_FRAGMENT_BOX_BYTES || (total += b.size) > MAX_FRAGMENT_BYTES_TOTAL) {
      throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: a '${b.type}' of ${b.size} bytes (or ${total} in all) holds offsets too large to rewrite`, { size: b.size });
    }
    return Uint8Array.from(await reader.read(b.offset, b.size));
  };
  for (const b of top) {
    if (b === moov || shift(b.offset) === b.offset) continue;
    if (b.type === 'moof') {
      const bytes = await load(b);
      let changed = false;
      forEachBoxOnPath(bytes, b.headerSize, bytes.length, new Set(['tfhd']), (k) => (changed = mapFragmentBase(bytes, k, map) || changed), FRAGMENT_PATH);
      if (changed) out.push({ at: b.offset, length: b.size, bytes });
    } else if (b.type === 'mfra') {
      const bytes = await load(b);
      forEachBoxOnPath(bytes, b.headerSize, bytes.length, new Set(['tfra']), (k) => mapRandomAccessOffsets(bytes, k, map));
      out.push({ at: b.offset, length: b.size, bytes });
    } else if (b.type === 'meta') {
      const bytes = await load(b);
      let changed = false;
      forEachBoxOnPath(bytes, metaChildrenStart(bytes, { ...b, offset: 0 }), bytes.length, new Set(['iloc']), (k) => (changed = mapItemLocations(bytes, k, map) || changed));
      if (changed) out.push({ at: b.offset, length: b.size, bytes });
    }
  }
  for (const b of top) {
    if (b.type !== 'sidx') continue;
    const h = await reader.read(b.offset + b.headerSize, Math.min(32, b.size - b.headerSize));
    if (h.length < 20) throw corrupt(FORMAT, 'sidx box too short', b.offset);
    const firstOffset = h[0] === 0 ? u32be(h, 16) : h.length >= 28 ? u64be(h, 20) : 0;
    const anchor = b.offset + b.size;
    if (shift(anchor + firstOffset) - (anchor + firstOffset) !== shift(anchor) - anchor) {
      throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: the label would move data between a segment index (sidx) and the fragments it addresses; remux it (ffmpeg -c copy) first`, { format: FORMAT });
    }
  }
  return out;
}

export const isobmffContainer: AvContainer = {
  formats: ['mp4', 'mov', 'm4a'],

  async read(reader: ByteReader, format: Format): Promise<AvMetadata> {
    const top = await readTopLevelBoxes(reader);
    const meta: AvMetadata = { format, texts: [] };
    const carrier = (name: string, b: Box): Carrier => ({ name, offset: b.offset, length: b.size });
    for (const b of top) {
      if (b.type === 'uuid' && sameBytes(b.uuid, XMP_UUID) && !meta.xmp) {
        if (b.size > MAX_UDTA_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: XMP box of ${b.size} bytes`, { size: b.size });
        meta.xmp = { packet: (await reader.read(b.offset + b.headerSize, b.size - b.headerSize)).slice(), carrier: carrier('mp4:uuid-XMP', b) };
      } else if (b.type === 'uuid' && sameBytes(b.uuid, C2PA_UUID) && !meta.c2pa) meta.c2pa = carrier('mp4:uuid-c2pa', b);
    }
    const moov = top.find((b) => b.type === 'moov');
    if (moov) {
      // The uuid box wins when both carriers exist (it is the one c2pa-rs and ffmpeg read).
      const udtaMeta: AvMetadata = { format, texts: [] };
      await readMoovUdta(reader, moov, udtaMeta);
      meta.texts.push(...udtaMeta.texts);
      if (!meta.xmp && udtaMeta.xmp) meta.xmp = udtaMeta.xmp;
    }
    return meta;
  },

  async planWrite(reader: ByteReader, meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const top = await readTopLevelBoxes(reader);
    const m = top.find((b) => b.type === 'moov');
    if (!m) throw corrupt(FORMAT, "no 'moov' box");
    if (m.size > MAX_MOOV_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: moov of ${m.size} bytes exceeds ${MAX_MOOV_BYTES}`, { size: m.size });
    const xmpBox = top.find((b) => b.type === 'uuid' && sameBytes(b.uuid, XMP_UUID));
    const oldMoov = await reader.read(m.offset, m.size);
    const moovBox = parseBoxHeader(oldMoov.subarray(0, 40), 0, oldMoov.length);
    // One packet per file (exiftool: "Duplicate XMP"): an existing carrier is rewritten where it
    // is; a new one goes in moov/udta/XMP_ for QuickTime (ExifTool's and the XMP spec's MOV
    // place) and in the uuid box for MP4. A MOV holding both keeps udta/XMP_.
    const inUdta = udtaHoldsXmp(oldMoov, moovBox);
    const toUdta = meta.format === 'mov' ? inUdta || !xmpBox : inUdta && !xmpBox;
    const rebuilt = rebuildMoov(oldMoov, moovBox, write, toUdta);
    const newMoov = rebuilt.bytes;

    const newXmp = box('uuid', XMP_UUID, write.xmp);
    const splices: Splice[] = [{ at: m.offset, length: m.size, bytes: newMoov }];
    if (xmpBox) splices.push(toUdta ? { at: xmpBox.offset, length: xmpBox.size } : { at: xmpBox.offset, length: xmpBox.size, bytes: newXmp });
    else if (!toUdta) splices.push({ at: top[0]!.size, length: 0, bytes: newXmp });
    if (write.stripC2pa) for (const b of top) if (b.type === 'uuid' && sameBytes(b.uuid, C2PA_UUID)) splices.push({ at: b.offset, length: b.size });

    const delta = (s: Splice) => (s.bytes?.length ?? 0) - s.length;
    const shift = (v: number) => v + splices.reduce((n, s) => (s.at + s.length <= v ? n + delta(s) : n), 0);
    const replaced = splices.filter((s) => s.length > 0 && s.at !== m.offset);
    // Every absolute offset the file holds, mapped to where its byte is after the edit: bytes
    // inside moov follow their box (only udta is rebuilt, at its place), others shift with the
    // edits before them. An offset into a replaced box (the old XMP, a stripped manifest, udta) has no new place.
    const map: OffsetMap = (v) => {
      if (v >= m.offset && v < m.offset + m.size) {
        const rel = v - m.offset;
        const seg = rebuilt.moved.find(([a, e]) => rel >= a && rel < e);
        if (!seg) throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: an offset table points into moov/udta, which the label rewrites`, { format: meta.format });
        return shift(m.offset) + seg[2] + (rel - seg[0]);
      }
      if (replaced.some((s) => v >= s.at && v < s.at + s.length)) throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: an offset table points into a box the label replaces`, { format: meta.format });
      return shift(v);
    };
    forEachBoxOnPath(newMoov, 8, newMoov.length, CHUNK_OFFSET_TABLES, (k) => (k.type === 'saio' ? mapAuxInfoOffsets(newMoov, k, map) : mapChunkOffsets(newMoov, k, map)));
    splices.push(...(await fragmentSplices(reader, top, m, shift, map)));
    return planSplices(reader.size, splices, FORMAT);
  },
};


/**
 * The C2PA manifest store of a complete ISO BMFF file: the JUMBF in its single top-level C2PA
 * `uuid` box whose purpose is `manifest` (version/flags, "manifest\0", an 8-byte merkle offset,
 * then the store). Undefined when there is none, or more than one, or the boxes do not tile the file.
 */
export function bmffC2paStore(bytes: Uint8Array): Uint8Array | undefined {
  const boxes = childBoxes(bytes, 0, bytes.length);
  if (boxes[0]?.type !== 'ftyp' || boxes.reduce((n, b) => n + b.size, 0) !== bytes.length) return undefined;
  const c2pa = boxes.filter((b) => b.type === 'uuid' && sameBytes(b.uuid, C2PA_UUID));
  if (c2pa.length !== 1) return undefined;
  const b = c2pa[0]!;
  const purposeAt = b.offset + b.headerSize + 4;
  const nul = bytes.indexOf(0, purposeAt);
  if (nul < 0 || latin1(bytes.subarray(purposeAt, nul)) !== 'manifest' || nul + 9 > b.offset + b.size) return undefined;
  return bytes.subarray(nul + 9, b.offset + b.size);
}
