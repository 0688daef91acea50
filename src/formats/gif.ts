import { ascii, latin1, startsWith } from '../core/bytes.js';
import { planSplices, type EditPlan } from '../core/edit.js';
import { xmpCarrierSplices } from './carriers.js';
import { corrupt, TamgaError } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { MAX_XMP_BYTES } from './types.js';
import type { Carrier, ContainerMetadata, ImageContainer, MetadataWrite } from './types.js';

/**
 * GIF (GIF89a spec): header, logical screen descriptor, optional global colour table, then a
 * sequence of extension blocks (0x21), image descriptors (0x2C) and the trailer (0x3B). Block data
 * is a chain of sub-blocks (length byte + up to 255 bytes, ended by a 0x00 length); we walk the
 * length bytes through the reader and never load image data.
 *
 * XMP (XMP Part 3 §1.1.2, labelling-standards.md §2.5): application extension `XMP DataXMP` whose
 * packet is stored raw, not split into sub-blocks, followed by a 258-byte "magic trailer" that
 * makes a generic sub-block skipper land on the block terminator. C2PA (§3.2): application
 * extension `C2PA_GIF` with ordinary sub-blocks.
 */

const XMP_APP_ID = ascii('XMP DataXMP');
/** Identifier `C2PA_GIF`; the 3-byte authentication code (`01 00 00` in c2pa-rs) is not checked. */
const C2PA_APP_ID = ascii('C2PA_GIF');
const EXTENSION = 0x21;
const IMAGE_DESCRIPTOR = 0x2c;
const TRAILER = 0x3b;
const APPLICATION_LABEL = 0xff;
const COMMENT_LABEL = 0xfe;
/** Comment text above this is left out of `texts` (sub-blocks are still walked). */
const MAX_COMMENT_BYTES = 8 * 1024 * 1024;

/**
 * The XMP magic trailer: 0x01, then 0xFF down to 0x00, then the 0x00 block terminator (258 bytes).
 * Whatever packet byte a sub-block skipper lands on, its jumps end inside this ramp and then on the
 * final terminator (c2pa-rs gif_io.rs counts 257 bytes plus the terminator).
 */
export const GIF_XMP_MAGIC_TRAILER: Uint8Array = (() => {
  const t = new Uint8Array(258);
  t[0] = 0x01;
  for (let i = 1; i <= 256; i++) t[i] = 256 - i;
  return t; // t[256] = 0x00 ends the ramp, t[257] = 0x00 terminates the block
})();
/** The ramp without the block terminator: what precedes the final 0x00. */
const MAGIC_RAMP = GIF_XMP_MAGIC_TRAILER.subarray(0, 257);

/** `21 FF 0B "XMP DataXMP"`, the raw packet, the magic trailer. */
export function buildGifXmpExtension(packet: Uint8Array): Uint8Array {
  // A NUL would read as a block terminator inside the unsplit packet and break every GIF reader.
  if (packet.includes(0)) {
    throw new TamgaError('INVALID_OPTION', 'xmp: a GIF XMP packet is stored unsplit and must not contain NUL bytes', { option: 'xmp' });
  }
  const out = new Uint8Array(3 + XMP_APP_ID.length + packet.length + GIF_XMP_MAGIC_TRAILER.length);
  out.set([EXTENSION, APPLICATION_LABEL, XMP_APP_ID.length]);
  out.set(XMP_APP_ID, 3);
  out.set(packet, 3 + XMP_APP_ID.length);
  out.set(GIF_XMP_MAGIC_TRAILER, 3 + XMP_APP_ID.length + packet.length);
  return out;
}

const byteAt = async (reader: ByteReader, at: number, what: string): Promise<number> => {
  if (at >= reader.size) throw corrupt('GIF', `truncated ${what}`, at);
  return (await reader.read(at, 1))[0]!;
};

/**
 * Walks a sub-block chain whose first length byte is at `pos`; returns the offset just past the
 * 0x00 terminator. `onData` sees each sub-block's data range.
 */
async function skipSubBlocks(reader: ByteReader, pos: number, onData?: (start: number, length: number) => void): Promise<number> {
  for (;;) {
    const n = await byteAt(reader, pos, 'data sub-blocks');
    if (n === 0) return pos + 1;
    onData?.(pos + 1, n);
    pos += 1 + n;
  }
}

/** Reads the ranges gathered by skipSubBlocks into one buffer. */
async function gather(reader: ByteReader, ranges: [number, number][], total: number): Promise<Uint8Array> {
  const out = new Uint8Array(total);
  let at = 0;
  for (const [start, length] of ranges) {
    out.set(await reader.read(start, length), at);
    at += length;
  }
  return out;
}

/** The packet of an XMP extension whose app id ends at `dataStart` and whose terminator is at `terminator`. */
async function readXmpPacket(reader: ByteReader, dataStart: number, terminator: number): Promise<Uint8Array> {
  const rawLength = terminator - dataStart;
  if (rawLength > MAX_XMP_BYTES + MAGIC_RAMP.length) throw corrupt('GIF', `XMP packet larger than ${MAX_XMP_BYTES} bytes`, dataStart);
  const raw = await reader.read(dataStart, rawLength);
  if (rawLength >= MAGIC_RAMP.length && startsWith(raw, MAGIC_RAMP, rawLength - MAGIC_RAMP.length)) {
    return raw.subarray(0, rawLength - MAGIC_RAMP.length);
  }
  // A writer with a different landing zone: like exiftool, keep the bytes up to the end of the xpacket trailer.
  const end = /<\?xpacket end=['"][wr]['"]\?>/.exec(latin1(raw));
  return end ? raw.subarray(0, end.index + end[0].length) : raw;
}

/** Comments are 7-bit ASCII by the spec; UTF-8 is common in practice, Latin-1 is the fallback. */
function decodeComment(b: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return latin1(b);
  }
}

