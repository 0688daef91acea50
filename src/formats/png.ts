import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { ascii, concat, crc32, latin1, putU32be, startsWith, u32be, utf8 } from '../core/bytes.js';
import { planSplices, type EditPlan } from '../core/edit.js';
import { xmpCarrierSplices } from './carriers.js';
import { corrupt, TamgaError } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { MAX_XMP_BYTES } from './types.js';
import type { Carrier, ContainerMetadata, ImageContainer, MetadataWrite } from './types.js';

/**
 * PNG (ISO/IEC 15948, W3C PNG 3rd ed.): a signature and a chain of length|type|data|CRC chunks.
 * XMP lives in an iTXt chunk with keyword `XML:com.adobe.xmp` (labelling-standards.md §2.2), the
 * C2PA store in `caBX` (§3.2). Only the header of each chunk is read; IDAT and other payloads are
 * skipped by offset, and writes copy them as whole byte ranges.
 */

export const PNG_SIGNATURE: Uint8Array = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
export const PNG_XMP_KEYWORD = 'XML:com.adobe.xmp';
const XMP_KEYWORD_NUL = ascii(`${PNG_XMP_KEYWORD}\0`);

/** PNG §5.3: a chunk length is at most 2^31-1. */
const MAX_CHUNK_LENGTH = 0x7fffffff;
/** Bounds the walk on hostile input (a real PNG has a few dozen chunks, a huge one a few thousand). */
const MAX_CHUNKS = 1_000_000;
/** Decompressed zTXt / compressed iTXt text above this is treated as a decompression bomb. */
export const MAX_INFLATED_TEXT_BYTES = 8 * 1024 * 1024;
/** Uncompressed text chunks above this are CRC-checked in pieces and left out of `texts`. */
const MAX_RAW_TEXT_BYTES = 64 * 1024 * 1024;
/** IHDR has 13 data bytes, so the first chunk ends here; new XMP goes right after it (§2.2, c2pa-rs). */
const IHDR_END = 8 + 12 + 13;
const CRC_PIECE = 1 << 20;

/** A complete chunk: big-endian length, type, data, CRC-32 over type + data (PNG §5.3). */
export function buildPngChunk(type: string, data: Uint8Array): Uint8Array {
  if (data.length > MAX_CHUNK_LENGTH) {
    throw new TamgaError('METADATA_TOO_LARGE', `PNG: a ${type} chunk holds at most 2^31-1 bytes (got ${data.length})`, { length: data.length });
  }
  const typeBytes = ascii(type);
  const head = new Uint8Array(8);
  putU32be(head, 0, data.length);
  head.set(typeBytes, 4);
  const crc = new Uint8Array(4);
  putU32be(crc, 0, crc32(data, crc32(typeBytes)));
  return concat([head, data, crc]);
}

/**
 * The iTXt chunk for an XMP packet: keyword, NUL, compression flag 0, method 0, empty language
 * tag + NUL, empty translated keyword + NUL, then the UTF-8 packet. XMP must not be compressed
 * (§2.2: c2pa-rs and Tychonievich both write it plain so byte scanners can find it).
 */
export function buildPngXmpChunk(packet: Uint8Array): Uint8Array {
  return buildPngChunk('iTXt', concat([ascii(PNG_XMP_KEYWORD), Uint8Array.of(0, 0, 0, 0, 0), packet]));
}

/** PNG §5.4: type bytes are ASCII letters; anything else means we are not at a chunk boundary. */
function isChunkType(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) {
    const c = b[i]! | 0x20;
    if (c < 0x61 || c > 0x7a) return false;
  }
  return true;
}

/** Reads a chunk's data and checks its CRC (over type + data). */
async function readVerifiedData(reader: ByteReader, chunkOffset: number, length: number, type: string): Promise<Uint8Array> {
  const typeDataCrc = await reader.read(chunkOffset + 4, length + 8);
  const computed = crc32(typeDataCrc.subarray(0, length + 4));
  if (computed !== u32be(typeDataCrc, length + 4)) throw corrupt('PNG', `${type} chunk CRC mismatch`, chunkOffset);
  return typeDataCrc.subarray(4, length + 4);
}

/** Checks a chunk's CRC in 1 MiB pieces, for chunks whose data we do not keep (caBX, oversized text). */
async function verifyCrcInPieces(reader: ByteReader, chunkOffset: number, length: number, type: string): Promise<void> {
  const stop = chunkOffset + 8 + length;
  let crc = 0;
  for (let at = chunkOffset + 4; at < stop; at += CRC_PIECE) crc = crc32(await reader.read(at, Math.min(CRC_PIECE, stop - at)), crc);
  if (crc !== u32be(await reader.read(stop, 4), 0)) throw corrupt('PNG', `${type} chunk CRC mismatch`, chunkOffset);
}

