import { ascii, concat, encodeUtf8, latin1, putU32be, u32be } from '../core/bytes.js';
import { planSplices, type EditPlan } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { AIGC_FIELD, DISCLOSURE_DESCRIPTION, TAMGA_FIELD } from './fields.js';
import type { AvContainer, AvMetadata, AvMetadataWrite, AvText, Carrier } from './types.js';

/**
 * ID3v2 (id3.org "ID3 tag version 2.3.0" and "2.4.0 structure/frames"; labelling-standards.md
 * §2.9, §3.2): a 10-byte header `ID3` + version + flags + synchsafe size, then frames of a 4-char
 * id, a size (synchsafe in 2.4, plain in 2.3), two flag bytes and the data, then zero padding.
 * tamga writes TXXX `AIGC` (TC260 JSON), TXXX `tamga` (its record), COMM `AI disclosure` and a
 * PRIV frame owned by `XMP` with the packet (c2pa-rs `id3_helper.rs`). An existing 2.3/2.4 tag is
 * rewritten in its own version with every other frame kept; a new tag is 2.4.
 */

const FORMAT = 'id3';
const HEADER = 10;
/** Synchsafe 28-bit limit of the tag size. */
const MAX_TAG_BODY = (1 << 28) - 1;
/** Padding after the frames so later edits by other tools fit without moving the audio. */
export const ID3_PADDING = 1024;
const C2PA_MIMES = new Set(['application/c2pa', 'application/x-c2pa-manifest-store']);

export interface Id3Frame {
  id: string;
  /** Frame header offset in the file (inside an unsynchronised 2.3 tag: the tag's offset). */
  offset: number;
  /** Header + data bytes as stored. */
  length: number;
  /** The two format/status flag bytes, unsynchronisation flag cleared once `data` is decoded. */
  flags: [number, number];
  /** Frame data with unsynchronisation undone. */
  data: Uint8Array;
}

export interface Id3Tag {
  major: 2 | 3 | 4;
  /** Tag offset and end (header, extended header, frames, padding, footer). */
  offset: number;
  end: number;
  frames: Id3Frame[];
}

export const synchsafe = (b: Uint8Array, o: number): number => ((b[o]! & 0x7f) << 21) | ((b[o + 1]! & 0x7f) << 14) | ((b[o + 2]! & 0x7f) << 7) | (b[o + 3]! & 0x7f);

export function putSynchsafe(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 21) & 0x7f;
  b[o + 1] = (v >>> 14) & 0x7f;
  b[o + 2] = (v >>> 7) & 0x7f;
  b[o + 3] = v & 0x7f;
}

/** Undoes unsynchronisation: every `FF 00` becomes `FF`. */
export function deunsynchronise(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    out[n++] = b[i]!;
    if (b[i] === 0xff && b[i + 1] === 0x00) i++;
  }
  return out.subarray(0, n);
}

