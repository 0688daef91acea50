import { concat, encodeUtf8 } from '../core/bytes.js';
import { planSplices, type EditPlan, type Splice } from '../core/edit.js';
import { TamgaError, corrupt } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import { AIGC_FIELD, TAMGA_FIELD } from './fields.js';
import type { AvContainer, AvMetadata, AvMetadataWrite, Carrier } from './types.js';

/**
 * Matroska / WebM (RFC 9559): the label is three global SimpleTags (`AIGC`, `TAMGA`, `COMMENT`)
 * in the Segment's Tags element. Nothing before the clusters moves: the new Tags replaces the old
 * one where it fits, otherwise it goes at the end of the Segment, the old one becomes a Void
 * element, and the SeekHead entry for Tags is pointed at it. Cluster and Cues positions are
 * untouched, so every frame stays where it was. Detection reads the level-1 element headers up to
 * the first Cluster, then follows the SeekHead; it never walks the clusters of an indexed file.
 */

const FORMAT = 'matroska';
export const EBML_ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Cluster: 0x1f43b675,
  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagString: 0x4487,
  Void: 0xec,
} as const;
/** Tags are read whole; real ones are kilobytes (cover art goes in Attachments). */
const MAX_TAGS_BYTES = 16 << 20;
const MAX_LEVEL1 = 1 << 16;

export interface EbmlElement {
  id: number;
  offset: number;
  headerSize: number;
  /** Payload size; undefined for an unknown-size element (live streams). */
  size: number | undefined;
  /** Bytes used by the size field (kept when the size is rewritten). */
  sizeLength: number;
}

const dataStart = (e: EbmlElement) => e.offset + e.headerSize;
const endOf = (e: EbmlElement, limit: number) => (e.size === undefined ? limit : dataStart(e) + e.size);

/** Parses an element header in `b` at `at` (b holds at least the header bytes available). */
export function parseEbmlHeader(b: Uint8Array, at: number, fileOffset: number): EbmlElement {
  const first = b[at];
  if (first === undefined || first === 0) throw corrupt(FORMAT, 'invalid element ID', fileOffset);
  const idLen = Math.clz32(first) - 23;
  if (idLen > 4 || at + idLen >= b.length) throw corrupt(FORMAT, 'invalid element ID', fileOffset);
  let id = 0;
  for (let i = 0; i < idLen; i++) id = id * 256 + b[at + i]!;
  const s0 = b[at + idLen]!;
  if (s0 === 0) throw corrupt(FORMAT, 'invalid element size', fileOffset + idLen);
  const sizeLength = Math.clz32(s0) - 23;
  if (at + idLen + sizeLength > b.length) throw corrupt(FORMAT, 'truncated element header', fileOffset);
  let size = s0 & (0xff >> sizeLength);
  let allOnes = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    const v = b[at + idLen + i]!;
    if (v !== 0xff) allOnes = false;
    size = size * 256 + v;
  }
  return { id, offset: fileOffset, headerSize: idLen + sizeLength, size: allOnes ? undefined : size, sizeLength };
}

async function readHeaderAt(reader: ByteReader, offset: number, limit: number): Promise<EbmlElement> {
  const e = parseEbmlHeader(await reader.read(offset, Math.min(12, limit - offset)), 0, offset);
  if (e.size !== undefined && dataStart(e) + e.size > limit) throw corrupt(FORMAT, `element 0x${e.id.toString(16)} of ${e.size} bytes runs past its parent`, offset);
  return e;
}

/** Children of an in-memory payload `b[from..to)`; offsets relative to `b`. */
function children(b: Uint8Array, from: number, to: number): EbmlElement[] {
  const out: EbmlElement[] = [];
  for (let at = from; at < to; ) {
    const e = parseEbmlHeader(b.subarray(0, to), at, at);
    if (e.size === undefined || dataStart(e) + e.size > to) throw corrupt(FORMAT, `child element 0x${e.id.toString(16)} runs past its parent`, at);
    out.push(e);
    at = dataStart(e) + e.size;
  }
  return out;
}

const uintOf = (b: Uint8Array, e: EbmlElement) => b.subarray(dataStart(e), dataStart(e) + e.size!).reduce((n, v) => n * 256 + v, 0);
const textOf = (b: Uint8Array, e: EbmlElement) => Buffer.from(b.subarray(dataStart(e), dataStart(e) + e.size!)).toString('utf8').replace(/\0+$/, '');