/** Inflates zlib data with an output cap, so a small chunk cannot expand into gigabytes. */
function inflateCapped(data: Uint8Array, cap: number, what: string, at: number): Uint8Array {
  try {
    return inflateSync(data, { maxOutputLength: cap });
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw corrupt('PNG', tooLarge ? `${what} inflates to more than ${cap} bytes` : `${what} has a bad zlib stream`, at);
  }
}

interface DecodedText {
  keyword: string;
  /** Decoded (inflated if needed) text bytes: Latin-1 for tEXt/zTXt, UTF-8 for iTXt. */
  body: Uint8Array;
  lang?: string;
}

/** Splits a text chunk per PNG §11.3.3 (tEXt, zTXt, iTXt layouts) and inflates compressed text. */
function decodeTextChunk(type: string, data: Uint8Array, at: number): DecodedText {
  const nul = (from: number): number => {
    const i = data.indexOf(0, from);
    if (i < 0) throw corrupt('PNG', `${type} chunk has an unterminated field`, at);
    return i;
  };
  const keywordEnd = nul(0);
  const keyword = latin1(data.subarray(0, keywordEnd));
  if (type === 'tEXt') return { keyword, body: data.subarray(keywordEnd + 1) };
  if (type === 'zTXt') {
    // zTXt: keyword NUL, compression method (0 = zlib deflate is the only one defined), data.
    if (data[keywordEnd + 1] !== 0) throw corrupt('PNG', 'zTXt chunk has an unknown compression method', at);
    return { keyword, body: inflateCapped(data.subarray(keywordEnd + 2), MAX_INFLATED_TEXT_BYTES, `zTXt "${keyword}"`, at) };
  }
  // iTXt: keyword NUL, compression flag, compression method, language tag NUL, translated keyword NUL, text.
  const compressed = data[keywordEnd + 1];
  const method = data[keywordEnd + 2];
  if (compressed === undefined || method === undefined || compressed > 1 || (compressed === 1 && method !== 0)) {
    throw corrupt('PNG', 'iTXt chunk has a bad compression flag or method', at);
  }
  const langEnd = nul(keywordEnd + 3);
  const translatedEnd = nul(langEnd + 1);
  const lang = latin1(data.subarray(keywordEnd + 3, langEnd));
  const raw = data.subarray(translatedEnd + 1);
  // Readers should tolerate a compressed XMP iTXt (§2.2); it gets the XMP size cap, other text the text cap.
  const cap = keyword === PNG_XMP_KEYWORD ? MAX_XMP_BYTES : MAX_INFLATED_TEXT_BYTES;
  const body = compressed === 1 ? inflateCapped(raw, cap, `iTXt "${keyword}"`, at) : raw;
  return lang ? { keyword, body, lang } : { keyword, body };
}