const isFrameId = (b: Uint8Array, o: number) => {
  for (let i = 0; i < 4; i++) {
    const c = b[o + i]!;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
};

/** Whether the bytes at `offset` start an ID3v2 header (`ID3`, version 2..4, valid synchsafe size). */
export async function hasId3At(reader: ByteReader, offset: number): Promise<boolean> {
  if (offset + HEADER > reader.size) return false;
  const h = await reader.read(offset, HEADER);
  return h[0] === 0x49 && h[1] === 0x44 && h[2] === 0x33 && h[3]! >= 2 && h[3]! <= 4 && h[4] !== 0xff && ((h[6]! | h[7]! | h[8]! | h[9]!) & 0x80) === 0;
}

/** Reads the ID3v2 tag at `offset` (its header and frames; nothing after it). */
export async function readId3Tag(reader: ByteReader, offset = 0): Promise<Id3Tag> {
  const h = await reader.read(offset, HEADER);
  if (h[0] !== 0x49 || h[1] !== 0x44 || h[2] !== 0x33) throw corrupt(FORMAT, 'missing ID3 header', offset);
  const major = h[3]!;
  if (major < 2 || major > 4) throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: ID3v2.${major} tag is not a version tamga reads`, { format: FORMAT });
  if ((h[6]! | h[7]! | h[8]! | h[9]!) & 0x80) throw corrupt(FORMAT, 'tag size is not synchsafe', offset + 6);
  const flags = h[5]!;
  const size = synchsafe(h, 6);
  const footer = major === 4 && flags & 0x10 ? HEADER : 0;
  const end = offset + HEADER + size + footer;
  if (end > reader.size) throw corrupt(FORMAT, `tag of ${size} bytes runs past the end of the file`, offset);
  const tag: Id3Tag = { major: major as 2 | 3 | 4, offset, end, frames: [] };
  // ID3v2.2 (3-char frame ids) predates every frame tamga reads or writes.
  if (major === 2) return tag;
  let body = await reader.read(offset + HEADER, size);
  const tagUnsync = (flags & 0x80) !== 0 && major === 3;
  if (tagUnsync) body = deunsynchronise(body);
  let at = 0;
  if (flags & 0x40) {
    // Extended header: 2.3 size excludes its own 4 bytes, 2.4 size is synchsafe and includes them.
    if (body.length < 4) throw corrupt(FORMAT, 'truncated extended header', offset + HEADER);
    at = major === 3 ? 4 + u32be(body, 0) : synchsafe(body, 0);
    if (at > body.length) throw corrupt(FORMAT, 'extended header runs past the tag', offset + HEADER);
  }
  while (at + HEADER <= body.length) {
    if (!isFrameId(body, at)) break; // padding (zeros) or junk after the last frame
    const id = latin1(body.subarray(at, at + 4));
    const fsize = major === 4 ? synchsafe(body, at + 4) : u32be(body, at + 4);
    if (at + HEADER + fsize > body.length) throw corrupt(FORMAT, `frame ${id} of ${fsize} bytes runs past the tag`, offset + HEADER + at);
    let f1 = body[at + 9]!;
    let data = body.subarray(at + HEADER, at + HEADER + fsize);
    if (major === 4 && f1 & 0x02) {
      data = deunsynchronise(data);
      f1 &= ~0x02;
    }
    const fileOffset = tagUnsync ? offset : offset + HEADER + at;
    tag.frames.push({ id, offset: fileOffset, length: HEADER + fsize, flags: [body[at + 8]!, f1], data: data.slice() });
    at += HEADER + fsize;
  }
  return tag;
}

// ---------------------------------------------------------------------------------------------
// Frame text (ID3v2.4 "4. Declared ID3v2 frames", text encodings $00..$03)

function decodeText(enc: number, b: Uint8Array): string {
  let s: string;
  if (enc === 0) s = latin1(b);
  else if (enc === 3) s = Buffer.from(b).toString('utf8');
  else if (enc === 1 || enc === 2) {
    let be = enc === 2;
    let start = 0;
    if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) (be = true), (start = 2);
    else if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) (be = false), (start = 2);
    const u = Buffer.from(b.subarray(start, start + ((b.length - start) & ~1)));
    if (be) u.swap16();
    s = u.toString('utf16le');
  } else s = latin1(b);
  return s.replace(/\0+$/, '');
}

/** Splits at the encoding's terminator (one NUL, or an aligned NUL pair for UTF-16). */
function splitTerminated(enc: number, b: Uint8Array, from = 0): [Uint8Array, number] {
  if (enc === 1 || enc === 2) {
    for (let i = from; i + 1 < b.length; i += 2) if (b[i] === 0 && b[i + 1] === 0) return [b.subarray(from, i), i + 2];
  } else {
    const i = b.indexOf(0, from);
    if (i >= 0) return [b.subarray(from, i), i + 1];
  }
  return [b.subarray(from), b.length];
}

/** TXXX / COMM split into description and value; T*** text frames have only the value. */
export function frameText(f: Id3Frame): { key: string; text: string; lang?: string } | undefined {
  const d = f.data;
  if (d.length < 1 || f.flags[1] & 0x0c) return undefined; // compressed or encrypted: opaque
  let from = f.flags[1] & 0x40 ? 1 : 0; // 2.4 grouping identity byte
  if (f.flags[1] & 0x01) from += 4; // 2.4 data length indicator
  const enc = d[from]!;
  if (f.id === 'TXXX') {
    const [desc, at] = splitTerminated(enc, d, from + 1);
    return { key: decodeText(enc, desc), text: decodeText(enc, d.subarray(at)) };
  }
  if (f.id === 'COMM') {
    if (d.length < from + 4) return undefined;
    const lang = latin1(d.subarray(from + 1, from + 4));
    const [desc, at] = splitTerminated(enc, d, from + 4);
    return { key: decodeText(enc, desc), text: decodeText(enc, d.subarray(at)), lang };
  }
  if (f.id[0] === 'T') return { key: f.id, text: decodeText(enc, d.subarray(from + 1)).split('\0').join(' / ') };
  return undefined;
}

/** PRIV owner (ASCII, NUL-terminated) and data. */
function privFrame(f: Id3Frame): { owner: string; data: Uint8Array } | undefined {
  if (f.id !== 'PRIV' || f.flags[1] & 0x0c) return undefined;
  const i = f.data.indexOf(0);
  return i < 0 ? undefined : { owner: latin1(f.data.subarray(0, i)), data: f.data.subarray(i + 1) };
}

function geobMime(f: Id3Frame): string | undefined {
  if (f.id !== 'GEOB' || f.flags[1] & 0x0c || f.data.length < 2) return undefined;
  const [mime] = splitTerminated(0, f.data, 1);
  return latin1(mime);
}

// ---------------------------------------------------------------------------------------------
// Writing

function encodeFrameText(major: 3 | 4, s: string): { enc: number; bytes: Uint8Array; nul: Uint8Array } {
  // 2.3 has no UTF-8: UTF-16 with a BOM carries every script there.
  if (major === 3) return { enc: 1, bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]), nul: new Uint8Array(2) };
  return { enc: 3, bytes: encodeUtf8(s), nul: new Uint8Array(1) };
}

function frame(major: 3 | 4, id: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + data.length);
  out.set(ascii(id), 0);
  if (major === 4) putSynchsafe(out, 4, data.length);
  else putU32be(out, 4, data.length);
  out.set(data, HEADER);
  return out;
}

export function txxxFrame(major: 3 | 4, description: string, value: string): Uint8Array {
  const d = encodeFrameText(major, description);
  const v = encodeFrameText(major, value);
  return frame(major, 'TXXX', concat([Uint8Array.of(d.enc), d.bytes, d.nul, v.bytes]));
}

export function commFrame(major: 3 | 4, lang: string, description: string, text: string): Uint8Array {
  const d = encodeFrameText(major, description);
  const t = encodeFrameText(major, text);
  return frame(major, 'COMM', concat([Uint8Array.of(d.enc), ascii(lang.padEnd(3, ' ').slice(0, 3)), d.bytes, d.nul, t.bytes]));
}

export function privFrameBytes(major: 3 | 4, owner: string, data: Uint8Array): Uint8Array {
  return frame(major, 'PRIV', concat([ascii(owner), new Uint8Array(1), data]));
}

/** A stored frame re-emitted in `major`'s header layout, data as decoded. */
function keptFrame(major: 3 | 4, f: Id3Frame): Uint8Array {
  const out = frame(major, f.id, f.data);
  out[8] = f.flags[0];
  out[9] = f.flags[1];
  return out;
}

/** The frames tamga owns: replaced on every label, never duplicated. */
function isOwnedFrame(f: Id3Frame): boolean {
  const t = f.id === 'TXXX' || f.id === 'COMM' ? frameText(f) : undefined;
  if (f.id === 'TXXX') return t?.key === AIGC_FIELD || t?.key === TAMGA_FIELD;
  if (f.id === 'COMM') return t?.key === DISCLOSURE_DESCRIPTION;
  return privFrame(f)?.owner === 'XMP';
}

/** A whole new tag (header + frames + padding) in version `major`. */
export function buildId3Tag(major: 3 | 4, frames: readonly Uint8Array[], padding = ID3_PADDING): Uint8Array {
  const body = frames.reduce((n, f) => n + f.length, 0) + padding;
  if (body > MAX_TAG_BODY) throw new TamgaError('METADATA_TOO_LARGE', `ID3 tag of ${body} bytes exceeds the ${MAX_TAG_BODY}-byte limit`, { size: body });
  const out = new Uint8Array(HEADER + body);
  out.set(ascii('ID3'), 0);
  out[3] = major;
  putSynchsafe(out, 6, body);
  let at = HEADER;
  for (const f of frames) out.set(f, at), (at += f.length);
  return out;
}

/** Metadata of one ID3v2 tag as AvMetadata pieces (texts, XMP, C2PA). */
export function id3Metadata(tag: Id3Tag, meta: AvMetadata): void {
  const carrier = (f: Id3Frame, name: string): Carrier => ({ name: `id3:${name}`, offset: f.offset, length: f.length });
  for (const f of tag.frames) {
    const t = frameText(f);
    if (t) {
      const kind = f.id === 'TXXX' ? 'id3:txxx' : f.id === 'COMM' ? 'id3:comm' : 'id3:text';
      const entry: AvText = { kind, key: t.key, text: t.text, carrier: carrier(f, f.id) };
      if (t.lang) entry.lang = t.lang;
      meta.texts.push(entry);
      continue;
    }
    const priv = privFrame(f);
    if (priv?.owner === 'XMP' && !meta.xmp) meta.xmp = { packet: priv.data.slice(), carrier: carrier(f, 'PRIV-XMP') };
    const mime = geobMime(f);
    if (mime && C2PA_MIMES.has(mime) && !meta.c2pa) meta.c2pa = carrier(f, 'GEOB-c2pa');
  }
}

/**
 * The rewritten tag: kept frames in their order (ours and, with stripC2pa, the C2PA GEOB left
 * out), then ours, then padding. The tag's extended header and footer are dropped: a CRC in the
 * former would no longer match, and the latter excludes padding (2.4 §3.4).
 */
export function rewriteId3Tag(tag: Id3Tag | undefined, write: AvMetadataWrite): Uint8Array {
  if (tag?.major === 2) throw new TamgaError('UNSUPPORTED_FORMAT', 'ID3v2.2 tag: tamga rewrites only ID3v2.3 and v2.4 tags', { format: FORMAT });
  const major: 3 | 4 = tag?.major === 3 ? 3 : 4;
  const frames: Uint8Array[] = [];
  for (const f of tag?.frames ?? []) {
    if (isOwnedFrame(f)) continue;
    if (write.stripC2pa && C2PA_MIMES.has(geobMime(f) ?? '')) continue;
    frames.push(keptFrame(major, f));
  }
  frames.push(
    txxxFrame(major, AIGC_FIELD, write.aigc),
    txxxFrame(major, TAMGA_FIELD, write.tamga),
    commFrame(major, 'und', DISCLOSURE_DESCRIPTION, write.comment),
    privFrameBytes(major, 'XMP', write.xmp),
  );
  return buildId3Tag(major, frames);
}

/** MP3: an ID3v2 tag at the start, then MPEG audio frames (and maybe ID3v1/APE at the end, kept). */
export const mp3Container: AvContainer = {
  formats: ['mp3'],

  async read(reader: ByteReader): Promise<AvMetadata> {
    const meta: AvMetadata = { format: 'mp3', texts: [] };
    if (await hasId3At(reader, 0)) id3Metadata(await readId3Tag(reader, 0), meta);
    return meta;
  },

  async planWrite(reader: ByteReader, _meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const tag = (await hasId3At(reader, 0)) ? await readId3Tag(reader, 0) : undefined;
    const bytes = rewriteId3Tag(tag, write);
    return planSplices(reader.size, [{ at: 0, length: tag ? tag.end : 0, bytes }], FORMAT);
  },
};
