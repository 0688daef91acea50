import { latin1, putU16be, putU16le, putU32be, putU32le, u16be, u16le, u32be, u32le, utf8, encodeUtf8 } from '../core/bytes.js';
import type { EditPlan } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import type { ContainerMetadata, ImageContainer, MetadataWrite } from './types.js';

/**
 * Classic TIFF (TIFF 6.0): IFD reading for TIFF/DNG files and for EXIF blocks (JPEG APP1
 * `Exif\0\0` payload, PNG eXIf, WebP EXIF), which are TIFF structures whose offsets count from
 * their own start. Every function takes `base` (where the TIFF header sits in the reader) and
 * `end` (where the TIFF data ends), so the same code serves a whole file and an embedded block.
 *
 * Writing never moves existing data: TIFF offsets are absolute (labelling-standards.md §2.4), and
 * MakerNotes hold private offsets nobody can fix up. Instead a new IFD0 is appended and the header
 * pointer is patched (see planTiffIfd0Update).
 */

const FORMAT = 'tiff';

/** TIFF 6.0 §2 field types (13 = IFD from the TIFF/EP and EXIF additions). */
export const TIFF_TYPE = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
  IFD: 13,
} as const;

const TYPE_SIZE: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

export const TIFF_TAG = {
  ImageDescription: 270,
  Make: 271,
  Model: 272,
  Software: 305,
  Artist: 315,
  Copyright: 33432,
  /** XMP packet (Adobe XMP spec part 3, TIFF). */
  XMP: 700,
  /** Pointer to the Exif sub-IFD. */
  ExifIFD: 0x8769,
  UserComment: 0x9286,
  /** C2PA manifest store (c2pa-rs tiff_io.rs C2PA_TAG). */
  C2PA: 0xcd41,
} as const;

/** Text tags some writers store as BYTE/UNDEFINED instead of ASCII; decoded anyway. */
const TEXT_TAGS_ANY_TYPE = new Set<number>([270, 271, 272, 305, 315, 33432]);
/** Real IFDs have tens of entries (DNG ~100); more means garbage, and bounds the read. */
export const MAX_IFD_ENTRIES = 4096;
/** Bound on the IFD chain (pages) walked to validate a TIFF file. */
const MAX_IFD_CHAIN = 65536;
/** Text tags larger than this are skipped (ComfyUI workflows in Make/Model reach hundreds of KB). */
const MAX_TEXT_TAG_BYTES = 16 * 1024 * 1024;
/** Classic TIFF offsets are u32. */
const MAX_TIFF_OFFSET = 0xffffffff;

export interface TiffHeader {
  littleEndian: boolean;
  /** Offset of IFD0, relative to the header. */
  firstIfdOffset: number;
}

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Absolute offset of the value in the reader; for values of <= 4 bytes, the entry's own value field. */
  valueOffset: number;
  /** Value length in bytes (count x type size); 0 for unknown types, whose 4-byte field is kept opaque. */
  size: number;
  /** Absolute offset of the 12-byte entry. */
  entryOffset: number;
  /** The 12 entry bytes as stored, so the entry can be copied verbatim into a new IFD. */
  raw: Uint8Array;
}

export interface Ifd {
  /** Absolute offset of the IFD (its entry count). */
  offset: number;
  /** Absolute end of the IFD structure (after the next-IFD pointer, when present). */
  end: number;
  entries: IfdEntry[];
  /** Next IFD, relative to the TIFF header; 0 = none. */
  nextIfdOffset: number;
}

/** A tag to store in a new IFD. `data` must already be in the TIFF's byte order (irrelevant for BYTE/ASCII/UNDEFINED). */
export interface TiffTagValue {
  tag: number;
  type: number;
  data: Uint8Array;
}

const align2 = (n: number): number => n + (n & 1);

function inRange(what: string, offset: number, length: number, end: number): void {
  if (offset < 0 || offset + length > end) throw corrupt(FORMAT, `${what} (${length} bytes) runs past the end of the TIFF data (${end})`, offset);
}