async function readPng(reader: ByteReader): Promise<ContainerMetadata> {
  if (reader.size < PNG_SIGNATURE.length) throw corrupt('PNG', 'file is shorter than the PNG signature', 0);
  if (!startsWith(await reader.read(0, 8), PNG_SIGNATURE)) throw corrupt('PNG', 'bad signature', 0);
  const meta: ContainerMetadata = { format: 'png', texts: [] };
  let offset = 8;
  let sawIdat = false;
  for (let index = 0; ; index++) {
    if (index >= MAX_CHUNKS) throw corrupt('PNG', `more than ${MAX_CHUNKS} chunks`, offset);
    // A file that ends after complete image data, without IEND or in the header of a next chunk:
    // libpng and libvips decode it, and a write copies that end as it is (nothing to lose).
    if (sawIdat && (offset >= reader.size || offset + 12 > reader.size)) return meta;
    if (offset >= reader.size) throw corrupt('PNG', 'no IEND chunk (file truncated?)', offset);
    if (offset + 12 > reader.size) throw corrupt('PNG', 'truncated chunk', offset);
    const header = await reader.read(offset, 8);
    const length = u32be(header, 0);
    if (length > MAX_CHUNK_LENGTH) throw corrupt('PNG', `chunk length ${length} exceeds 2^31-1`, offset);
    if (!isChunkType(header, 4)) throw corrupt('PNG', 'invalid chunk type', offset + 4);
    const type = latin1(header.subarray(4, 8));
    const end = offset + 12 + length;
    if (end > reader.size) throw corrupt('PNG', `${type} chunk (${length} bytes) runs past the end of the file`, offset);
    // PNG §5.6: IHDR shall be first, with 13 data bytes.
    if (index === 0 && (type !== 'IHDR' || length !== 13)) throw corrupt('PNG', 'first chunk is not a 13-byte IHDR', offset);
    const carrier: Carrier = { name: `png:${type}`, offset, length: end - offset };

    if (type === 'IEND') return meta; // bytes after IEND are not PNG; planWrite copies them as they are
    if (type === 'IDAT') sawIdat = true;
    if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      if (length > MAX_RAW_TEXT_BYTES) {
        // Too big to decode; but an XMP chunk must not be skipped, or a write would add a second one.
        if (type === 'iTXt' && startsWith(await reader.read(offset + 8, XMP_KEYWORD_NUL.length), XMP_KEYWORD_NUL)) {
          throw corrupt('PNG', `XMP packet larger than ${MAX_XMP_BYTES} bytes`, offset);
        }
        await verifyCrcInPieces(reader, offset, length, type);
      } else {
        const text = decodeTextChunk(type, await readVerifiedData(reader, offset, length, type), offset);
        // XMP Part 3 puts the packet in iTXt; ImageMagick and older tools write it in zTXt or
        // tEXt under the same keyword. It is the file's XMP either way: a write replaces that chunk
        // (with an iTXt) instead of adding a second packet.
        if (text.keyword === PNG_XMP_KEYWORD && !meta.xmp) {
          if (text.body.length > MAX_XMP_BYTES) throw corrupt('PNG', `XMP packet larger than ${MAX_XMP_BYTES} bytes`, offset);
          meta.xmp = { packet: text.body, carrier };
        } else {
          // A second XMP iTXt (not allowed by XMP Part 3) stays visible as text rather than being hidden.
          const decoded = type === 'iTXt' ? utf8(text.body) : latin1(text.body);
          meta.texts.push({ keyword: text.keyword, text: decoded, carrier, ...(text.lang ? { lang: text.lang } : {}) });
        }
      }
    } else if (type === 'eXIf') {
      const tiff = await readVerifiedData(reader, offset, length, type);
      if (!meta.exif) meta.exif = { tiff, carrier };
    } else if (type === 'caBX') {
      await verifyCrcInPieces(reader, offset, length, type);
      if (!meta.c2pa) meta.c2pa = carrier;
    }
    offset = end;
  }
}


async function planPngWrite(reader: ByteReader, meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan> {
  if (meta.format !== 'png') throw new TamgaError('INVALID_OPTION', `PNG: metadata of a ${meta.format} file passed to the PNG writer`, { option: 'meta' });
  // `write.exifIfd0Text` is ignored: PNG EXIF (eXIf) is not written. The label travels in XMP, and
  // eXIf support in readers is patchy; an existing eXIf chunk is copied unchanged.
  const xmpChunk = buildPngXmpChunk(write.xmp);
  // New XMP goes right after IHDR, before any IDAT (c2pa-rs and the XMP spec part 3 do the same).
  return planSplices(reader.size, xmpCarrierSplices(meta, xmpChunk, IHDR_END, write.stripC2pa), 'PNG');
}

export const pngContainer: ImageContainer = {
  format: 'png',
  read: readPng,
  planWrite: planPngWrite,
};

/** The C2PA manifest store of a complete PNG: the data of its single `caBX` chunk (undefined when none, two, or the chain is broken). */
export function pngC2paStore(bytes: Uint8Array): Uint8Array | undefined {
  if (!startsWith(bytes, PNG_SIGNATURE)) return undefined;
  const { chunks, intact } = chunksInMemory(bytes);
  const stores = chunks.filter((c) => c.type === 'caBX');
  return intact && stores.length === 1 ? stores[0]!.data : undefined;
}

/**
 * The chunk chain of a complete PNG held in memory, up to IEND (CRCs unchecked); `intact` is false
 * when a length runs past the end, and the list stops there.
 */
function chunksInMemory(bytes: Uint8Array): { chunks: { type: string; data: Uint8Array }[]; intact: boolean } {
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let at = 8; at + 12 <= bytes.length && chunks.length < MAX_CHUNKS; ) {
    const len = u32be(bytes, at);
    if (len > MAX_CHUNK_LENGTH || at + 12 + len > bytes.length) return { chunks, intact: false };
    const type = latin1(bytes.subarray(at + 4, at + 8));
    if (type === 'IEND') break;
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return { chunks, intact: true };
}

/** Pixels from the top-left corner of a PNG, as RGBA rows of `cols` pixels. */
export interface PngCorner {
  width: number;
  height: number;
  rows: number;
  cols: number;
  rgba: Uint8Array;
}

/** Output cap for the partial inflate below: a zlib bomb in IDAT is refused, not expanded. */
const MAX_CORNER_INFLATE = 64 * 1024 * 1024;

/** The first `n` bytes of a sequence of pieces, copied only when they span more than one. */
function prefixOf(pieces: Uint8Array[], n: number): Uint8Array {
  if (pieces[0] && pieces[0].length >= n) return pieces[0].subarray(0, n);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    if (at >= n) break;
    const take = Math.min(p.length, n - at);
    out.set(p.subarray(0, take), at);
    at += take;
  }
  return out;
}