function vintSize(n: number, length?: number): Uint8Array {
  let len = length ?? 1;
  while (!length && len < 8 && n >= 2 ** (7 * len) - 1) len++;
  if (n >= 2 ** (7 * len) - 1) throw new TamgaError('METADATA_TOO_LARGE', `Matroska: size ${n} does not fit a ${len}-byte field`, { size: n });
  const out = new Uint8Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) (out[i] = v % 256), (v = Math.floor(v / 256));
  out[0]! |= 0x80 >> (len - 1);
  return out;
}

function idBytes(id: number): Uint8Array {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}

export function ebmlElement(id: number, ...payload: Uint8Array[]): Uint8Array {
  const body = concat(payload);
  return concat([idBytes(id), vintSize(body.length), body]);
}

function voidElement(total: number): Uint8Array {
  // One ID byte, then an 8-byte size field (any length is legal; 8 fits every gap of 9+ bytes).
  if (total < 2) throw new TamgaError('METADATA_TOO_LARGE', 'Matroska: a 1-byte gap cannot hold a Void element');
  if (total < 9) return concat([Uint8Array.of(EBML_ID.Void), vintSize(total - 2, 1), new Uint8Array(total - 2)]);
  return concat([Uint8Array.of(EBML_ID.Void), vintSize(total - 9, 8), new Uint8Array(total - 9)]);
}

interface Layout {
  segment: EbmlElement;
  segmentEnd: number;
  /** Level-1 elements seen in order (up to the first Cluster, plus those the SeekHead points to). */
  level1: EbmlElement[];
  seekHead?: EbmlElement;
  /** The Seek entry for Tags: where its SeekPosition payload sits and how long it is. */
  tagsSeek?: { positionOffset: number; positionLength: number };
  tags?: EbmlElement;
}

async function readLayout(reader: ByteReader): Promise<Layout> {
  const ebml = await readHeaderAt(reader, 0, reader.size);
  if (ebml.id !== EBML_ID.EBML || ebml.size === undefined) throw corrupt(FORMAT, 'missing EBML header', 0);
  const segment = await readHeaderAt(reader, dataStart(ebml) + ebml.size, reader.size);
  if (segment.id !== EBML_ID.Segment) throw corrupt(FORMAT, 'missing Segment element', segment.offset);
  const segmentEnd = endOf(segment, reader.size);
  const layout: Layout = { segment, segmentEnd, level1: [] };
  let sawCluster = false;
  for (let at = dataStart(segment); at < segmentEnd; ) {
    if (layout.level1.length >= MAX_LEVEL1) throw corrupt(FORMAT, 'too many level-1 elements', at);
    const e = await readHeaderAt(reader, at, segmentEnd);
    layout.level1.push(e);
    if (e.id === EBML_ID.Cluster) sawCluster = true;
    if (e.id === EBML_ID.SeekHead && !layout.seekHead) await readSeekHead(reader, e, layout);
    if (e.id === EBML_ID.Tags && !layout.tags) layout.tags = e;
    if (e.size === undefined) break; // an unknown-size cluster runs to the end
    at = dataStart(e) + e.size;
    // An indexed file: the rest is clusters and what the SeekHead points to.
    if (sawCluster && layout.seekHead) break;
  }
  if (!layout.tags && layout.tagsSeek) {
    const pos = await reader.read(layout.tagsSeek.positionOffset, layout.tagsSeek.positionLength);
    const at = dataStart(segment) + pos.reduce((n, v) => n * 256 + v, 0);
    if (at < segmentEnd) {
      const e = await readHeaderAt(reader, at, segmentEnd);
      if (e.id !== EBML_ID.Tags) throw corrupt(FORMAT, 'the SeekHead entry for Tags points at another element', at);
      layout.tags = e;
      layout.level1.push(e);
    }
  }
  return layout;
}

async function readSeekHead(reader: ByteReader, e: EbmlElement, layout: Layout): Promise<void> {
  if (e.size === undefined || e.size > MAX_TAGS_BYTES) throw corrupt(FORMAT, 'SeekHead of unknown or excessive size', e.offset);
  layout.seekHead = e;
  const b = await reader.read(dataStart(e), e.size);
  for (const seek of children(b, 0, b.length)) {
    if (seek.id !== EBML_ID.Seek) continue;
    const kids = children(b, dataStart(seek), dataStart(seek) + seek.size!);
    const id = kids.find((k) => k.id === EBML_ID.SeekID);
    const pos = kids.find((k) => k.id === EBML_ID.SeekPosition);
    if (id && pos && uintOf(b, id) === EBML_ID.Tags && !layout.tagsSeek) {
      layout.tagsSeek = { positionOffset: dataStart(e) + dataStart(pos), positionLength: pos.size! };
    }
  }
}

