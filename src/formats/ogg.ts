import { ascii, concat, latin1, putU32le, startsWith, u32le } from '../core/bytes.js';
import type { EditPlan, Piece } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { buildVorbisComments, labelVorbisComments, parseVorbisComments, vorbisTexts, type VorbisComments } from './flac.js';
import type { AvContainer, AvMetadata, AvMetadataWrite } from './types.js';

/**
 * Ogg (RFC 3533) carrying Vorbis (Vorbis I spec §4.2, §A.2) or Opus (RFC 7845 §5): the label is
 * the same three Vorbis comments as FLAC, in the comment header packet. The header packets are
 * re-paged (lacing, CRC, granule positions) and, when their page count changes, every later page
 * of the stream gets its sequence number and CRC rewritten; packet bytes are copied untouched.
 */

const FORMAT = 'ogg';
const PAGE_HEADER = 27;
/** Header packets end by this many bytes in real files (cover art in comments: a few MB). */
const MAX_HEADER_BYTES = 64 << 20;
const FLAG = { CONTINUED: 1, BOS: 2, EOS: 4 } as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32: polynomial 0x04C11DB7, MSB first, initial value 0, no final XOR (RFC 3533 §6). */
export function oggCrc(data: Uint8Array, crc = 0): number {
  let c = crc;
  for (let i = 0; i < data.length; i++) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return c >>> 0;
}

export interface OggPage {
  offset: number;
  flags: number;
  granule: Uint8Array;
  serial: number;
  sequence: number;
  lacing: Uint8Array;
  dataOffset: number;
  dataLength: number;
  end: number;
}

export async function readOggPage(reader: ByteReader, offset: number): Promise<OggPage> {
  if (offset + PAGE_HEADER > reader.size) throw corrupt(FORMAT, 'truncated page header', offset);
  const h = await reader.read(offset, PAGE_HEADER);
  if (!startsWith(h, ascii('OggS')) || h[4] !== 0) throw corrupt(FORMAT, "missing 'OggS' page capture pattern", offset);
  const nsegs = h[26]!;
  const lacing = (await reader.read(offset + PAGE_HEADER, nsegs)).slice();
  const dataLength = lacing.reduce((n, v) => n + v, 0);
  const dataOffset = offset + PAGE_HEADER + nsegs;
  if (dataOffset + dataLength > reader.size) throw corrupt(FORMAT, 'page data runs past the end of the file', offset);
  return { offset, flags: h[5]!, granule: h.slice(6, 14), serial: u32le(h, 14), sequence: u32le(h, 18), lacing, dataOffset, dataLength, end: dataOffset + dataLength };
}

/** How far bytes between pages are skipped looking for the next capture pattern. */
const MAX_RESYNC_BYTES = 64 << 10;

/**
 * The offset of the page at or after `at`: bytes between pages that are no page (a tag editor's
 * zero padding) are skipped, as libogg's ogg_sync_pageseek does; a write leaves them out.
 */
async function syncToPage(reader: ByteReader, at: number): Promise<number> {
  const window = await reader.read(at, Math.min(MAX_RESYNC_BYTES, reader.size - at));
  const i = Buffer.from(window.buffer, window.byteOffset, window.byteLength).indexOf('OggS');
  return i < 0 ? at : at + i;
}

type Codec = 'vorbis' | 'opus';

interface OggHeaders {
  codec: Codec;
  serial: number;
  /** Header packets, in order (Vorbis: identification, comment, setup; Opus: OpusHead, OpusTags). */
  packets: Uint8Array[];
  /** The pages holding them; the last one ends with the last header packet. */
  pages: OggPage[];
}

function codecOf(first: Uint8Array): Codec {
  if (startsWith(first, Uint8Array.of(0x01, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73))) return 'vorbis';
  if (startsWith(first, ascii('OpusHead'))) return 'opus';
  throw new TamgaError('UNSUPPORTED_FORMAT', `Ogg stream of '${latin1(first.subarray(0, 8)).replace(/[^\x20-\x7e]/g, '.')}': tamga labels Ogg Vorbis and Ogg Opus`, { format: FORMAT });
}