/** PNG §9.4: the Paeth predictor. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes the top-left `wantRows` x `wantCols` pixels of a complete PNG without decoding the rest:
 * IDAT is inflated only as far as those rows (PNG §10), and each row is unfiltered only up to
 * those columns, which PNG §9 allows because every filter looks only left and up. Handles the
 * layouts stealth metadata lives in (8-bit RGBA or grey+alpha, not interlaced); undefined for
 * any other layout or a stream that does not reach the rows, which the caller decodes in full.
 */
export function pngCornerPixels(bytes: Uint8Array, wantRows: number, wantCols: number): PngCorner | undefined {
  if (bytes.length < IHDR_END || !startsWith(bytes, PNG_SIGNATURE) || latin1(bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const width = u32be(bytes, 16);
  const height = u32be(bytes, 20);
  const [depth, colourType, , , interlace] = bytes.subarray(24, 29);
  if (depth !== 8 || (colourType !== 6 && colourType !== 4) || interlace !== 0 || width === 0 || height === 0) return undefined;
  const channels = colourType === 6 ? 4 : 2;
  const rows = Math.min(wantRows, height);
  const cols = Math.min(wantCols, width);
  const rowBytes = 1 + width * channels;
  const need = rows * rowBytes;
  // The first run of IDAT chunks (they are consecutive, §5.6).
  const chunks = chunksInMemory(bytes).chunks;
  const idat: Uint8Array[] = [];
  for (let i = chunks.findIndex((c) => c.type === 'IDAT'); i >= 0 && chunks[i]?.type === 'IDAT'; i++) idat.push(chunks[i]!.data);
  const idatBytes = idat.reduce((n, d) => n + d.length, 0);
  // Inflate a prefix of the stream sized by the image's average compression ratio; if the rows
  // are not all out (the top compresses worse than the rest), grow it by the ratio seen, up to 16x.
  let raw: Uint8Array = new Uint8Array(0);
  for (let input = Math.min(idatBytes, Math.ceil((need / (height * rowBytes)) * idatBytes * 1.25) + 256); ; ) {
    try {
      raw = inflateSync(prefixOf(idat, input), { finishFlush: zlibConstants.Z_SYNC_FLUSH, chunkSize: Math.min(need + 1024, 1 << 22), maxOutputLength: MAX_CORNER_INFLATE });
    } catch {
      return undefined;
    }
    if (raw.length >= need || input >= idatBytes) break;
    const estimate = raw.length ? Math.ceil(((input * need) / raw.length) * 1.1) : 0;
    input = Math.min(idatBytes, input * 16, Math.max(input * 2, estimate));
  }
  if (raw.length < need) return undefined;
  const rgba = new Uint8Array(rows * cols * 4);
  const span = cols * channels;
  let prior = new Uint8Array(span);
  let line = new Uint8Array(span);
  for (let y = 0; y < rows; y++) {
    const filter = raw[y * rowBytes]!;
    const src = raw.subarray(y * rowBytes + 1, y * rowBytes + 1 + span);
    for (let i = 0; i < span; i++) {
      const left = i >= channels ? line[i - channels]! : 0;
      const up = prior[i]!;
      const f = src[i]!;
      switch (filter) {
        case 0: line[i] = f; break;
        case 1: line[i] = f + left; break;
        case 2: line[i] = f + up; break;
        case 3: line[i] = f + ((left + up) >> 1); break;
        case 4: line[i] = f + paeth(left, up, i >= channels ? prior[i - channels]! : 0); break;
        default: return undefined;
      }
    }
    for (let x = 0, o = y * cols * 4; x < cols; x++, o += 4) {
      if (channels === 4) {
        rgba.set(line.subarray(x * 4, x * 4 + 4), o);
      } else {
        rgba.fill(line[x * 2]!, o, o + 3);
        rgba[o + 3] = line[x * 2 + 1]!;
      }
    }
    [prior, line] = [line, prior];
  }
  return { width, height, rows, cols, rgba };
}
