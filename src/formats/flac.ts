import { ascii, concat, encodeUtf8, startsWith, u32le, putU32le } from '../core/bytes.js';
import { planLength, type EditPlan, type Piece } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { AIGC_FIELD, TAMGA_FIELD } from './fields.js';
import { id3TagLength } from '../core/sniff.js';
import { id3Metadata, readId3Tag } from './id3.js';
import type { AvContainer, AvMetadata, AvMetadataWrite, Carrier } from './types.js';

/**
 * FLAC (RFC 9639) metadata blocks, and the Vorbis comment structure they share with Ogg
 * (Vorbis I spec §5). No XMP block is standardised for FLAC (labelling-standards.md §2.10), so
 * the label is three comments: `AIGC` (TC260 JSON), `TAMGA` (tamga's record) and a `COMMENT`
 * with the disclosure. A PADDING block absorbs the growth when it is large enough, so the audio
 * frames keep their offsets.
 */

const FORMAT = 'flac';
const BLOCK = { STREAMINFO: 0, PADDING: 1, VORBIS_COMMENT: 4 } as const;
const MAX_BLOCK = (1 << 24) - 1;
/** A walk bound: real files have a handful of blocks (a few pictures at most). */
const MAX_BLOCKS = 4096;
/** Padding added when the audio has to move anyway, so the next edit need not move it again. */
const NEW_PADDING = 1024;

// ---------------------------------------------------------------------------------------------
// Vorbis comments: u32 LE vendor length, vendor, u32 LE count, then u32 LE length + `NAME=value`.

export interface VorbisComments {
  vendor: string;
  /** In file order, names as written (compare case-insensitively). */
  comments: { name: string; value: string }[];
}

export function parseVorbisComments(b: Uint8Array, format = FORMAT, offset = 0): VorbisComments {
  const bad = (what: string) => corrupt(format, `Vorbis comment: ${what}`, offset);
  if (b.length < 8) throw bad('truncated');
  const vlen = u32le(b, 0);
  if (4 + vlen + 4 > b.length) throw bad('vendor string runs past the block');
  const vendor = Buffer.from(b.subarray(4, 4 + vlen)).toString('utf8');
  const count = u32le(b, 4 + vlen);
  let at = 8 + vlen;
  // Each comment needs at least its 4-byte length: a hostile count cannot make us loop for long.
  if (count > (b.length - at) / 4) throw bad(`${count} comments cannot fit in ${b.length} bytes`);
  const comments: VorbisComments['comments'] = [];
  for (let i = 0; i < count; i++) {
    if (at + 4 > b.length) throw bad('truncated comment list');
    const len = u32le(b, at);
    if (at + 4 + len > b.length) throw bad('comment runs past the block');
    const s = Buffer.from(b.subarray(at + 4, at + 4 + len)).toString('utf8');
    const eq = s.indexOf('=');
    comments.push(eq < 0 ? { name: s, value: '' } : { name: s.slice(0, eq), value: s.slice(eq + 1) });
    at += 4 + len;
  }
  return { vendor, comments };
}

export function buildVorbisComments(vc: VorbisComments): Uint8Array {
  const parts: Uint8Array[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    putU32le(b, 0, n);
    return b;
  };
  const vendor = encodeUtf8(vc.vendor);
  parts.push(u32(vendor.length), vendor, u32(vc.comments.length));
  for (const c of vc.comments) {
    const s = encodeUtf8(`${c.name}=${c.value}`);
    parts.push(u32(s.length), s);
  }
  return concat(parts);
}

/** Our comments replace earlier ones (and an earlier disclosure); every other comment is kept. */
export function labelVorbisComments(existing: VorbisComments | undefined, write: AvMetadataWrite, vendor: string): VorbisComments {
  const owned = new Set([AIGC_FIELD.toUpperCase(), TAMGA_FIELD.toUpperCase()]);
  const kept = (existing?.comments ?? []).filter((c) => {
    const n = c.name.toUpperCase();
    if (owned.has(n)) return false;
    return !(n === 'COMMENT' && (c.value === write.comment || (write.previousComment !== undefined && c.value === write.previousComment)));
  });
  return {
    vendor: existing?.vendor ?? vendor,
    comments: [...kept, { name: AIGC_FIELD, value: write.aigc }, { name: TAMGA_FIELD.toUpperCase(), value: write.tamga }, { name: 'COMMENT', value: write.comment }],
  };
}

export function vorbisTexts(vc: VorbisComments, carrier: Carrier): AvMetadata['texts'] {
  return vc.comments.map((c) => ({ kind: 'vorbis:comment', key: c.name, text: c.value, carrier }));
}

// ---------------------------------------------------------------------------------------------
// FLAC metadata blocks

export interface FlacBlock {
  type: number;
  offset: number;
  /** Payload length (the header is 4 bytes). */
  length: number;
  last: boolean;
}

/**
 * The metadata blocks, after `fLaC` at `start`: 0, or the end of a leading ID3v2 tag, which is
 * kept as it is (the label goes in the Vorbis comment, where FLAC readers look).
 */