/** Parses the 8-byte header at `base`. BigTIFF is refused: its 64-bit offsets need a different IFD layout. */
export async function readTiffHeader(reader: ByteReader, base = 0, end = reader.size): Promise<TiffHeader> {
  inRange('TIFF header', base, 8, end);
  const h = await reader.read(base, 8);
  const magic = latin1(h.subarray(0, 4));
  if (magic === 'II+\0' || magic === 'MM\0+') {
    throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: BigTIFF (64-bit offsets) is not supported; only classic TIFF can be labelled`, {
      format: FORMAT,
    });
  }
  if (magic !== 'II*\0' && magic !== 'MM\0*') throw corrupt(FORMAT, 'not a TIFF header (expected II*\\0 or MM\\0*)', base);
  const littleEndian = magic === 'II*\0';
  return { littleEndian, firstIfdOffset: littleEndian ? u32le(h, 4) : u32be(h, 4) };
}

/**
 * Reads one IFD at `ifdOffset` (relative to `base`). Throws CORRUPT_INPUT when the IFD lies outside
 * [base + 8, end), has more than MAX_IFD_ENTRIES entries, or was already visited (a loop).
 */
export async function readIfd(
  reader: ByteReader,
  base: number,
  ifdOffset: number,
  littleEndian: boolean,
  opts: { end?: number; visited?: Set<number> } = {},
): Promise<Ifd> {
  const end = opts.end ?? reader.size;
  const offset = base + ifdOffset;
  // An IFD cannot overlap the 8-byte header.
  if (ifdOffset < 8 || offset + 2 > end) throw corrupt(FORMAT, `IFD offset ${ifdOffset} out of range`, offset);
  if (opts.visited) {
    if (opts.visited.has(offset)) throw corrupt(FORMAT, `IFD loop: IFD at ${ifdOffset} is referenced twice`, offset);
    opts.visited.add(offset);
  }
  const u16 = littleEndian ? u16le : u16be;
  const u32 = littleEndian ? u32le : u32be;
  const count = u16(await reader.read(offset, 2), 0);
  if (count > MAX_IFD_ENTRIES) throw corrupt(FORMAT, `IFD with ${count} entries (limit ${MAX_IFD_ENTRIES})`, offset);
  const entriesEnd = offset + 2 + 12 * count;
  inRange('IFD', offset, 2 + 12 * count, end);
  // Some writers end the data right after the last entry of the last IFD; a missing next pointer means "none".
  const hasNext = entriesEnd + 4 <= end;
  const b = await reader.read(offset + 2, 12 * count + (hasNext ? 4 : 0));
  const entries: IfdEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = 12 * i;
    const tag = u16(b, o);
    const type = u16(b, o + 2);
    const n = u32(b, o + 4);
    // TIFF 6.0 §2: readers skip fields of unknown type; we keep their 4-byte field as opaque.
    const size = n * (TYPE_SIZE[type] ?? 0);
    const field = offset + 2 + o + 8;
    entries.push({ tag, type, count: n, size, entryOffset: offset + 2 + o, valueOffset: size <= 4 ? field : base + u32(b, o + 8), raw: b.slice(o, o + 12) });
  }
  return { offset, end: entriesEnd + (hasNext ? 4 : 0), entries, nextIfdOffset: hasNext ? u32(b, 12 * count) : 0 };
}

/** The value bytes of an entry, range-checked against `end`. */
export async function readIfdValue(reader: ByteReader, entry: IfdEntry, end = reader.size): Promise<Uint8Array> {
  inRange(`value of tag ${entry.tag}`, entry.valueOffset, entry.size, end);
  return reader.read(entry.valueOffset, entry.size);
}

/** ASCII fields are NUL-terminated; many writers put UTF-8 in them, so decode as UTF-8. */
const decodeAsciiField = (b: Uint8Array): string => utf8(b).replace(/\0+$/, '');

function decodeUtf16(b: Uint8Array, littleEndian: boolean): string {
  let body = b.subarray(0, b.length & ~1);
  let le = littleEndian;
  if (body[0] === 0xfe && body[1] === 0xff) [le, body] = [false, body.subarray(2)];
  else if (body[0] === 0xff && body[1] === 0xfe) [le, body] = [true, body.subarray(2)];
  else {
    // No BOM: the EXIF spec leaves the order to the file's byte order, but writers disagree
    // (A1111 writes UTF-16BE whatever the TIFF order), so mostly-Latin text decides when it is clear.
    let zeroEven = 0;
    let zeroOdd = 0;
    for (let i = 0; i + 1 < Math.min(body.length, 512); i += 2) {
      if (body[i] === 0 && body[i + 1] !== 0) zeroEven++;
      if (body[i + 1] === 0 && body[i] !== 0) zeroOdd++;
    }
    if (zeroEven > 2 * zeroOdd) le = false;
    else if (zeroOdd > 2 * zeroEven) le = true;
  }
  const copy = Buffer.from(body);
  if (!le) copy.swap16();
  return copy.toString('utf16le');
}

/** JIS X 0208 text; Shift_JIS is what cameras write. Node without full ICU lacks the decoder: fall back to UTF-8. */
function decodeJis(b: Uint8Array): string {
  try {
    return new TextDecoder('shift_jis').decode(b);
  } catch {
    return utf8(b);
  }
}

/**
 * EXIF 2.32 §4.6.5 UserComment: an 8-byte character code, then the text.
 * `littleEndian` is the TIFF byte order, the default order for `UNICODE` text.
 */
export function decodeUserComment(bytes: Uint8Array, littleEndian = false): string {
  const prefix = latin1(bytes.subarray(0, 8));
  const body = bytes.subarray(8);
  let text: string;
  if (bytes.length < 8) text = utf8(bytes);
  else if (prefix === 'UNICODE\0') text = decodeUtf16(body, littleEndian);
  // ASCII: writers often store UTF-8 there; undefined (8 NULs): UTF-8 is the best guess.
  else if (prefix === 'ASCII\0\0\0' || prefix === '\0\0\0\0\0\0\0\0') text = utf8(body);
  else if (prefix === 'JIS\0\0\0\0\0') text = decodeJis(body);
  else text = utf8(bytes);
  // Cameras pad the fixed-size field with NULs or spaces.
  return text.replace(/[\0\s]+$/, '');
}

/** The Exif sub-IFD offset from IFD0's 0x8769 entry, if present. */
function exifIfdPointer(ifd0: Ifd, littleEndian: boolean): number | undefined {
  const e = ifd0.entries.find((x) => x.tag === TIFF_TAG.ExifIFD);
  if (!e || e.count !== 1 || (e.type !== TIFF_TYPE.LONG && e.type !== TIFF_TYPE.IFD)) return undefined;
  const offset = littleEndian ? u32le(e.raw, 8) : u32be(e.raw, 8);
  // Some writers leave a zero pointer for "no Exif IFD".
  return offset === 0 ? undefined : offset;
}

/** A tag value, or undefined when it points outside the data (readers skip such a field; so does detection). */
async function valueOrSkip(reader: ByteReader, e: IfdEntry, end: number): Promise<Uint8Array | undefined> {
  try {
    return await readIfdValue(reader, e, end);
  } catch (err) {
    if (err instanceof TamgaError && err.code === 'CORRUPT_INPUT') return undefined;
    throw err;
  }
}

/**
 * Text tags of IFD0 (every ASCII field, plus the common text tags when stored as BYTE/UNDEFINED)
 * and of the Exif sub-IFD (ASCII fields as strings, UserComment as raw bytes: decodeUserComment).
 */
export async function readTiffTextTags(
  reader: ByteReader,
  base = 0,
  end = reader.size,
): Promise<{ ifd0: Map<number, string>; exif: Map<number, string | Uint8Array>; littleEndian: boolean }> {
  const { littleEndian, firstIfdOffset } = await readTiffHeader(reader, base, end);
  const visited = new Set<number>();
  const ifd0 = await readIfd(reader, base, firstIfdOffset, littleEndian, { end, visited });
  const texts = new Map<number, string>();
  for (const e of ifd0.entries) {
    const isText = e.type === TIFF_TYPE.ASCII || (TEXT_TAGS_ANY_TYPE.has(e.tag) && (e.type === TIFF_TYPE.BYTE || e.type === TIFF_TYPE.UNDEFINED));
    if (isText && e.size <= MAX_TEXT_TAG_BYTES) {
      const v = await valueOrSkip(reader, e, end);
      if (v) texts.set(e.tag, decodeAsciiField(v));
    }
  }
  const exif = new Map<number, string | Uint8Array>();
  const exifOffset = exifIfdPointer(ifd0, littleEndian);
  if (exifOffset !== undefined) {
    const sub = await readIfd(reader, base, exifOffset, littleEndian, { end, visited });
    for (const e of sub.entries) {
      if (e.size > MAX_TEXT_TAG_BYTES) continue;
      if (e.tag !== TIFF_TAG.UserComment && e.type !== TIFF_TYPE.ASCII) continue;
      const v = await valueOrSkip(reader, e, end);
      if (v) exif.set(e.tag, e.tag === TIFF_TAG.UserComment ? v.slice() : decodeAsciiField(v));
    }
  }
  return { ifd0: texts, exif, littleEndian };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** An entry of an IFD being built: 12 bytes in file order, plus its value when it lives outside. */
interface OutEntry {
  tag: number;
  raw: Uint8Array;
  outOfLine?: Uint8Array;
}

function newEntry(v: TiffTagValue, littleEndian: boolean): OutEntry {
  const unit = TYPE_SIZE[v.type];
  if (!Number.isInteger(v.tag) || v.tag < 0 || v.tag > 0xffff) throw new TamgaError('INVALID_OPTION', `TIFF tag ${v.tag} is not a 16-bit number`, { tag: v.tag });
  if (!unit || v.data.length % unit !== 0) {
    throw new TamgaError('INVALID_OPTION', `TIFF tag ${v.tag}: ${v.data.length} bytes do not fit type ${v.type}`, { tag: v.tag, type: v.type });
  }
  const raw = new Uint8Array(12);
  const [p16, p32] = littleEndian ? [putU16le, putU32le] : [putU16be, putU32be];
  p16(raw, 0, v.tag);
  p16(raw, 2, v.type);
  p32(raw, 4, v.data.length / unit);
  // TIFF 6.0 §2: values of <= 4 bytes sit left-justified in the value field.
  if (v.data.length <= 4) {
    raw.set(v.data, 8);
    return { tag: v.tag, raw };
  }
  return { tag: v.tag, raw, outOfLine: v.data };
}

/**
 * Serialises an IFD placed at `ifdRel` (relative to the TIFF header, even) followed by its
 * out-of-line values, each starting on a word boundary (TIFF 6.0 §2: offsets should be even).
 * Entries are sorted by tag, as TIFF requires.
 */
function layoutIfd(ifdRel: number, entries: OutEntry[], nextIfdOffset: number, littleEndian: boolean): Uint8Array {
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.tag - b.e.tag || a.i - b.i).map((x) => x.e);
  if (sorted.length > 0xffff) throw new TamgaError('METADATA_TOO_LARGE', `an IFD holds at most 65535 entries`, { entries: sorted.length });
  const ifdSize = 2 + 12 * sorted.length + 4;
  const total = ifdSize + sorted.reduce((n, e) => n + (e.outOfLine ? align2(e.outOfLine.length) : 0), 0);
  if (ifdRel + total > MAX_TIFF_OFFSET) {
    throw new TamgaError('METADATA_TOO_LARGE', `the TIFF data would exceed 4 GiB, the limit of classic TIFF offsets`, { size: ifdRel + total });
  }
  const [p16, p32] = littleEndian ? [putU16le, putU32le] : [putU16be, putU32be];
  const out = new Uint8Array(total);
  p16(out, 0, sorted.length);
  let valueAt = ifdSize;
  sorted.forEach((e, i) => {
    const at = 2 + 12 * i;
    out.set(e.raw, at);
    if (e.outOfLine) {
      p32(out, at + 8, ifdRel + valueAt);
      out.set(e.outOfLine, valueAt);
      valueAt += align2(e.outOfLine.length);
    }
  });
  p32(out, ifdSize - 4, nextIfdOffset);
  return out;
}

/**
 * Where IFD0 starts when it (with its own out-of-line values) is the tail of [base, end) — as after
 * an earlier tamga write, or as libtiff lays files out — so it can be replaced instead of left as a
 * dead copy. Undefined when anything else (pixel data, another IFD) lives after it.
 */
function ifd0TailStart(ifd0: Ifd, base: number, end: number): number | undefined {
  if (ifd0.offset - base < 8) return undefined;
  const ranges: [number, number][] = [[ifd0.offset, ifd0.end]];
  for (const e of ifd0.entries) {
    if (e.size <= 4 || e.valueOffset + e.size <= ifd0.offset) continue;
    if (e.valueOffset < ifd0.offset || e.valueOffset + e.size > end) return undefined;
    ranges.push([e.valueOffset, e.valueOffset + e.size]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let covered = ifd0.offset;
  for (const [s, t] of ranges) {
    // One byte of word-alignment padding is the only gap allowed.
    if (s > covered + 1) return undefined;
    covered = Math.max(covered, t);
  }
  return end - covered <= 1 ? ifd0.offset : undefined;
}

/**
 * Plans the TIFF data [base, end) with IFD0 replaced by a new IFD0 appended at the end: all old
 * entries verbatim (their values stay where they are, so every offset, MakerNotes included, stays
 * valid), `set` entries added or replacing same-tag ones, `remove` tags dropped, the old next-IFD
 * pointer kept (IFD1/thumbnail stays linked). Only the header's IFD0 pointer changes in place.
 * The plan's output is the new TIFF data alone (for an embedded EXIF block, the new block).
 */
export async function planTiffIfd0Update(reader: ByteReader, base: number, end: number, set: TiffTagValue[], remove: number[] = []): Promise<EditPlan> {
  const { littleEndian, firstIfdOffset } = await readTiffHeader(reader, base, end);
  const ifd0 = await readIfd(reader, base, firstIfdOffset, littleEndian, { end });
  const setTags = new Set(set.map((v) => v.tag));
  if (setTags.size !== set.length) throw new TamgaError('INVALID_OPTION', 'the same TIFF tag is set twice', { tags: set.map((v) => v.tag) });
  const dropped = new Set([...setTags, ...remove]);

  const cut = ifd0TailStart(ifd0, base, end) ?? end;
  const entries: OutEntry[] = [];
  const seen = new Set<number>();
  for (const e of ifd0.entries) {
    if (dropped.has(e.tag)) continue;
    // A tag repeated in one IFD: readers keep the first (libtiff ignores the rest), and so does the new IFD.
    if (seen.has(e.tag)) continue;
    seen.add(e.tag);
    // A value that points past the end of the data was unreadable before; kept, it would read the
    // new IFD appended there, so it is left out. Values inside the replaced tail are carried into
    // the new IFD's value area.
    if (e.size > 4 && e.valueOffset + e.size > end) continue;
    if (e.size > 4 && e.valueOffset >= cut) entries.push({ tag: e.tag, raw: e.raw.slice(), outOfLine: (await readIfdValue(reader, e, end)).slice() });
    else entries.push({ tag: e.tag, raw: e.raw });
  }
  for (const v of set) entries.push(newEntry(v, littleEndian));

  const cutRel = cut - base;
  const ifdRel = align2(cutRel);
  // IFD0 pointing at itself (a one-IFD loop) reads as one page; the new IFD0 must not make the old one a second page.
  const next = base + ifd0.nextIfdOffset === ifd0.offset ? 0 : ifd0.nextIfdOffset;
  const ifd = layoutIfd(ifdRel, entries, next, littleEndian);
  const pointer = new Uint8Array(4);
  (littleEndian ? putU32le : putU32be)(pointer, 0, ifdRel);
  return [
    { copy: [base, base + 4] },
    { bytes: pointer },
    { copy: [base + 8, cut] },
    ...(ifdRel > cutRel ? [{ bytes: new Uint8Array(1) }] : []),
    { bytes: ifd },
  ];
}

/** A fresh TIFF structure (header + IFD0 with `set`), e.g. the EXIF block for a JPEG that has none. */
export function buildMinimalTiff(set: TiffTagValue[], littleEndian = false): Uint8Array {
  const header = new Uint8Array(8);
  header.set(littleEndian ? [0x49, 0x49, 0x2a, 0x00] : [0x4d, 0x4d, 0x00, 0x2a]);
  (littleEndian ? putU32le : putU32be)(header, 4, 8);
  const ifd = layoutIfd(
    8,
    set.map((v) => newEntry(v, littleEndian)),
    0,
    littleEndian,
  );
  return Buffer.concat([header, ifd]);
}

/** An ASCII (type 2) value: UTF-8 bytes plus the NUL terminator TIFF 6.0 §2 requires. */
export const asciiTagValue = (tag: number, text: string): TiffTagValue => ({ tag, type: TIFF_TYPE.ASCII, data: Buffer.concat([encodeUtf8(text), new Uint8Array(1)]) });

// ---------------------------------------------------------------------------------------------
// The TIFF file container

export const tiffContainer: ImageContainer = {
  format: 'tiff',

  async read(reader: ByteReader): Promise<ContainerMetadata> {
    const { littleEndian, firstIfdOffset } = await readTiffHeader(reader);
    const visited = new Set<number>();
    const ifd0 = await readIfd(reader, 0, firstIfdOffset, littleEndian, { visited });
    // Walk the page chain: an offset out of range there is a broken file, and is reported now
    // rather than after a write that keeps the chain. A chain that loops back to an IFD already
    // seen ends there, as libtiff reads it ("IFD looping detected"): the write touches IFD0 only
    // and keeps the chain as it was, so the file reads the same after it.
    let next = ifd0.nextIfdOffset;
    for (let pages = 1; next !== 0 && !visited.has(next); pages++) {
      if (pages >= MAX_IFD_CHAIN) throw corrupt(FORMAT, `more than ${MAX_IFD_CHAIN} IFDs in the chain`);
      next = (await readIfd(reader, 0, next, littleEndian, { visited })).nextIfdOffset;
    }

    const meta: ContainerMetadata = {
      format: 'tiff',
      exif: { fileIsTiff: true, carrier: { name: 'tiff:IFD0', offset: ifd0.offset, length: ifd0.end - ifd0.offset } },
      texts: [],
    };
    // XMP spec part 3: BYTE or UNDEFINED; some writers use ASCII, which holds the same bytes.
    const xmp = ifd0.entries.find((e) => e.tag === TIFF_TAG.XMP && (e.type === TIFF_TYPE.BYTE || e.type === TIFF_TYPE.UNDEFINED || e.type === TIFF_TYPE.ASCII));
    if (xmp && xmp.size > 0) {
      meta.xmp = { packet: (await readIfdValue(reader, xmp)).slice(), carrier: { name: 'tiff:IFD0/700', offset: xmp.valueOffset, length: xmp.size } };
    }
    const c2pa = ifd0.entries.find((e) => e.tag === TIFF_TAG.C2PA);
    if (c2pa && c2pa.size > 0) {
      inRange('C2PA manifest store (tag 0xCD41)', c2pa.valueOffset, c2pa.size, reader.size);
      meta.c2pa = { name: 'tiff:IFD0/C2PA', offset: c2pa.valueOffset, length: c2pa.size };
    }
    return meta;
  },

  async planWrite(reader: ByteReader, _meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan> {
    // exiftool writes XMP as BYTE (type 1); readers accept BYTE and UNDEFINED alike.
    const set: TiffTagValue[] = [{ tag: TIFF_TAG.XMP, type: TIFF_TYPE.BYTE, data: write.xmp }];
    for (const [key, text] of Object.entries(write.exifIfd0Text ?? {})) {
      const tag = Number(key);
      if (tag === TIFF_TAG.XMP || tag === TIFF_TAG.C2PA) {
        throw new TamgaError('INVALID_OPTION', `exifIfd0Text: tag ${tag} is not a text tag`, { option: 'exifIfd0Text', tag });
      }
      set.push(asciiTagValue(tag, text));
    }
    return planTiffIfd0Update(reader, 0, reader.size, set, write.stripC2pa ? [TIFF_TAG.C2PA] : []);
  },
};
