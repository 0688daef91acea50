import { createHash } from 'node:crypto';
import { ascii, concat, latin1, putU16be, startsWith, u16be, u32be } from '../core/bytes.js';
import { planLength, renderPlan, type EditPlan, type Piece } from '../core/edit.js';
import { corrupt, TamgaError } from '../core/errors.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import { asciiTagValue, buildMinimalTiff, planTiffIfd0Update, TIFF_TYPE, type TiffTagValue } from './tiff.js';
import type { Carrier, ContainerMetadata, ImageContainer, MetadataWrite, TextEntry } from './types.js';

/**
 * JPEG (ISO/IEC 10918-1) marker segments up to the first SOS. Metadata lives in APPn segments
 * before the scan; everything from SOS on is copied verbatim, never decoded.
 * XMP placement follows the XMP spec part 3 (labelling-standards.md §2.1); C2PA APP11 per §3.2.
 */

export const XMP_SIGNATURE = ascii('http://ns.adobe.com/xap/1.0/\0');
export const XMP_EXT_SIGNATURE = ascii('http://ns.adobe.com/xmp/extension/\0');
export const EXIF_SIGNATURE = ascii('Exif\0\0');
/** Largest standard XMP packet in one APP1 (65,535 - 2 length bytes - 29 signature bytes, less 2 spare per the XMP spec). */
export const MAX_STANDARD_XMP = 65502;
const MAX_SEGMENT_CONTENT = 65533;

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP11 = 0xeb;
const COM = 0xfe;

export interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF marker byte. */
  offset: number;
  /** Offset of the content (after the 2-byte length). */
  contentOffset: number;
  /** Bytes of content (length field - 2). */
  contentLength: number;
  end: number;
}

export interface JpegLayout {
  segments: JpegSegment[];
  /** Offset of the SOS marker: from here on the file is copied verbatim. */
  scanOffset: number;
}

/** Walks the marker segments from SOI to SOS, validating lengths; checks that an EOI follows the scan. */
export async function readJpegLayout(reader: ByteReader): Promise<JpegLayout> {
  const head = await reader.read(0, Math.min(reader.size, 4));
  if (head.length < 4 || head[0] !== 0xff || head[1] !== SOI) throw corrupt('JPEG', 'missing SOI marker', 0);
  const segments: JpegSegment[] = [];
  let at = 2;
  for (;;) {
    if (segments.length > 10_000) throw corrupt('JPEG', 'more than 10000 segments before the scan', at);
    if (at + 2 > reader.size) throw corrupt('JPEG', 'truncated before the image data (no SOS marker)', at);
    let b = await reader.read(at, 2);
    if (b[0] !== 0xff) {
      // Bytes between segments that are not a marker: libjpeg skips them ("extraneous bytes before
      // marker") and so does this walk; they are copied as they are on a write.
      at = await nextMarker(reader, at);
      b = await reader.read(at, 2);
    }
    // Any number of 0xFF fill bytes may precede a marker (B.1.1.2).
    let markerAt = at;
    while (b[1] === 0xff) {
      markerAt++;
      if (markerAt + 2 > reader.size) throw corrupt('JPEG', 'truncated in fill bytes', markerAt);
      b = await reader.read(markerAt, 2);
    }
    const marker = b[1]!;
    if (marker === 0x00) {
      // A stuffed 0xFF00 outside the entropy-coded data is junk too (libjpeg skips it).
      at = await nextMarker(reader, markerAt + 2);
      continue;
    }
    if (marker === SOI) throw corrupt('JPEG', 'unexpected marker 0xFFd8', markerAt);
    if (marker === EOI) throw corrupt('JPEG', 'EOI before any image data', markerAt);
    // TEM and RSTn have no length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at = markerAt + 2;
      continue;
    }
    if (markerAt + 4 > reader.size) throw corrupt('JPEG', 'truncated segment header', markerAt);
    const len = u16be(await reader.read(markerAt + 2, 2), 0);
    if (len < 2) throw corrupt('JPEG', `segment length ${len} is below 2`, markerAt);
    const end = markerAt + 2 + len;
    if (end > reader.size) throw corrupt('JPEG', `segment 0xFF${marker.toString(16)} runs past the end of the file (truncated)`, markerAt);
    if (marker === SOS) {
      await checkEoi(reader, end);
      return { segments, scanOffset: markerAt };
    }
    segments.push({ marker, offset: markerAt, contentOffset: markerAt + 4, contentLength: len - 2, end });
    at = end;
  }
}

