import { ascii, latin1, putU24le, putU32le, startsWith, u16le, u32le } from '../core/bytes.js';
import type { EditPlan, Piece } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import type { ContainerMetadata, ImageContainer, MetadataWrite } from './types.js';

/**
 * RIFF (Microsoft RIFF / the WebP container spec): `RIFF`, u32 LE size, form type, then chunks of
 * FourCC + u32 LE size + data + one pad byte when the size is odd. Shared by WebP, WAV and AVI.
 */

/** Real files have a handful of top-level chunks (animated WebP: one per frame); this bounds a hostile walk. */
const MAX_RIFF_CHUNKS = 1 << 20;

export interface RiffChunk {
  /** FourCC, e.g. `VP8X`, `XMP `, `data`. */
  id: string;
  /** Offset of the chunk header. */
  offset: number;
  /** Payload size from the header (without the pad byte). */
  size: number;
  dataOffset: number;
  /** Offset after the chunk, pad byte included when present. */
  end: number;
  /** Lenient reads only: the size field as stored, when `size` was taken from the file length instead (streamed WAV). */
  storedSize?: number;
}

export interface RiffFile {
  /** Form type at offset 8: `WEBP`, `WAVE`, `AVI `. */
  form: string;
  /** End of the RIFF data (8 + RIFF size); bytes after it are trailing junk, ignored. */
  end: number;
  chunks: RiffChunk[];
  /** Lenient reads only: the RIFF size field was 0, 0xFFFFFFFF or past the file, so `end` is the file length. */
  sizeFromFile?: boolean;
}

export interface ReadRiffOptions {
  /**
   * Streaming writers (ffmpeg to a pipe, recorders) leave the RIFF and `data` sizes at 0 or
   * 0xFFFFFFFF, or cut the file short: take those sizes from the file length instead of failing.
   */
  lenient?: boolean;
}

/**
 * Walks the top-level chunks. A file longer than its RIFF size is tolerated (the rest is ignored);
 * a RIFF size beyond the file, or a chunk running past the RIFF data, is CORRUPT_INPUT (except
 * what `lenient` allows for streamed WAV).
 */
export async function readRiffChunks(reader: ByteReader, format = 'riff', opts: ReadRiffOptions = {}): Promise<RiffFile> {
  const head = await reader.read(0, 12);
  if (!startsWith(head, ascii('RIFF'))) throw corrupt(format, 'missing RIFF header', 0);
  const riffSize = u32le(head, 4);
  let sizeFromFile = Boolean(opts.lenient) && (riffSize === 0 || riffSize === 0xffffffff || 8 + riffSize > reader.size);
  let end = sizeFromFile ? reader.size : 8 + riffSize;
  if (!sizeFromFile && riffSize < 4) throw corrupt(format, `RIFF size ${riffSize} is too small`, 4);
  if (end > reader.size) throw corrupt(format, `truncated: the RIFF header declares ${end} bytes but the file has ${reader.size}`, 4);
  const chunks: RiffChunk[] = [];
  let at = 12;
  while (at < end) {
    if (chunks.length >= MAX_RIFF_CHUNKS) throw corrupt(format, `more than ${MAX_RIFF_CHUNKS} chunks`, at);
    if (at + 8 > end) throw corrupt(format, 'truncated chunk header', at);
    const h = await reader.read(at, 8);
    const id = latin1(h.subarray(0, 4));
    const storedSize = u32le(h, 4);
    if (opts.lenient && !sizeFromFile && at + 8 + storedSize > end && at + 8 + storedSize <= reader.size) {
      // A RIFF size too small for the chunks the file holds (exiftool: "Incorrect RIFF chunk
      // size"): the chunks decide, and a write puts the right size in the header.
      sizeFromFile = true;
      end = reader.size;
    }
    // A streamed `data` chunk runs to the end of the file whatever its size field says.
    const streamed = opts.lenient && id === 'data' && (storedSize === 0xffffffff || at + 8 + storedSize > end || (storedSize === 0 && sizeFromFile));
    const size = streamed ? end - at - 8 : storedSize;
    const dataEnd = at + 8 + size;
    if (dataEnd > end) throw corrupt(format, `chunk '${id}' of ${size} bytes runs past the end of the RIFF data (${end})`, at);
    // A missing pad byte after the last chunk is a common writer slip; tolerate it.
    const chunkEnd = Math.min(dataEnd + (size & 1), end);
    chunks.push({ id, offset: at, size, dataOffset: at + 8, end: chunkEnd, ...(size !== storedSize ? { storedSize } : {}) });
    at = chunkEnd;
  }
  return { form: latin1(head.subarray(8, 12)), end, chunks, ...(sizeFromFile ? { sizeFromFile } : {}) };
}

