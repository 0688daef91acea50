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

/** Calls `visit` for every stco/co64 box inside an in-memory moov. */
function forEachChunkOffsetTable(b: Uint8Array, from: number, to: number, visit: (k: Box) => void, depth = 0): void {
  if (depth > MAX_OFFSET_PATH_DEPTH) throw corrupt(FORMAT, `boxes nested more than ${MAX_OFFSET_PATH_DEPTH} deep`, from);
  for (const k of childBoxes(b, from, to)) {
    if (k.type === 'stco' || k.type === 'co64') visit(k);
    else if (OFFSET_PATH.has(k.type)) forEachChunkOffsetTable(b, k.offset + k.headerSize, k.offset + k.size, visit, depth + 1);
  }
}

/** Shifts every chunk offset in `moov` (in place) by `shift(offset)`; a 32-bit table that overflows is refused. */
function shiftChunkOffsets(moov: Uint8Array, headerSize: number, shift: (v: number) => number): void {
  forEachChunkOffsetTable(moov, headerSize, moov.length, (k) => {
    const p = k.offset + k.headerSize;
    if (k.size < k.headerSize + 8) throw corrupt(FORMAT, `${k.type} box too short`, k.offset);
    const count = u32be(moov, p + 4);
    const width = k.type === 'co64' ? 8 : 4;
    if (p + 8 + count * width > k.offset + k.size) throw corrupt(FORMAT, `${k.type} table of ${count} entries runs past its box`, k.offset);
    for (let i = 0, o = p + 8; i < count; i++, o += width) {
      if (width === 4) {
        const v = shift(u32be(moov, o));
        if (v > 0xffffffff) throw new TamgaError('METADATA_TOO_LARGE', 'the labelled file would move a chunk past the 4 GiB reach of its 32-bit stco table', { offset: v });
        putU32be(moov, o, v);
      } else {
        const v = shift(u64be(moov, o));
        putU32be(moov, o, Math.floor(v / 2 ** 32));
        putU32be(moov, o + 4, v >>> 0);
      }
    }
  });
}

function rebuildMoov(moov: Uint8Array, m: Box, write: AvMetadataWrite, quicktime: boolean): Uint8Array {
  const kids = childBoxes(moov, m.headerSize, moov.length);
  const udta = kids.find((k) => k.type === 'udta');
  const parts: Uint8Array[] = [];
  for (const k of kids) {
    if (k === udta) parts.push(rebuildUdta(moov.subarray(k.offset + k.headerSize, k.offset + k.size), write, quicktime));
    else parts.push(moov.subarray(k.offset, k.offset + k.size));
  }
  if (!udta) parts.push(rebuildUdta(undefined, write, quicktime));
  return box('moov', ...parts);
}

const isFragmented = (top: readonly Box[]) => top.some((b) => b.type === 'moof' || b.type === 'mfra' || b.type === 'sidx');

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
    const quicktime = meta.format === 'mov';
    const oldMoov = await reader.read(m.offset, m.size);
    const newMoov = rebuildMoov(oldMoov, parseBoxHeader(oldMoov.subarray(0, 40), 0, oldMoov.length), write, quicktime);

    const xmpBox = top.find((b) => b.type === 'uuid' && sameBytes(b.uuid, XMP_UUID));
    const newXmp = box('uuid', XMP_UUID, write.xmp);
    const splices: Splice[] = [
      xmpBox ? { at: xmpBox.offset, length: xmpBox.size, bytes: newXmp } : { at: top[0]!.size, length: 0, bytes: newXmp },
      { at: m.offset, length: m.size, bytes: newMoov },
    ];
    if (write.stripC2pa) for (const b of top) if (b.type === 'uuid' && sameBytes(b.uuid, C2PA_UUID)) splices.push({ at: b.offset, length: b.size });

    const delta = (s: Splice) => (s.bytes?.length ?? 0) - s.length;
    const shift = (v: number) => v + splices.reduce((n, s) => (s.at + s.length <= v ? n + delta(s) : n), 0);
    if (isFragmented(top) && top.some((b) => b.type !== 'moov' && b.offset > m.offset && shift(b.offset) !== b.offset)) {
      // Fragments (moof/tfhd, sidx, mfra) hold offsets of their own that tamga does not rewrite.
      throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: a fragmented MP4 whose fragments would move; remux it unfragmented (ffmpeg -c copy) first`, { format: meta.format });
    }
    shiftChunkOffsets(newMoov, 8, shift);
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