/** Reads pages from the start until the header packets are complete. */
async function readHeaders(reader: ByteReader): Promise<OggHeaders> {
  const pages: OggPage[] = [];
  const packets: Uint8Array[] = [];
  let partial: Uint8Array[] = [];
  let codec: Codec | undefined;
  let serial = 0;
  let bytes = 0;
  for (let at = 0; ; ) {
    const page = await readOggPage(reader, at === 0 ? 0 : await syncToPage(reader, at));
    if (pages.length === 0) {
      if (!(page.flags & FLAG.BOS)) throw corrupt(FORMAT, 'the first page is not a beginning-of-stream page', at);
      serial = page.serial;
    } else if (page.serial !== serial && !(page.flags & FLAG.BOS)) {
      throw corrupt(FORMAT, `page of stream ${page.serial} inside the headers of stream ${serial}`, at);
    } else if (page.serial !== serial || page.flags & FLAG.BOS) {
      throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: a multiplexed Ogg file (more than one logical stream); tamga labels single-stream Ogg audio`, { format: FORMAT });
    }
    if (page.sequence !== pages.length) throw corrupt(FORMAT, `page sequence ${page.sequence}, expected ${pages.length}`, at);
    pages.push(page);
    bytes += page.end - page.offset;
    if (bytes > MAX_HEADER_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: Ogg header packets over ${MAX_HEADER_BYTES} bytes`, { limit: MAX_HEADER_BYTES });
    const data = await reader.read(page.dataOffset, page.dataLength);
    let pos = 0;
    let segStart = 0;
    for (let i = 0; i < page.lacing.length; i++) {
      pos += page.lacing[i]!;
      if (page.lacing[i]! < 255) {
        partial.push(data.subarray(segStart, pos));
        packets.push(concat(partial));
        partial = [];
        segStart = pos;
        if (packets.length === 1) codec = codecOf(packets[0]!);
      }
    }
    if (segStart < pos) partial.push(data.subarray(segStart, pos));
    if (pages.length === 1 && (packets.length !== 1 || partial.length)) throw corrupt(FORMAT, 'the first page must hold exactly the identification header', at);
    const need = codec === 'vorbis' ? 3 : 2;
    if (codec && packets.length >= need) {
      // Both specs end the last header packet at a page boundary; audio starts on a fresh page.
      if (packets.length > need || partial.length) throw corrupt(FORMAT, 'audio data shares a page with the header packets', page.offset);
      return { codec, serial, packets, pages };
    }
    at = page.end;
  }
}

/** Where the Vorbis comment structure sits inside the comment packet, and what follows it. */
function commentSpan(codec: Codec, packet: Uint8Array): { prefix: Uint8Array; vc: VorbisComments; suffix: Uint8Array } {
  const prefix = codec === 'vorbis' ? Uint8Array.of(0x03, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73) : ascii('OpusTags');
  if (!startsWith(packet, prefix)) throw corrupt(FORMAT, `the second header packet is not a ${codec} comment header`);
  const vc = parseVorbisComments(packet.subarray(prefix.length), FORMAT);
  const used = buildVorbisComments(vc).length;
  // Vorbis: the framing bit byte; Opus: optional binary data after the comments. Both kept.
  return { prefix, vc, suffix: packet.subarray(prefix.length + used) };
}

/** Lacing values of packets, and where each packet ends (segment index). */
function lace(packets: readonly Uint8Array[]): { segments: number[]; packetEnds: Set<number> } {
  const segments: number[] = [];
  const packetEnds = new Set<number>();
  for (const p of packets) {
    for (let n = p.length; ; n -= 255) {
      segments.push(Math.min(n, 255));
      if (n < 255) break;
    }
    packetEnds.add(segments.length - 1);
  }
  return { segments, packetEnds };
}