interface ParsedTag {
  raw: Uint8Array;
  global: boolean;
  simple: { name: string; text: string; raw: Uint8Array }[];
  other: Uint8Array[];
}

function parseTags(b: Uint8Array): ParsedTag[] {
  const out: ParsedTag[] = [];
  for (const tag of children(b, 0, b.length)) {
    if (tag.id !== EBML_ID.Tag) continue;
    const kids = children(b, dataStart(tag), dataStart(tag) + tag.size!);
    const targets = kids.find((k) => k.id === EBML_ID.Targets);
    // Global when Targets names no track, edition, chapter or attachment UID (RFC 9559 §5.1.8.1.1).
    const targetKids = targets ? children(b, dataStart(targets), dataStart(targets) + targets.size!) : [];
    const global = targetKids.every((k) => k.id === 0x68ca || k.id === 0x63ca);
    const p: ParsedTag = { raw: b.subarray(tag.offset, dataStart(tag) + tag.size!), global, simple: [], other: [] };
    for (const k of kids) {
      const raw = b.subarray(k.offset, dataStart(k) + k.size!);
      if (k.id !== EBML_ID.SimpleTag) {
        p.other.push(raw);
        continue;
      }
      const sk = children(b, dataStart(k), dataStart(k) + k.size!);
      const name = sk.find((x) => x.id === EBML_ID.TagName);
      const str = sk.find((x) => x.id === EBML_ID.TagString);
      p.simple.push({ name: name ? textOf(b, name) : '', text: str ? textOf(b, str) : '', raw });
    }
    out.push(p);
  }
  return out;
}

function simpleTag(name: string, text: string): Uint8Array {
  return ebmlElement(EBML_ID.SimpleTag, ebmlElement(EBML_ID.TagName, encodeUtf8(name)), ebmlElement(EBML_ID.TagString, encodeUtf8(text)));
}

function buildTags(existing: ParsedTag[], write: AvMetadataWrite): Uint8Array {
  const owned = (s: { name: string; text: string }) => {
    const n = s.name.toUpperCase();
    return n === AIGC_FIELD || n === TAMGA_FIELD.toUpperCase() || (n === 'COMMENT' && (s.text === write.comment || s.text === write.previousComment));
  };
  const tags: Uint8Array[] = [];
  for (const t of existing) {
    if (!t.global || !t.simple.some(owned)) {
      tags.push(t.raw);
      continue;
    }
    const kept = t.simple.filter((s) => !owned(s));
    if (kept.length) tags.push(ebmlElement(EBML_ID.Tag, ...t.other, ...kept.map((s) => s.raw)));
  }
  tags.push(ebmlElement(EBML_ID.Tag, ebmlElement(EBML_ID.Targets), simpleTag(AIGC_FIELD, write.aigc), simpleTag(TAMGA_FIELD.toUpperCase(), write.tamga), simpleTag('COMMENT', write.comment)));
  return ebmlElement(EBML_ID.Tags, ...tags);
}