/** How far junk between segments is skipped before the file is taken for something else. */
const MAX_JUNK_BYTES = 1 << 20;

/** The offset of the next 0xFF that starts a marker (not a fill 0xFF00), from `from`. */
async function nextMarker(reader: ByteReader, from: number): Promise<number> {
  const end = Math.min(reader.size, from + MAX_JUNK_BYTES);
  const b = await reader.read(from, end - from);
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0xff && b[i + 1] !== 0x00 && b[i + 1] !== 0xff) return from + i;
  throw corrupt('JPEG', `expected a marker, found 0x${b[0]!.toString(16)} and no marker in the next ${end - from} bytes`, from);
}

/**
 * A complete JPEG has an EOI after its scan. Trailing bytes after EOI are common, so look in the
 * last 64 KiB; most files end with it, so the last 1 KiB is read first.
 */
async function checkEoi(reader: ByteReader, scanStart: number): Promise<void> {
  for (const span of [1024, 65536]) {
    const from = Math.max(scanStart, reader.size - span);
    const tail = await reader.read(from, reader.size - from);
    for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === EOI) return;
    if (from === scanStart) break;
  }
  throw corrupt('JPEG', 'no EOI marker after the image data (truncated file?)');
}

const carrierOf = (name: string, s: JpegSegment): Carrier => ({ name, offset: s.offset, length: s.end - s.offset });

function isC2paApp11(content: Uint8Array): boolean {
  // CI "JP", En, Z, then a JUMBF superbox whose description box type UUID starts with "c2pa".
  return content.length >= 28 && content[0] === 0x4a && content[1] === 0x50 && latin1(content.subarray(24, 28)) === 'c2pa';
}

interface ExtendedChunk {
  guid: string;
  fullLength: number;
  offset: number;
  data: Uint8Array;
  segment: JpegSegment;
}

function assembleExtendedXmp(chunks: ExtendedChunk[], guid: string | undefined): ContainerMetadata['extendedXmp'] {
  if (!guid) return undefined;
  const mine = chunks.filter((c) => c.guid === guid);
  if (!mine.length) return undefined;
  const total = mine[0]!.fullLength;
  if (total > 32 * 1024 * 1024) throw corrupt('JPEG', `extended XMP of ${total} bytes is over the 32 MiB limit`);
  const buf = new Uint8Array(total);
  let filled = 0;
  for (const c of mine) {
    if (c.fullLength !== total || c.offset + c.data.length > total) throw corrupt('JPEG', 'inconsistent extended XMP chunk', c.segment.offset);
    buf.set(c.data, c.offset);
    filled += c.data.length;
  }
  // Readers must check the MD5 named by the GUID (XMP spec part 3, 1.1.3.1); a mismatch is ignored.
  if (filled < total || createHash('md5').update(buf).digest('hex').toUpperCase() !== guid) return undefined;
  const first = mine[0]!.segment;
  const last = mine[mine.length - 1]!.segment;
  return { packet: buf, guid, carrier: { name: 'jpeg:APP1-ExtendedXMP', offset: first.offset, length: last.end - first.offset } };
}