/** A chunk with its pad byte (RIFF: odd sizes are followed by one 0x00). */
export function riffChunk(id: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length + (data.length & 1));
  out.set(ascii(id), 0);
  putU32le(out, 4, data.length);
  out.set(data, 8);
  return out;
}

// ---------------------------------------------------------------------------------------------
// WebP (Google "WebP Container Specification"; labelling-standards.md §2.3)

const FORMAT = 'webp';

/** VP8X flag bits (byte 0 of its payload). */
export const VP8X_FLAG = { ICC: 0x20, ALPHA: 0x10, EXIF: 0x08, XMP: 0x04, ANIMATION: 0x02 } as const;
const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X']);
/** Some writers prefix the EXIF chunk's TIFF data with the JPEG APP1 signature. */
const EXIF_APP1_PREFIX = ascii('Exif\0\0');

async function readWebpChunks(reader: ByteReader): Promise<RiffFile> {
  const riff = await readRiffChunks(reader, FORMAT);
  if (riff.form !== 'WEBP') throw corrupt(FORMAT, `RIFF form type is '${riff.form}', not 'WEBP'`, 8);
  const first = riff.chunks[0];
  if (!first || !IMAGE_CHUNKS.has(first.id)) throw corrupt(FORMAT, `first chunk must be 'VP8 ', 'VP8L' or 'VP8X', found '${first?.id ?? 'none'}'`, 12);
  if (first.id === 'VP8X' && first.size < 10) throw corrupt(FORMAT, `VP8X chunk of ${first.size} bytes (expected 10)`, first.offset);
  return riff;
}

const chunkData = (reader: ByteReader, c: RiffChunk): Promise<Uint8Array> => reader.read(c.dataOffset, c.size);

/** Canvas size and alpha of a simple-format file, from its bitstream header. */
async function simpleImageInfo(reader: ByteReader, image: RiffChunk): Promise<{ width: number; height: number; alpha: boolean }> {
  if (image.id === 'VP8 ') {
    // RFC 6386 §9.1: 3-byte frame tag (bit 0 = 0 for a key frame), start code 9D 01 2A,
    // then u16 LE width and height whose top 2 bits are the scaling mode.
    if (image.size < 10) throw corrupt(FORMAT, 'VP8 chunk too short for a frame header', image.offset);
    const b = await reader.read(image.dataOffset, 10);
    if ((b[0]! & 1) !== 0 || b[3] !== 0x9d || b[4] !== 0x01 || b[5] !== 0x2a) throw corrupt(FORMAT, 'VP8 bitstream does not start with a key frame', image.dataOffset);
    const width = u16le(b, 6) & 0x3fff;
    const height = u16le(b, 8) & 0x3fff;
    if (!width || !height) throw corrupt(FORMAT, 'VP8 frame of zero size', image.dataOffset);
    return { width, height, alpha: false };
  }
  // WebP lossless bitstream spec §3.1: signature 0x2F, then LSB-first 14 bits width-1,
  // 14 bits height-1, 1 bit alpha_is_used, 3 bits version (0).
  if (image.size < 5) throw corrupt(FORMAT, 'VP8L chunk too short for its header', image.offset);
  const b = await reader.read(image.dataOffset, 5);
  const bits = u32le(b, 1);
  if (b[0] !== 0x2f || bits >>> 29 !== 0) throw corrupt(FORMAT, 'VP8L bitstream has a bad signature or version', image.dataOffset);
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 };
}