async function readTagsBytes(reader: ByteReader, tags: EbmlElement): Promise<Uint8Array> {
  if (tags.size === undefined || tags.size > MAX_TAGS_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${reader.name}: Tags element of unknown or excessive size`, { size: tags.size });
  return reader.read(dataStart(tags), tags.size);
}

export const matroskaContainer: AvContainer = {
  formats: ['mkv', 'webm'],

  async read(reader: ByteReader, format): Promise<AvMetadata> {
    const layout = await readLayout(reader);
    const meta: AvMetadata = { format, texts: [] };
    if (!layout.tags) return meta;
    const carrier: Carrier = { name: 'mkv:Tags', offset: layout.tags.offset, length: layout.tags.headerSize + (layout.tags.size ?? 0) };
    for (const t of parseTags(await readTagsBytes(reader, layout.tags))) {
      for (const s of t.simple) meta.texts.push({ kind: 'mkv:tag', key: s.name, text: s.text, carrier });
    }
    return meta;
  },

  async planWrite(reader: ByteReader, _meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan> {
    const layout = await readLayout(reader);
    const old = layout.tags;
    const tags = buildTags(old ? parseTags(await readTagsBytes(reader, old)) : [], write);
    const splices: Splice[] = [];
    if (old) {
      // Room where the old Tags is: itself plus a Void right after it.
      const oldEnd = dataStart(old) + old.size!;
      const next = layout.level1.find((e) => e.offset === oldEnd);
      const room = oldEnd - old.offset + (next?.id === EBML_ID.Void && next.size !== undefined ? next.headerSize + next.size : 0);
      if (tags.length === room || tags.length + 2 <= room) {
        const fill = room - tags.length;
        splices.push({ at: old.offset, length: room, bytes: fill ? concat([tags, voidElement(fill)]) : tags });
        return planSplices(reader.size, splices, FORMAT);
      }
      if (oldEnd === layout.segmentEnd) {
        // The last element of the Segment may grow: nothing follows it but the Segment's end.
        splices.push({ at: old.offset, length: oldEnd - old.offset, bytes: tags });
        return planSplices(reader.size, [...splices, ...segmentSizeSplice(layout, tags.length - (oldEnd - old.offset))], FORMAT);
      }
      splices.push({ at: old.offset, length: oldEnd - old.offset, bytes: voidElement(oldEnd - old.offset) });
    }
    // Append at the end of the Segment and index it.
    const at = layout.segmentEnd;
    splices.push(...(await indexTags(reader, layout, at - dataStart(layout.segment))));
    splices.push({ at, length: 0, bytes: tags });
    return planSplices(reader.size, [...splices, ...segmentSizeSplice(layout, tags.length)], FORMAT);
  },
};

/**
 * Points the SeekHead at Tags (Segment-relative position `rel`): the SeekPosition is rewritten in
 * place when it fits its length, else the SeekHead is rebuilt with an 8-byte position (or a new
 * Seek entry) and grows into the Void that muxers reserve after it.
 */
async function indexTags(reader: ByteReader, layout: Layout, rel: number): Promise<Splice[]> {
  const seek = layout.tagsSeek;
  if (seek && rel < 2 ** (8 * seek.positionLength)) {
    const pos = new Uint8Array(seek.positionLength);
    for (let i = pos.length - 1, v = rel; i >= 0; i--, v = Math.floor(v / 256)) pos[i] = v % 256;
    return [{ at: seek.positionOffset, length: pos.length, bytes: pos }];
  }
  const head = layout.seekHead;
  const after = head && layout.level1.find((e) => e.offset === dataStart(head) + head.size!);
  if (!head || after?.id !== EBML_ID.Void || after.size === undefined) {
    throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: no room to index the Tags element (no SeekHead with a Void after it); remux it with ffmpeg or mkvmerge first`, { format: FORMAT });
  }
  const b = await reader.read(dataStart(head), head.size!);
  const pos8 = new Uint8Array(8);
  for (let i = 7, v = rel; i >= 0; i--, v = Math.floor(v / 256)) pos8[i] = v % 256;
  const tagsSeek = ebmlElement(EBML_ID.Seek, ebmlElement(EBML_ID.SeekID, idBytes(EBML_ID.Tags)), ebmlElement(EBML_ID.SeekPosition, pos8));
  const entries: Uint8Array[] = [];
  for (const e of children(b, 0, b.length)) {
    const raw = b.subarray(e.offset, dataStart(e) + e.size!);
    const isTags = e.id === EBML_ID.Seek && children(b, dataStart(e), dataStart(e) + e.size!).some((k) => k.id === EBML_ID.SeekID && uintOf(b, k) === EBML_ID.Tags);
    if (!isTags) entries.push(raw);
  }
  const newHead = ebmlElement(EBML_ID.SeekHead, ...entries, tagsSeek);
  const room = dataStart(after) + after.size - head.offset;
  const fill = room - newHead.length;
  if (fill !== 0 && fill < 2) throw new TamgaError('UNSUPPORTED_FORMAT', `${reader.name}: the Void after the SeekHead is too small to index the Tags element`, { format: FORMAT });
  return [{ at: head.offset, length: room, bytes: fill ? concat([newHead, voidElement(fill)]) : newHead }];
}

/** A known Segment size grows by `growth`, written in the size field's own length. */
function segmentSizeSplice(layout: Layout, growth: number): Splice[] {
  const seg = layout.segment;
  if (seg.size === undefined || growth === 0) return [];
  return [{ at: seg.offset + seg.headerSize - seg.sizeLength, length: seg.sizeLength, bytes: vintSize(seg.size + growth, seg.sizeLength) }];
}