async function readJpeg(reader: ByteReader): Promise<ContainerMetadata> {
  const layout = await readJpegLayout(reader);
  const meta: ContainerMetadata = { format: 'jpeg', texts: [], layout };
  const ext: ExtendedChunk[] = [];
  let c2paFirst: JpegSegment | undefined;
  let c2paLast: JpegSegment | undefined;
  for (const s of layout.segments) {
    if (s.marker === APP1) {
      const sigLen = Math.min(s.contentLength, XMP_EXT_SIGNATURE.length);
      const sig = await reader.read(s.contentOffset, sigLen);
      if (!meta.xmp && startsWith(sig, XMP_SIGNATURE)) {
        const packet = await reader.read(s.contentOffset + XMP_SIGNATURE.length, s.contentLength - XMP_SIGNATURE.length);
        meta.xmp = { packet, carrier: carrierOf('jpeg:APP1-XMP', s) };
      } else if (startsWith(sig, XMP_EXT_SIGNATURE) && s.contentLength >= XMP_EXT_SIGNATURE.length + 40) {
        const c = await reader.read(s.contentOffset + XMP_EXT_SIGNATURE.length, s.contentLength - XMP_EXT_SIGNATURE.length);
        ext.push({ guid: latin1(c.subarray(0, 32)), fullLength: u32be(c, 32), offset: u32be(c, 36), data: c.subarray(40), segment: s });
      } else if (!meta.exif && startsWith(sig, EXIF_SIGNATURE)) {
        const tiff = await reader.read(s.contentOffset + 6, s.contentLength - 6);
        meta.exif = { tiff, carrier: carrierOf('jpeg:APP1-Exif', s) };
      }
    } else if (s.marker === APP11 && s.contentLength >= 28) {
      if (isC2paApp11(await reader.read(s.contentOffset, 28))) {
        c2paFirst ??= s;
        c2paLast = s;
      }
    } else if (s.marker === COM) {
      const text = Buffer.from(await reader.read(s.contentOffset, s.contentLength)).toString('utf8');
      const entry: TextEntry = { keyword: 'comment', text, carrier: carrierOf('jpeg:COM', s) };
      meta.texts.push(entry);
    }
  }
  if (c2paFirst && c2paLast) meta.c2pa = { name: 'jpeg:APP11-C2PA', offset: c2paFirst.offset, length: c2paLast.end - c2paFirst.offset };
  if (meta.xmp && ext.length) {
    const m = /HasExtendedXMP\s*(?:=\s*["']|>)\s*([0-9A-Fa-f]{32})/.exec(latin1(meta.xmp.packet));
    const assembled = assembleExtendedXmp(ext, m?.[1]?.toUpperCase());
    if (assembled) meta.extendedXmp = assembled;
  }
  return meta;
}

export function buildJpegSegment(marker: number, content: Uint8Array): Uint8Array {
  if (content.length > MAX_SEGMENT_CONTENT) {
    throw new TamgaError('METADATA_TOO_LARGE', `JPEG: a 0xFF${marker.toString(16)} segment holds at most ${MAX_SEGMENT_CONTENT} bytes, got ${content.length}`);
  }
  const head = new Uint8Array(4);
  head[0] = 0xff;
  head[1] = marker;
  putU16be(head, 2, content.length + 2);
  return concat([head, content]);
}

/**
 * IFD0 tags EXIF 2.32 (§4.6.8) requires in a JPEG's EXIF; written only when tamga creates the EXIF
 * block, with the values cameras use when nothing else is known (72 dpi, centred chroma).
 */
const REQUIRED_JPEG_IFD0: TiffTagValue[] = [
  { tag: 0x011a, type: TIFF_TYPE.RATIONAL, data: Uint8Array.of(0, 0, 0, 72, 0, 0, 0, 1) },
  { tag: 0x011b, type: TIFF_TYPE.RATIONAL, data: Uint8Array.of(0, 0, 0, 72, 0, 0, 0, 1) },
  { tag: 0x0128, type: TIFF_TYPE.SHORT, data: Uint8Array.of(0, 2) },
  { tag: 0x0213, type: TIFF_TYPE.SHORT, data: Uint8Array.of(0, 1) },
];

/** Text tags go in as ASCII (type 2) holding UTF-8, which is what phones and exiftool write. */
async function buildExifSegment(meta: ContainerMetadata, tags: Record<number, string>): Promise<Uint8Array> {
  const set = Object.entries(tags).map(([tag, text]) => asciiTagValue(Number(tag), text));
  let tiff: Uint8Array;
  if (meta.exif && 'tiff' in meta.exif) {
    const r = new BufferReader(meta.exif.tiff, 'JPEG EXIF');
    tiff = await renderPlan(r, await planTiffIfd0Update(r, 0, meta.exif.tiff.length, set));
  } else {
    // Big-endian values above; buildMinimalTiff writes big-endian (MM) by default.
    tiff = buildMinimalTiff([...REQUIRED_JPEG_IFD0, ...set]);
  }
  return buildJpegSegment(APP1, concat([EXIF_SIGNATURE, tiff]));
}

async function planJpegWrite(reader: ByteReader, meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan> {
  const layout = (meta.layout as JpegLayout | undefined) ?? (await readJpegLayout(reader));
  if (write.xmp.length > MAX_STANDARD_XMP) {
    throw new TamgaError('METADATA_TOO_LARGE', `JPEG: the XMP packet is ${write.xmp.length} bytes; a standard XMP segment holds at most ${MAX_STANDARD_XMP}`);
  }
  const xmpSegment = buildJpegSegment(APP1, concat([XMP_SIGNATURE, write.xmp]));
  let exifSegment: Uint8Array | undefined;
  try {
    exifSegment = write.exifIfd0Text ? await buildExifSegment(meta, write.exifIfd0Text) : undefined;
  } catch (e) {
    // EXIF whose IFDs cannot be followed is kept byte for byte and the label goes in XMP alone
    // (the EXIF text tags only repeat it): a broken block elsewhere is no reason to refuse it.
    if (!(e instanceof TamgaError && e.code === 'CORRUPT_INPUT' && meta.exif)) throw e;
  }
  const xmpAt = meta.xmp?.carrier.offset;
  const exifAt = meta.exif?.carrier.offset;
  const c2pa = meta.c2pa;

  // New segments go after the leading APP0 (JFIF) / APP1-Exif run, where readers expect them; an
  // EXIF block continued in further APP1 or FlashPix (APP2 FPXR) segments is one run, never split.
  let insertAfter = 2;
  for (const s of layout.segments) {
    if (s.marker === APP0 || s.offset === exifAt || (exifAt !== undefined && (await continuesExif(reader, s)))) insertAfter = s.end;
    else break;
  }

  const plan: Piece[] = [{ copy: [0, 2] }];
  let cursor = 2;
  const pending: Uint8Array[] = [];
  if (exifSegment && exifAt === undefined) pending.push(exifSegment);
  if (xmpAt === undefined) pending.push(xmpSegment);
  if (insertAfter === 2) for (const p of pending.splice(0)) plan.push({ bytes: p });
  for (const s of layout.segments) {
    plan.push({ copy: [cursor, s.offset] });
    cursor = s.end;
    if (s.offset === xmpAt) plan.push({ bytes: xmpSegment });
    else if (s.offset === exifAt && exifSegment) plan.push({ bytes: exifSegment });
    else if (!(write.stripC2pa && c2pa && s.offset >= c2pa.offset && s.end <= c2pa.offset + c2pa.length)) plan.push({ copy: [s.offset, s.end] });
    if (s.end === insertAfter) for (const p of pending.splice(0)) plan.push({ bytes: p });
  }
  plan.push(...(await afcpTrailerPieces(reader, cursor, planLength(plan) - cursor)));
  return plan;
}

/** APP1 Exif segments after the first and APP2 FlashPix (FPXR) segments continue an EXIF block. */
async function continuesExif(reader: ByteReader, s: JpegSegment): Promise<boolean> {
  if (s.marker !== APP1 && s.marker !== APP1 + 1) return false;
  const sig = await reader.read(s.contentOffset, Math.min(s.contentLength, 6));
  return s.marker === APP1 ? startsWith(sig, EXIF_SIGNATURE) : latin1(sig.subarray(0, 5)) === 'FPXR\0';
}

/**
 * The pieces copying the input from `from` to its end, with an AFCP trailer's absolute offsets
 * (AXS File Concatenation Protocol: a directory of 12-byte entries tag/size/offset, and a final
 * 12-byte record pointing at it) moved by `delta`, the bytes the label added before it. Without
 * a valid AFCP trailer: one plain copy.
 */
async function afcpTrailerPieces(reader: ByteReader, from: number, delta: number): Promise<Piece[]> {
  const plain: Piece[] = [{ copy: [from, reader.size] }];
  if (delta === 0 || reader.size - from < 24) return plain;
  const eof = Uint8Array.from(await reader.read(reader.size - 12, 12));
  const hdr = latin1(eof.subarray(0, 4));
  if (hdr !== 'AXS!' && hdr !== 'AXS*') return plain;
  const view = new DataView(eof.buffer);
  const le = hdr === 'AXS*';
  const start = view.getUint32(4, le);
  if (start < from || start + 12 > reader.size - 12) return plain;
  const head = await reader.read(start, 12);
  if (latin1(head.subarray(0, 4)) !== hdr) return plain;
  const count = new DataView(head.buffer, head.byteOffset, 12).getUint16(6, le);
  if (start + 12 + 12 * count > reader.size - 12) return plain;
  const dir = Uint8Array.from(await reader.read(start, 12 + 12 * count));
  const d = new DataView(dir.buffer);
  for (let i = 0; i < count; i++) {
    const o = 12 + 12 * i + 8;
    const v = d.getUint32(o, le) + delta;
    if (v < 0 || v > 0xffffffff) return plain;
    d.setUint32(o, v, le);
  }
  view.setUint32(4, start + delta, le);
  return [{ copy: [from, start] }, { bytes: dir }, { copy: [start + dir.length, reader.size - 12] }, { bytes: eof }];
}

export const jpegContainer: ImageContainer = {
  format: 'jpeg',
  read: readJpeg,
  planWrite: planJpegWrite,
};

/**
 * The C2PA manifest store of a complete JPEG, reassembled from its APP11 segments (ISO 19566-5
 * Annex B: CI `JP`, box instance En, sequence Z; every segment after the first repeats the box
 * header, which is dropped). Undefined when there is none, or more than one, or the sequence is broken.
 */
/**
 * The marker segments of a JPEG held in memory, up to the first scan (fill bytes and standalone
 * markers skipped): marker, segment offset and end. Stops quietly at the first malformed segment,
 * so header sniffers can run it on a truncated head.
 */
export function* jpegHeaderSegments(bytes: Uint8Array): Generator<{ marker: number; at: number; end: number }> {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) return;
  for (let at = 2; at + 4 <= bytes.length; ) {
    if (bytes[at] !== 0xff) return;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === SOS || marker === EOI) return;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const end = at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    yield { marker, at, end };
    at = end;
  }
}

export function jpegC2paStore(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  const parts = new Map<number, { z: number; data: Uint8Array }[]>();
  for (const { marker, at, end } of jpegHeaderSegments(bytes)) {
    if (end > bytes.length || end < at + 4) return undefined;
    if (marker === APP11 && end - at >= 2 + 2 + 8 + 8 && bytes[at + 4] === 0x4a && bytes[at + 5] === 0x50) {
      const en = (bytes[at + 6]! << 8) | bytes[at + 7]!;
      const z = u32be(bytes, at + 8);
      const list = parts.get(en) ?? [];
      list.push({ z, data: bytes.subarray(at + 12, end) });
      parts.set(en, list);
    }
  }
  const stores = [...parts.values()].filter((l) => l.some((p) => (p.z === 1 || l.length === 1) && p.data.length >= 24 && latin1(p.data.subarray(16, 20)) === 'c2pa'));
  if (stores.length !== 1) return undefined;
  const list = stores[0]!.sort((a, b) => a.z - b.z);
  const chunks: Uint8Array[] = [];
  for (const [i, p] of list.entries()) {
    // A store in one segment is read whatever its sequence number (Bing Image Creator writes Z = 0).
    if (p.z !== i + 1 && list.length > 1) return undefined;
    if (i === 0) chunks.push(p.data);
    else {
      const headerLength = u32be(p.data, 0) === 1 ? 16 : 8;
      if (p.data.length < headerLength) return undefined;
      chunks.push(p.data.subarray(headerLength));
    }
  }
  return chunks.length === 1 ? chunks[0] : concat(chunks);
}

/** A JPEG segment as C2PA box hashes name it (c2pa-rs's JPEG box map): `SOI`, `APP0`, `DQT`, `SOF0`, `SOS` (with its entropy-coded data), `C2PA`... */
export interface JpegHashBox {
  name: string;
  start: number;
  end: number;
}

const SOF_NAMES = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function hashBoxName(marker: number): string | undefined {
  if (marker >= 0xe0 && marker <= 0xef) return `APP${marker - 0xe0}`;
  if (SOF_NAMES.has(marker)) return `SOF${marker - 0xc0}`;
  if (marker >= 0xf0 && marker <= 0xfd) return `JPG${marker - 0xf0}`;
  return ({ 0xdb: 'DQT', 0xc4: 'DHT', 0xcc: 'DAC', 0xdd: 'DRI', 0xfe: 'COM' } as Record<number, string>)[marker];
}

/**
 * The segments of a complete JPEG in file order, named as `c2pa.hash.boxes` names them. The
 * APP11 segments of the C2PA store form one `C2PA` box. Undefined for anything c2pa-rs's map would
 * treat specially or that this reader does not follow (short APP11 segments, markers it has no
 * name for, a store split around other segments, bytes after EOI).
 */
export function jpegHashBoxes(bytes: Uint8Array): JpegHashBox[] | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  const out: JpegHashBox[] = [{ name: 'SOI', start: 0, end: 2 }];
  let c2paEn: number | undefined;
  for (let at = 2; ; ) {
    if (at + 2 > bytes.length || bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === EOI) {
      out.push({ name: 'EOI', start: at, end: at + 2 });
      return at + 2 === bytes.length ? out : undefined;
    }
    if (at + 4 > bytes.length) return undefined;
    let end = at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    if (end > bytes.length || end < at + 4) return undefined;
    if (marker === SOS) {
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor RSTn.
      for (;;) {
        end = bytes.indexOf(0xff, end);
        if (end < 0 || end + 1 >= bytes.length) return undefined;
        const next = bytes[end + 1]!;
        if (next !== 0 && !(next >= 0xd0 && next <= 0xd7)) break;
        end += 2;
      }
      out.push({ name: 'SOS', start: at, end });
    } else if (marker === APP11) {
      if (end - at - 4 <= 16) return undefined;
      const en = (bytes[at + 6]! << 8) | bytes[at + 7]!;
      const last = out.at(-1)!;
      if (c2paEn !== undefined && en === c2paEn) {
        if (last.name !== 'C2PA') return undefined;
        last.end = end;
      } else if (end - at >= 32 && latin1(bytes.subarray(at + 28, at + 32)) === 'c2pa') {
        if (c2paEn !== undefined) return undefined;
        c2paEn = en;
        out.push({ name: 'C2PA', start: at, end });
      } else out.push({ name: 'APP11', start: at, end });
    } else {
      const name = hashBoxName(marker);
      if (!name) return undefined;
      out.push({ name, start: at, end });
    }
    at = end;
  }
}