export async function readFlacBlocks(reader: ByteReader): Promise<{ blocks: FlacBlock[]; audioStart: number; start: number }> {
  const start = id3TagLength(await reader.read(0, Math.min(10, reader.size)));
  if (start + 4 > reader.size || !startsWith(await reader.read(start, 4), ascii('fLaC'))) throw corrupt(FORMAT, "missing 'fLaC' marker", start);
  const blocks: FlacBlock[] = [];
  let at = start + 4;
  for (;;) {
    if (blocks.length >= MAX_BLOCKS) throw corrupt(FORMAT, `more than ${MAX_BLOCKS} metadata blocks`, at);
    const h = await reader.read(at, 4);
    const type = h[0]! & 0x7f;
    const length = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
    if (type === 127) throw corrupt(FORMAT, 'invalid metadata block type 127', at);
    if (blocks.length === 0 && type !== BLOCK.STREAMINFO) throw corrupt(FORMAT, 'the first metadata block is not STREAMINFO', at);
    if (at + 4 + length > reader.size) throw corrupt(FORMAT, `metadata block of ${length} bytes runs past the end of the file`, at);
    const last = (h[0]! & 0x80) !== 0;
    blocks.push({ type, offset: at, length, last });
    at += 4 + length;
    if (last) break;
  }
  return { blocks, audioStart: at, start };
}

function blockHeader(type: number, length: number, last: boolean): Uint8Array {
  if (length > MAX_BLOCK) throw new TamgaError('METADATA_TOO_LARGE', `FLAC metadata block of ${length} bytes exceeds ${MAX_BLOCK}`, { size: length });
  return Uint8Array.of((last ? 0x80 : 0) | type, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

export const flacContainer: AvContainer = {
  formats: ['flac'],

  async read(reader: ByteReader): Promise<AvMetadata> {
    const { blocks, start } = await readFlacBlocks(reader);
    const meta: AvMetadata = { format: 'flac', texts: [] };
    // A leading ID3v2 tag's frames are read too (an older label, a C2PA GEOB); the tag is never rewritten.
    if (start > 0) {
      try {
        id3Metadata(await readId3Tag(reader, 0), meta);
      } catch (e) {
        // A damaged ID3 tag in front of a sound FLAC stream is no reason to lose its Vorbis comment.
        if (!(e instanceof TamgaError)) throw e;
      }
    }
    for (const b of blocks.filter((k) => k.type === BLOCK.VORBIS_COMMENT)) {
      const vc = parseVorbisComments(await reader.read(b.offset + 4, b.length), FORMAT, b.offset);
      meta.texts.push(...vorbisTexts(vc, { name: 'flac:VORBIS_COMMENT', offset: b.offset, length: 4 + b.length }));
    }
    return meta;
  },

  async planWrite(reader: ByteReader, _meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const { blocks, audioStart, start } = await readFlacBlocks(reader);
    const vcBlock = blocks.find((b) => b.type === BLOCK.VORBIS_COMMENT);
    const existing = vcBlock ? parseVorbisComments(await reader.read(vcBlock.offset + 4, vcBlock.length), FORMAT, vcBlock.offset) : undefined;
    const vc = buildVorbisComments(labelVorbisComments(existing, write, 'tamga'));
    // Blocks in order: the Vorbis comment replaces the first one, or follows STREAMINFO; later duplicates are dropped.
    type Out = { type: number; body: Piece };
    const out: Out[] = [];
    for (const b of blocks) {
      if (b.type === BLOCK.VORBIS_COMMENT) {
        if (b === vcBlock) out.push({ type: b.type, body: { bytes: vc } });
        continue;
      }
      out.push({ type: b.type, body: { copy: [b.offset + 4, b.offset + 4 + b.length] } });
      if (b.type === BLOCK.STREAMINFO && !vcBlock) out.push({ type: BLOCK.VORBIS_COMMENT, body: { bytes: vc } });
    }
    const size = (p: Piece) => planLength([p]);
    const metaEnd = () => start + 4 + out.reduce((n, o) => n + 4 + size(o.body), 0);
    // Keep the audio where it was when the padding can absorb the difference.
    const pad = out.findIndex((o) => o.type === BLOCK.PADDING);
    const grow = metaEnd() - audioStart;
    if (pad >= 0) {
      const room = size(out[pad]!.body) - grow;
      if (room >= 0) out[pad] = { type: BLOCK.PADDING, body: { bytes: new Uint8Array(room) } };
      else if (room === -4) out.splice(pad, 1);
    } else if (grow !== 0) out.push({ type: BLOCK.PADDING, body: { bytes: new Uint8Array(NEW_PADDING) } });
    const plan: Piece[] = [{ copy: [0, start + 4] }];
    out.forEach((o, i) => plan.push({ bytes: blockHeader(o.type, size(o.body), i === out.length - 1) }, o.body));
    plan.push({ copy: [audioStart, reader.size] });
    return plan;
  },
};