interface GifLayout {
  meta: ContainerMetadata;
  version: '87a' | '89a';
  /** Offset of the 0x3B trailer byte: where a new XMP extension is inserted. */
  trailerOffset: number;
}

async function walkGif(reader: ByteReader): Promise<GifLayout> {
  // Header (6) + logical screen descriptor (7).
  if (reader.size < 13) throw corrupt('GIF', 'truncated header', 0);
  const head = await reader.read(0, 13);
  const signature = latin1(head.subarray(0, 6));
  if (signature !== 'GIF87a' && signature !== 'GIF89a') throw corrupt('GIF', 'bad signature', 0);
  const packed = head[10]!;
  // Global colour table: 3 * 2^(size+1) bytes when the flag (bit 7) is set.
  let pos = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  const meta: ContainerMetadata = { format: 'gif', texts: [] };
  let images = 0;

  for (;;) {
    const blockStart = pos;
    const introducer = await byteAt(reader, pos, 'file: no trailer (0x3B)');
    if (introducer === TRAILER) return { meta, version: signature === 'GIF87a' ? '87a' : '89a', trailerOffset: pos };

    if (introducer === IMAGE_DESCRIPTOR) {
      // Image descriptor: 0x2C, left, top, width, height (u16 each), packed; then local colour table,
      // LZW minimum code size, image data sub-blocks.
      if (pos + 11 > reader.size) throw corrupt('GIF', 'truncated image descriptor', pos);
      const descriptor = await reader.read(pos, 10);
      const flags = descriptor[9]!;
      const localTable = flags & 0x80 ? 3 << ((flags & 7) + 1) : 0;
      pos = await skipSubBlocks(reader, pos + 10 + localTable + 1);
      images++;
      continue;
    }
    if (introducer !== EXTENSION) {
      // Bytes that start no block after at least one image (a second GIF pasted on, junk in place
      // of the trailer) end the stream for GIF readers (Pillow, giflib): the XMP goes where the
      // trailer would be and those bytes are copied after it as they are.
      if (images > 0) return { meta, version: signature === 'GIF87a' ? '87a' : '89a', trailerOffset: pos };
      throw corrupt('GIF', `unknown block introducer 0x${introducer.toString(16).padStart(2, '0')}`, pos);
    }

    const label = await byteAt(reader, pos + 1, 'extension label');
    const dataStart = pos + 2;
    if (label === APPLICATION_LABEL && (await byteAt(reader, dataStart, 'application extension')) === 11) {
      const appId = await reader.read(dataStart + 1, Math.min(11, reader.size - dataStart - 1));
      if (startsWith(appId, XMP_APP_ID)) {
        // The generic skip is what GIF readers do, and the magic trailer makes it land on the terminator.
        pos = await skipSubBlocks(reader, dataStart);
        const carrier: Carrier = { name: 'gif:XMP', offset: blockStart, length: pos - blockStart };
        if (!meta.xmp) meta.xmp = { packet: await readXmpPacket(reader, dataStart + 12, pos - 1), carrier };
        continue;
      }
      if (startsWith(appId, C2PA_APP_ID)) {
        pos = await skipSubBlocks(reader, dataStart);
        if (!meta.c2pa) meta.c2pa = { name: 'gif:C2PA', offset: blockStart, length: pos - blockStart };
        continue;
      }
    }
    if (label === COMMENT_LABEL) {
      const ranges: [number, number][] = [];
      let total = 0;
      pos = await skipSubBlocks(reader, dataStart, (start, length) => {
        total += length;
        if (total <= MAX_COMMENT_BYTES) ranges.push([start, length]);
      });
      if (total <= MAX_COMMENT_BYTES) {
        const text = decodeComment(await gather(reader, ranges, total));
        meta.texts.push({ keyword: 'comment', text, carrier: { name: 'gif:comment', offset: blockStart, length: pos - blockStart } });
      }
      continue;
    }
    // Graphic control, plain text and other application extensions: skipped.
    pos = await skipSubBlocks(reader, dataStart);
  }
}

async function readGif(reader: ByteReader): Promise<ContainerMetadata> {
  const layout = await walkGif(reader);
  return { ...layout.meta, layout };
}


async function planGifWrite(reader: ByteReader, meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan> {
  if (meta.format !== 'gif') throw new TamgaError('INVALID_OPTION', `GIF: metadata of a ${meta.format} file passed to the GIF writer`, { option: 'meta' });
  // `write.exifIfd0Text` is ignored: GIF has no EXIF carrier.
  const layout = (meta.layout as GifLayout | undefined) ?? (await walkGif(reader));
  const xmpExtension = buildGifXmpExtension(write.xmp);
  // Replace in place, else insert just before the trailer (c2pa-rs gif_io.rs, XMP Part 3 practice).
  const splices = xmpCarrierSplices(meta, xmpExtension, layout.trailerOffset, write.stripC2pa);
  // Extensions are a GIF89a feature (§2.5): an 87a header is rewritten, everything after it copied.
  if (layout.version === '87a') splices.push({ at: 0, length: 6, bytes: ascii('GIF89a') });
  return planSplices(reader.size, splices, 'GIF');
}

export const gifContainer: ImageContainer = {
  format: 'gif',
  read: readGif,
  planWrite: planGifWrite,
};