function pageBytes(flags: number, granule: Uint8Array, serial: number, sequence: number, lacing: readonly number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(PAGE_HEADER + lacing.length + body.length);
  out.set(ascii('OggS'), 0);
  out[5] = flags;
  out.set(granule, 6);
  putU32le(out, 14, serial);
  putU32le(out, 18, sequence);
  out[26] = lacing.length;
  out.set(lacing, PAGE_HEADER);
  out.set(body, PAGE_HEADER + lacing.length);
  putU32le(out, 22, oggCrc(out));
  return out;
}

const NO_GRANULE = new Uint8Array(8).fill(0xff);

/**
 * Pages for the header packets after the first (which keeps its own page). `pageCount` pages
 * when the segments allow it, so later pages keep their sequence numbers.
 */
function pageHeaders(packets: readonly Uint8Array[], serial: number, firstSequence: number, pageCount: number): Uint8Array[] {
  const { segments, packetEnds } = lace(packets);
  const body = concat(packets as Uint8Array[]);
  const minPages = Math.ceil(segments.length / 255);
  const pages = Math.max(minPages, Math.min(pageCount, segments.length));
  const out: Uint8Array[] = [];
  let seg = 0;
  let byte = 0;
  let continued = false;
  for (let i = 0; i < pages; i++) {
    const take = Math.min(255, segments.length - seg - (pages - i - 1));
    const lacing = segments.slice(seg, seg + take);
    const len = lacing.reduce((n, v) => n + v, 0);
    let endsPacket = false;
    for (let k = seg; k < seg + take; k++) if (packetEnds.has(k)) endsPacket = true;
    // Header pages on which a packet ends have granule position 0; others -1 (RFC 7845 §5, Vorbis §A.2).
    out.push(pageBytes(continued ? FLAG.CONTINUED : 0, endsPacket ? new Uint8Array(8) : NO_GRANULE, serial, firstSequence + i, lacing, body.subarray(byte, byte + len)));
    continued = !packetEnds.has(seg + take - 1);
    seg += take;
    byte += len;
  }
  return out;
}

export const oggContainer: AvContainer = {
  formats: ['ogg'],

  async read(reader: ByteReader): Promise<AvMetadata> {
    const h = await readHeaders(reader);
    const { vc } = commentSpan(h.codec, h.packets[1]!);
    const first = h.pages[1]!;
    const last = h.pages[h.pages.length - 1]!;
    return { format: 'ogg', texts: vorbisTexts(vc, { name: `ogg:${h.codec}-comment`, offset: first.offset, length: last.end - first.offset }) };
  },

  async planWrite(reader: ByteReader, _meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const h = await readHeaders(reader);
    const { prefix, vc, suffix } = commentSpan(h.codec, h.packets[1]!);
    const comment = concat([prefix, buildVorbisComments(labelVorbisComments(vc, write, 'tamga')), suffix]);
    const oldCount = h.pages.length - 1;
    const headerPages = pageHeaders([comment, ...h.packets.slice(2)], h.serial, 1, oldCount);
    const headerEnd = h.pages[h.pages.length - 1]!.end;
    const plan: Piece[] = [{ copy: [0, h.pages[0]!.end] }, ...headerPages.map((bytes) => ({ bytes }))];
    const shift = headerPages.length - oldCount;
    if (shift === 0) {
      plan.push({ copy: [headerEnd, reader.size] });
      return plan;
    }
    // Page sequence numbers of the rest of the stream move by `shift`; each page's CRC follows.
    for (let at = headerEnd; at < reader.size; ) {
      const page = await readOggPage(reader, await syncToPage(reader, at));
      if (page.serial !== h.serial) throw corrupt(FORMAT, 'a page of another logical stream', at);
      const head = (await reader.read(page.offset, PAGE_HEADER + page.lacing.length)).slice();
      putU32le(head, 18, page.sequence + shift);
      putU32le(head, 22, 0);
      putU32le(head, 22, oggCrc(await reader.read(page.dataOffset, page.dataLength), oggCrc(head)));
      plan.push({ bytes: head }, { copy: [page.dataOffset, page.end] });
      at = page.end;
    }
    return plan;
  },
};