export const webpContainer: ImageContainer = {
  format: 'webp',

  async read(reader: ByteReader): Promise<ContainerMetadata> {
    const riff = await readWebpChunks(reader);
    const meta: ContainerMetadata = { format: 'webp', texts: [] };
    const carrier = (name: string, c: RiffChunk) => ({ name, offset: c.offset, length: c.end - c.offset });
    // The first chunk of each kind counts; a writer emitting two is broken and we rewrite one.
    for (const c of riff.chunks) {
      if (c.id === 'XMP ' && !meta.xmp) meta.xmp = { packet: (await chunkData(reader, c)).slice(), carrier: carrier('webp:XMP', c) };
      else if (c.id === 'EXIF' && !meta.exif) {
        const data = await chunkData(reader, c);
        const tiff = startsWith(data, EXIF_APP1_PREFIX) ? data.subarray(EXIF_APP1_PREFIX.length) : data;
        meta.exif = { tiff: tiff.slice(), carrier: carrier('webp:EXIF', c) };
      } else if (c.id === 'C2PA' && !meta.c2pa) meta.c2pa = carrier('webp:C2PA', c);
    }
    return meta;
  },

  /**
   * The XMP chunk replaces the first existing one in place, or goes at the end, after the image,
   * ANIM/ANMF and EXIF chunks (container spec chunk order). A simple file gets a VP8X chunk first,
   * since metadata chunks are valid only in the extended format. `exifIfd0Text` is ignored: the
   * XMP packet carries the label for WebP and EXIF text is only required of JPEG.
   */
  async planWrite(reader: ByteReader, _meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan> {
    const riff = await readWebpChunks(reader);
    const first = riff.chunks[0]!;
    const riffSizeField = new Uint8Array(4);
    const body: Piece[] = [];

    if (first.id === 'VP8X') {
      const flags = (await reader.read(first.dataOffset, 1))[0]!;
      body.push({ copy: [first.offset, first.dataOffset] }, { bytes: Uint8Array.of(flags | VP8X_FLAG.XMP) }, { copy: [first.dataOffset + 1, first.end] });
    } else {
      const { width, height, alpha } = await simpleImageInfo(reader, first);
      const has = (id: string) => riff.chunks.some((c) => c.id === id);
      let flags = VP8X_FLAG.XMP;
      if (alpha || has('ALPH')) flags |= VP8X_FLAG.ALPHA;
      // Metadata chunks some writers put in simple files keep their meaning once the file is extended.
      if (has('EXIF')) flags |= VP8X_FLAG.EXIF;
      if (has('ICCP')) flags |= VP8X_FLAG.ICC;
      const vp8x = new Uint8Array(10);
      vp8x[0] = flags;
      putU24le(vp8x, 4, width - 1);
      putU24le(vp8x, 7, height - 1);
      body.push({ bytes: riffChunk('VP8X', vp8x) }, { copy: [first.offset, first.end] });
      if (first.end - first.dataOffset < first.size + (first.size & 1)) body.push({ bytes: new Uint8Array(1) });
    }

    const xmpChunk = riffChunk('XMP ', write.xmp);
    let xmpPlaced = false;
    for (const c of riff.chunks.slice(1)) {
      if (c.id === 'XMP ') {
        if (!xmpPlaced) body.push({ bytes: xmpChunk });
        xmpPlaced = true;
        continue;
      }
      if (c.id === 'C2PA' && write.stripC2pa) continue;
      body.push({ copy: [c.offset, c.end] });
      // Restore a pad byte the input left out, since a chunk may now follow.
      if (c.end - c.dataOffset < c.size + (c.size & 1)) body.push({ bytes: new Uint8Array(1) });
    }
    if (!xmpPlaced) body.push({ bytes: xmpChunk });

    const riffBytes = 4 + body.reduce((n, p) => n + ('bytes' in p ? p.bytes.length : p.copy[1] - p.copy[0]), 0);
    if (riffBytes > 0xfffffffe) throw new TamgaError('METADATA_TOO_LARGE', 'the WebP file would exceed the 4 GiB RIFF limit', { size: riffBytes + 8 });
    putU32le(riffSizeField, 0, riffBytes);
    // Bytes after the RIFF data are not ours to judge; they are kept after it, as they were.
    return [{ copy: [0, 4] }, { bytes: riffSizeField }, { copy: [8, 12] }, ...body, { copy: [riff.end, reader.size] }];
  },
};

/** The C2PA manifest store of a complete WebP: the data of its single `C2PA` chunk (undefined when none, two, or the chain is broken). */
export function webpC2paStore(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 12 || latin1(bytes.subarray(0, 4)) !== 'RIFF' || latin1(bytes.subarray(8, 12)) !== 'WEBP') return undefined;
  const limit = Math.min(bytes.length, 8 + u32le(bytes, 4));
  let found: Uint8Array | undefined;
  for (let at = 12; at + 8 <= limit; ) {
    const size = u32le(bytes, at + 4);
    const end = at + 8 + size;
    if (end > limit) return undefined;
    if (latin1(bytes.subarray(at, at + 4)) === 'C2PA') {
      if (found) return undefined;
      found = bytes.subarray(at + 8, end);
    }
    at = end + (size & 1);
  }
  return found;
}
