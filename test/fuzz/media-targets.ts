/**
 * Fuzz targets beyond images: the audio/video containers (ID3/MP3, WAV, FLAC, Ogg, ISOBMFF,
 * Matroska), PDF and text, each as the container parser alone and through detect() and label().
 * Labels are byte-level only (visible off, no watermark key for audio/video), so no case runs
 * ffmpeg; the seeds are made once with ffmpeg, pdf-lib and string templates. Structured mutators
 * here know the box, element and object layouts: inflated box/element sizes, deeply nested
 * boxes, huge XMP, PDF cross-reference numbers pushed to absurd values.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { detect, label } from '../../src/api.js';
import { renderPlan } from '../../src/core/edit.js';
import { makeProvenance } from '../../src/core/provenance.js';
import { BufferReader } from '../../src/core/source.js';
import type { Format } from '../../src/core/types.js';
import { fontRuns } from '../../src/formats/pdf-fonts.js';
import { buildIncrementalUpdate, readPdfTail } from '../../src/formats/pdf.js';
import { TextLabeller, TEXT_FLAVOURS, type TextFlavour } from '../../src/formats/text.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { AV_CONTAINERS } from '../../src/media/metadata-label.js';
import { makeAvFixture, type AvFixture } from '../../fixtures/make-av.js';
import { CORPUS, hasCorpus } from '../helpers.js';
import type { FuzzTarget, Mutator, Rand } from './engine.js';

const FIXED = makeProvenance({ contentId: 'fuzz', createdAt: '2026-01-01T00:00:00.000Z', generator: 'fuzz/1' });
const WATERMARK_KEY = 'fuzz-watermark-key';

const copy = (b: Uint8Array) => Buffer.from(b);
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const putU32 = (b: Uint8Array, o: number, v: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).writeUInt32BE(v >>> 0, o);

/** An XMP packet of about `bytes` bytes: many properties, a long text value. */
export function hugeXmp(bytes: number): Buffer {
  const items = '<rdf:li>' + 'x'.repeat(200) + '</rdf:li>';
  const n = Math.max(1, Math.floor(bytes / items.length));
  return Buffer.from(
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
      `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>${items.repeat(n)}</rdf:Bag></dc:subject></rdf:Description>` +
      `</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`,
  );
}

// ------------------------------------------------------------------------------------ ISOBMFF

/** Boxes whose payload is a list of boxes (meta: a full box in ISO files, 4 bytes of version/flags first). */
const BMFF_CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'edts', 'dinf', 'ilst', 'meta', 'moof', 'traf', 'mvex']);

interface BoxAt {
  offset: number;
  size: number;
  type: string;
  /** Offsets of the enclosing boxes (outermost first), whose sizes grow when bytes go inside. */
  parents: number[];
}

/** Every box header reachable by walking the container boxes (bounded: mutated inputs may lie). */
function bmffBoxes(b: Uint8Array): BoxAt[] {
  const out: BoxAt[] = [];
  const walk = (from: number, to: number, parents: number[]) => {
    for (let at = from; at + 8 <= to && out.length < 4096; ) {
      const size = u32(b, at);
      const type = Buffer.from(b.subarray(at + 4, at + 8)).toString('latin1');
      if (size < 8 || at + size > to) return;
      out.push({ offset: at, size, type, parents });
      if (BMFF_CONTAINERS.has(type) && parents.length < 16) walk(at + 8 + (type === 'meta' ? 4 : 0), at + size, [...parents, at]);
      at += size;
    }
  };
  walk(0, b.length, []);
  return out;
}

/** A chain of `depth` container boxes, each holding the next; the innermost holds a 'free' box. */
function nestedBoxes(depth: number, types: readonly string[], r: Rand): Buffer {
  const out = Buffer.alloc(depth * 8 + 8);
  for (let i = 0; i < depth; i++) {
    out.writeUInt32BE(out.length - i * 8, i * 8);
    out.write(types[r.int(types.length)]!, i * 8 + 4, 'latin1');
  }
  out.writeUInt32BE(8, depth * 8);
  out.write('free', depth * 8 + 4, 'latin1');
  return out;
}

/** Inserts `bytes` at `at` inside the boxes at `parents` and grows their 32-bit sizes. */
function insertInBoxes(b: Uint8Array, at: number, parents: number[], bytes: Uint8Array): Buffer {
  const o = Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
  for (const p of parents) putU32(o, p, u32(o, p) + bytes.length);
  return o;
}

export const BMFF_MUTATORS: Mutator[] = [
  {
    name: 'bmff-inflate-box',
    mutate: (b, r) => {
      const boxes = bmffBoxes(b);
      if (!boxes.length) return copy(b);
      const box = r.pick(boxes);
      const o = copy(b);
      const choice = r.int(5);
      if (choice === 0) putU32(o, box.offset, 0xffffffff);
      else if (choice === 1) putU32(o, box.offset, box.size + 1 + r.int(64));
      else if (choice === 2) putU32(o, box.offset, r.int(8)); // 0 = to the end, 1 = 64-bit size follows, 2..7 = below the header
      else if (choice === 3 && box.size >= 16) {
        // A 64-bit size far past the end of the file (or past 2^53).
        putU32(o, box.offset, 1);
        putU32(o, box.offset + 8, r.pick([0xffffffff, 0x00200000, 0x7fffffff]));
        putU32(o, box.offset + 12, r.int(2 ** 32));
      } else if (box.size >= 16) putU32(o, box.offset + 8, r.pick([0xffffffff, 0x7fffffff, box.size * 1000])); // an entry count / first field
      return o;
    },
  },
  {
    name: 'bmff-nest-deep',
    mutate: (b, r) => {
      const boxes = bmffBoxes(b).filter((x) => BMFF_CONTAINERS.has(x.type));
      const depth = r.pick([32, 1000, 20_000]);
      const chain = nestedBoxes(depth, r.pick([['udta'], ['meta'], ['moov', 'trak', 'mdia', 'minf', 'stbl'], ['ilst', 'udta', 'meta']]), r);
      if (!boxes.length) return Buffer.concat([b, chain]);
      const parent = r.pick(boxes);
      const at = parent.offset + 8 + (parent.type === 'meta' ? 4 : 0);
      return insertInBoxes(b, at, [...parent.parents, parent.offset], chain);
    },
  },
  {
    name: 'bmff-huge-box',
    // A udta holding a ~4 MiB XMP uuid box: must be read within the limits, not choke them.
    mutate: (b, r) => {
      const moov = bmffBoxes(b).find((x) => x.type === 'moov');
      const xmp = hugeXmp(r.pick([64 << 10, 4 << 20]));
      const uuid = Buffer.from('be7acfcb97a942e89c71999491e3afac', 'hex');
      const box = Buffer.alloc(24 + xmp.length);
      box.writeUInt32BE(box.length, 0);
      box.write('uuid', 4, 'latin1');
      uuid.copy(box, 8);
      xmp.copy(box, 24);
      return moov ? insertInBoxes(b, moov.offset + 8, [moov.offset], box) : Buffer.concat([b, box]);
    },
  },
];

// ------------------------------------------------------------------------------------ Matroska

/** EBML master elements whose children the mutators walk. */
const EBML_MASTERS = new Set([0x18538067, 0x114d9b74, 0x4dbb, 0x1549a966, 0x1654ae6b, 0xae, 0x1254c367, 0x7373, 0x67c8, 0x63c0, 0x1941a469, 0x61a7, 0x1f43b675]);

interface ElementAt {
  offset: number;
  id: number;
  idLength: number;
  sizeLength: number;
  size: number | undefined;
}

function readVint(b: Uint8Array, at: number): { length: number; value: number | undefined } | undefined {
  const first = b[at];
  if (!first) return undefined;
  const length = Math.clz32(first) - 23;
  if (length > 8 || at + length > b.length) return undefined;
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[at + i]!;
    if (b[at + i] !== 0xff) allOnes = false;
  }
  return { length, value: allOnes ? undefined : value };
}

function ebmlElements(b: Uint8Array): ElementAt[] {
  const out: ElementAt[] = [];
  const walk = (from: number, to: number, depth: number) => {
    for (let at = from; at < to && out.length < 4096; ) {
      const first = b[at];
      if (!first) return;
      const idLength = Math.clz32(first) - 23;
      if (idLength > 4 || at + idLength >= to) return;
      const id = b.subarray(at, at + idLength).reduce((n, v) => n * 256 + v, 0);
      const size = readVint(b, at + idLength);
      if (!size) return;
      const start = at + idLength + size.length;
      out.push({ offset: at, id, idLength, sizeLength: size.length, size: size.value });
      const end = size.value === undefined ? to : start + size.value;
      if (end > to) return;
      if (EBML_MASTERS.has(id) && depth < 8) walk(start, end, depth + 1);
      at = end;
    }
  };
  walk(0, b.length, 0);
  return out;
}

/** An element with an 8-byte size field (so sizes are easy to patch). */
function ebml8(id: number, payload: Uint8Array): Buffer {
  const idBytes = Buffer.from(id.toString(16).padStart(id > 0xffffff ? 8 : id > 0xffff ? 6 : id > 0xff ? 4 : 2, '0'), 'hex');
  const size = Buffer.alloc(8);
  size.writeUInt32BE(0x01000000 + Math.floor(payload.length / 2 ** 32), 0);
  size.writeUInt32BE(payload.length >>> 0, 4);
  return Buffer.concat([idBytes, size, payload]);
}

export const MATROSKA_MUTATORS: Mutator[] = [
  {
    name: 'ebml-inflate-size',
    mutate: (b, r) => {
      const els = ebmlElements(b);
      if (!els.length) return copy(b);
      const e = r.pick(els);
      const o = copy(b);
      const at = e.offset + e.idLength;
      const n = e.sizeLength;
      const choice = r.int(3);
      if (choice === 2) {
        // A little past the parent's end.
        o[at + n - 1] = (o[at + n - 1]! + 1 + r.int(16)) & 0xff;
      } else {
        // All value bits set: the unknown size; one less: the largest size this width can say.
        o[at] = 0xff >> (n - 1);
        for (let i = 1; i < n; i++) o[at + i] = 0xff;
        if (choice === 1) o[at + n - 1] = o[at + n - 1]! - 1;
      }
      return o;
    },
  },
  {
    name: 'ebml-nest-deep',
    // Tags > Tag > SimpleTag > SimpleTag > ... (SimpleTag may hold SimpleTags, RFC 9559 §5.1.8.1.2),
    // put first in a Segment of unknown size that then holds the original level-1 elements.
    mutate: (b, r) => {
      const depth = r.pick([32, 1000, 20_000]);
      // Built in one buffer (wrapping element by element would copy the chain `depth` times).
      const leaf = ebml8(0x45a3, Buffer.from('DEEP'));
      const chain = Buffer.alloc(depth * 10 + leaf.length);
      for (let i = 0; i < depth; i++) ebml8(0x67c8, Buffer.alloc(0)).copy(chain, i * 10), chain.writeUInt32BE(chain.length - (i + 1) * 10, i * 10 + 6);
      leaf.copy(chain, depth * 10);
      const tags = ebml8(0x1254c367, ebml8(0x7373, chain));
      const els = ebmlElements(b);
      const segment = els.find((e) => e.id === 0x18538067);
      if (!segment) return Buffer.concat([b, tags]);
      const start = segment.offset + segment.idLength + segment.sizeLength;
      const header = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      return Buffer.concat([b.subarray(0, segment.offset), header, tags, b.subarray(start)]);
    },
  },
  {
    name: 'ebml-huge-tags',
    mutate: (b, r) => {
      const text = hugeXmp(r.pick([64 << 10, 4 << 20]));
      const tags = ebml8(0x1254c367, ebml8(0x7373, ebml8(0x67c8, Buffer.concat([ebml8(0x45a3, Buffer.from('XMP')), ebml8(0x4487, text)]))));
      const segment = ebmlElements(b).find((e) => e.id === 0x18538067);
      if (!segment) return Buffer.concat([b, tags]);
      const start = segment.offset + segment.idLength + segment.sizeLength;
      const header = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      return Buffer.concat([b.subarray(0, segment.offset), header, tags, b.subarray(start)]);
    },
  },
];

// ------------------------------------------------------------------------------------ chunked audio

/** RIFF chunks, FLAC metadata blocks, ID3 frames and Ogg page sizes: overwrite a length with a huge one. */
export const AUDIO_MUTATORS: Mutator[] = [
  {
    name: 'riff-inflate-chunk',
    mutate: (b, r) => {
      const o = copy(b);
      const chunks: number[] = [];
      for (let at = 12; at + 8 <= o.length && chunks.length < 256; ) {
        chunks.push(at);
        const size = o.readUInt32LE(at + 4);
        at += 8 + size + (size & 1);
      }
      if (!chunks.length) return o;
      const at = r.pick(chunks);
      o.writeUInt32LE(r.pick([0xffffffff, 0x7fffffff, o.length, o.length - at - 7]) >>> 0, at + 4);
      if (r.next() < 0.3) o.writeUInt32LE(r.pick([0xffffffff, 4, 0]), 4); // the RIFF size too
      return o;
    },
  },
  {
    name: 'flac-inflate-block',
    mutate: (b, r) => {
      const o = copy(b);
      if (Buffer.from(o.subarray(0, 4)).toString('latin1') !== 'fLaC') return o;
      const blocks: number[] = [];
      for (let at = 4; at + 4 <= o.length && blocks.length < 64; ) {
        blocks.push(at);
        const last = o[at]! & 0x80;
        at += 4 + o.readUIntBE(at + 1, 3);
        if (last) break;
      }
      if (!blocks.length) return o;
      const at = r.pick(blocks);
      o.writeUIntBE(r.pick([0xffffff, 0x800000, o.length - at]), at + 1, 3);
      if (r.next() < 0.3) o[at] = r.pick([0x04, 0x06, 0x7f, 0x00]); // vorbis comment / picture / invalid / streaminfo
      return o;
    },
  },
  {
    name: 'id3-inflate',
    mutate: (b, r) => {
      const o = copy(b);
      if (Buffer.from(o.subarray(0, 3)).toString('latin1') !== 'ID3' || o.length < 20) return o;
      const choice = r.int(3);
      if (choice === 0) o.set([0x7f, 0x7f, 0x7f, 0x7f], 6); // tag size: 256 MiB (synchsafe max)
      else if (choice === 1) o.writeUInt32BE(r.pick([0x7f7f7f7f, 0xffffffff, 0x00000001]), 14); // first frame's size
      else o[5] = r.pick([0x80, 0x40, 0xff, 0x10]); // flags: unsynchronisation, extended header, all, footer
      return o;
    },
  },
  {
    name: 'ogg-segment-table',
    mutate: (b, r) => {
      const o = copy(b);
      const pages: number[] = [];
      for (let at = o.indexOf('OggS'); at >= 0 && pages.length < 64; at = o.indexOf('OggS', at + 4)) pages.push(at);
      if (!pages.length) return o;
      const at = r.pick(pages);
      if (at + 27 > o.length) return o;
      o[at + 26] = r.pick([0xff, 0, 1]);
      for (let i = at + 27; i < Math.min(o.length, at + 27 + 255); i++) if (r.next() < 0.5) o[i] = 0xff;
      return o;
    },
  },
];

// ------------------------------------------------------------------------------------ PDF

export const PDF_MUTATORS: Mutator[] = [
  {
    name: 'pdf-absurd-number',
    // The numbers that size allocations or steer reads: startxref, /Size, /Length, /Prev, /N, /First, /W, /Index, xref subsection headers.
    mutate: (b, r) => {
      const s = Buffer.from(b).toString('latin1');
      const spots: [number, number][] = [];
      const re = /(?:startxref\s+|\/(?:Size|Length|Prev|N|First|Count|Extends|XRefStm)\s+|\/(?:W|Index)\s*\[\s*|\n\d+ )(\d+)/g;
      for (let m = re.exec(s); m && spots.length < 512; m = re.exec(s)) spots.push([m.index + m[0].length - m[1]!.length, m[1]!.length]);
      if (!spots.length) return copy(b);
      const [at, len] = r.pick(spots);
      const v = r.pick(['0', '1', '99999999', '2147483648', '9007199254740993', '4294967295', String(b.length), '-1', '1e300']);
      return Buffer.concat([b.subarray(0, at), Buffer.from(v, 'latin1'), b.subarray(at + len)]);
    },
  },
  {
    name: 'pdf-self-reference',
    // Point a reference at the object it sits in (Pages/Kids cycles, /Prev loops).
    mutate: (b, r) => {
      const s = Buffer.from(b).toString('latin1');
      const objs = [...s.matchAll(/(\d+) (\d+) obj/g)];
      const refs = [...s.matchAll(/(\d+) (\d+) R/g)];
      if (!objs.length || !refs.length) return copy(b);
      const ref = r.pick(refs);
      const owner = objs.filter((o) => o.index! < ref.index!).pop() ?? r.pick(objs);
      const repl = `${owner[1]} ${owner[2]} R`;
      return Buffer.concat([b.subarray(0, ref.index!), Buffer.from(repl, 'latin1'), b.subarray(ref.index! + ref[0].length)]);
    },
  },
];

// ------------------------------------------------------------------------------------ text

export const TEXT_MUTATORS: Mutator[] = [
  {
    name: 'text-deep-nesting',
    mutate: (b, r) => {
      const depth = r.pick([100, 10_000, 200_000]);
      const [open, close] = r.pick([
        ['<div>', '</div>'],
        ['[', ']'],
        ['{"a":', '}'],
        ['<!--', ''],
        ['<script>', ''],
      ] as const);
      const at = r.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from(open.repeat(depth) + close.repeat(r.int(2) * depth)), b.subarray(at)]);
    },
  },
  {
    name: 'text-invalid-utf8',
    mutate: (b, r) => {
      const o = copy(b);
      for (let i = 1 + r.int(4); i > 0 && o.length; i--) o[r.int(o.length)] = r.pick([0xc0, 0xff, 0xed, 0xf4, 0x80]);
      return o;
    },
  },
  {
    name: 'text-long-line',
    mutate: (b, r) => {
      const at = r.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(['a', '"', '\\', '-', '<', ' ']).repeat(r.pick([10_000, 3 << 20]))), b.subarray(at)]);
    },
  },
];

// ------------------------------------------------------------------------------------ seeds

/** Short clips of every audio/video container tamga labels (ffmpeg, ~0.3 s each). */
const AV_SEED_FIXTURES: readonly AvFixture[] = [
  { name: 's.mp3', seconds: 0.3, args: ['-c:a', 'libmp3lame', '-b:a', '32k', '-id3v2_version', '4', '-metadata', 'title=Tone', '-metadata', 'comment=c'] },
  { name: 's3.mp3', seconds: 0.3, args: ['-c:a', 'libmp3lame', '-b:a', '32k', '-id3v2_version', '3', '-metadata', 'artist=Тест'] },
  { name: 's.wav', seconds: 0.1, args: ['-c:a', 'pcm_u8', '-ar', '8000', '-metadata', 'title=Tone', '-metadata', 'comment=c'] },
  { name: 's.flac', seconds: 0.3, args: ['-c:a', 'flac', '-ar', '8000', '-metadata', 'title=Tone'] },
  { name: 's.opus', seconds: 0.3, args: ['-c:a', 'libopus', '-b:a', '16k', '-metadata', 'title=Tone'] },
  { name: 's.ogg', seconds: 0.3, args: ['-c:a', 'libvorbis', '-ar', '8000', '-metadata', 'title=Tone'] },
  { name: 's.m4a', seconds: 0.3, args: ['-c:a', 'aac', '-b:a', '32k', '-metadata', 'title=Tone', '-metadata', 'comment=c'] },
  { name: 's.mp4', seconds: 0.2, video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-s', '32x24', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '16k', '-movflags', '+faststart', '-metadata', 'title=Clip'] },
  { name: 'late.mp4', seconds: 0.2, video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-s', '32x24', '-pix_fmt', 'yuv420p', '-an'] },
  { name: 's.mov', seconds: 0.2, video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-s', '32x24', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '16k', '-metadata', 'title=Clip'] },
  { name: 's.webm', seconds: 0.2, video: true, args: ['-c:v', 'libvpx', '-s', '32x24', '-b:v', '50k', '-c:a', 'libopus', '-b:a', '16k', '-metadata', 'title=Clip'] },
  { name: 's.mkv', seconds: 0.2, video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-s', '32x24', '-pix_fmt', 'yuv420p', '-c:a', 'flac', '-ar', '8000', '-metadata', 'title=Clip'] },
];

/** Seeds per audio/video format: generated clips, their labelled copies, a huge-XMP copy, small corpus files. */
export async function avSeeds(): Promise<Partial<Record<Format, Uint8Array[]>>> {
  const out: Partial<Record<Format, Uint8Array[]>> = {};
  const dir = mkdtempSync(join(tmpdir(), 'tamga-fuzz-av-'));
  const add = async (b: Uint8Array) => {
    const format = (await detect(b, { visible: false })).format as Format;
    (out[format] ??= []).push(b);
    return format;
  };
  try {
    for (const f of AV_SEED_FIXTURES) {
      let b: Uint8Array;
      try {
        b = readFileSync(await makeAvFixture(dir, f));
      } catch (e) {
        console.warn(`[fuzz] cannot make the ${f.name} seed (ffmpeg build without its codec?): ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const format = await add(b);
      const labelled = (await label(b, FIXED, { visible: false })).data!;
      (out[format] ??= []).push(labelled);
      // A copy whose XMP carrier holds ~256 KiB (containers without one keep the text fields).
      const container = AV_CONTAINERS[format]!;
      const r = new BufferReader(labelled);
      const write: AvMetadataWrite = { xmp: hugeXmp(256 << 10), comment: 'AI-generated', aigc: '{"AIGC":{"Label":"1"}}', tamga: '{"contentId":"fuzz"}' };
      out[format]!.push(await renderPlan(r, await container.planWrite(r, await container.read(r, format), write)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const rel of ['c2pa/cicadas-signed.mp3', 'c2pa/cicadas-unsigned.mp3']) {
    const p = join(CORPUS, rel);
    if (hasCorpus && existsSync(p) && statSync(p).size < 256 * 1024) await add(readFileSync(p));
  }
  return out;
}

/** PDFs: classic and cross-reference-stream files, their labelled copies, and hand-made hostile ones. */
export async function pdfSeeds(): Promise<Uint8Array[]> {
  const seeds: Uint8Array[] = [];
  for (const objectStreams of [false, true]) {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.setTitle('Fuzz');
    for (const [w, h] of [
      [200, 100],
      [100, 200],
    ] as const) doc.addPage([w, h]).drawText('Hello', { x: 10, y: 10, size: 12, font });
    const b = await doc.save({ useObjectStreams: objectStreams });
    seeds.push(b, (await label(b, FIXED, { visible: false })).data!);
  }
  seeds.push(...hostilePdfs());
  return seeds;
}

/** A classic-xref PDF from object bodies (1-based numbers), with a correct table and trailer. */
export function classicPdf(bodies: string[], trailerExtra = '', xrefOverride?: (offsets: number[]) => string): Buffer {
  let s = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  bodies.forEach((body, i) => {
    offsets.push(s.length);
    s += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = s.length;
  s += xrefOverride ? xrefOverride(offsets) : `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  s += `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(s, 'latin1');
}

/** Small PDFs built to hurt a parser: page-tree and /Prev cycles, object streams that extend themselves, absurd counts. */
export function hostilePdfs(): Buffer[] {
  const page = '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>';
  // Kids pointing back at the Pages node itself.
  const pagesCycle = classicPdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>', page]);
  // An object stream that /Extends itself and holds a reference to itself.
  const inner = '4 0 << /Self 3 0 R >>';
  const objStm = `<< /Type /ObjStm /N 1 /First ${inner.indexOf('<<')} /Extends 3 0 R /Length ${inner.length} >>\nstream\n${inner}\nendstream`;
  const objStmCycle = classicPdf(['<< /Type /Catalog /Pages 2 0 R /X 4 0 R >>', '<< /Type /Pages /Kids [5 0 R] /Count 1 >>', objStm, '<< >>', page]);
  // A trailer whose /Prev points at its own cross-reference section.
  const base = classicPdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', page]);
  const xrefAt = Buffer.from(base).toString('latin1').lastIndexOf('xref\n0 ');
  const prevLoop = classicPdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', page], `/Prev ${xrefAt} `);
  // Claims of millions of objects and pages in a few hundred bytes.
  const millionObjects = classicPdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 10000000 >>', page], '/Size 10000000 ', (offsets) =>
    `xref\n0 10000000\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`,
  );
  return [pagesCycle, objStmCycle, prevLoop, millionObjects];
}

const TEXT_SEEDS: Record<TextFlavour, string> = {
  plain: 'The quick brown fox jumps over the lazy dog.\nSecond line with Unicode: Жасанды интеллект, 人工智能.\n',
  markdown: '---\ntitle: "Notes"\ntags: [a, b]\n---\n# Heading\n\nSome *prose* here.\n\n```js\nconst x = 1;\n```\n',
  html: '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>T</title><style>p{}</style></head>\n<body><p>Some prose &amp; more.</p><script>var a="</p>";</script><pre>code</pre><!-- c --></body></html>\n',
  srt: '1\n00:00:01,000 --> 00:00:03,500\nHello there.\n\n2\n00:00:04,000 --> 00:00:06,000\nSecond cue\nwith two lines.\n',
  vtt: 'WEBVTT\n\nNOTE a note\n\n00:00:01.000 --> 00:00:03.500 align:start\nHello there.\n\ncue-2\n00:00:04.000 --> 00:00:06.000\nSecond cue.\n',
  json: '{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"An answer with \\"quotes\\" and \\u00e9."}}],"text":"more"}\n',
};

export async function textSeeds(): Promise<Record<TextFlavour, Uint8Array[]>> {
  const out = {} as Record<TextFlavour, Uint8Array[]>;
  for (const f of TEXT_FLAVOURS) {
    const b = Buffer.from(TEXT_SEEDS[f], 'utf8');
    out[f] = [b, (await label(b, FIXED, { visible: true })).data!, Buffer.from(TEXT_SEEDS[f].replace(/\n/g, '\r\n'), 'utf8')];
  }
  return out;
}

// ------------------------------------------------------------------------------------ targets

const AV_WRITE: AvMetadataWrite = { xmp: hugeXmp(1 << 10), comment: 'AI-generated', previousComment: 'AI-generated', aigc: '{"AIGC":{"Label":"1"}}', tamga: '{"contentId":"fuzz"}', stripC2pa: true };

/** Which structured mutators fit which container. */
const AV_MUTATORS: Partial<Record<Format, Mutator[]>> = {
  mp3: AUDIO_MUTATORS,
  wav: AUDIO_MUTATORS,
  flac: AUDIO_MUTATORS,
  ogg: AUDIO_MUTATORS,
  m4a: BMFF_MUTATORS,
  mp4: BMFF_MUTATORS,
  mov: BMFF_MUTATORS,
  webm: MATROSKA_MUTATORS,
  mkv: MATROSKA_MUTATORS,
};

const CONTAINER_NAME: Partial<Record<Format, string>> = { mp3: 'id3', wav: 'wav', flac: 'flac', ogg: 'ogg', m4a: 'isobmff', mp4: 'isobmff', mov: 'isobmff', webm: 'matroska', mkv: 'matroska' };

export async function mediaTargets(): Promise<FuzzTarget[]> {
  const targets: FuzzTarget[] = [];
  const av = await avSeeds();
  for (const [format, seeds] of Object.entries(av) as [Format, Uint8Array[]][]) {
    const container = AV_CONTAINERS[format];
    const mutators = AV_MUTATORS[format] ?? [];
    if (!container) continue;
    targets.push({
      name: `formats/${CONTAINER_NAME[format]} (${format}): read + planWrite`,
      seeds,
      mutators,
      run: async (input) => {
        const r = new BufferReader(input);
        return renderPlan(r, await container.planWrite(r, await container.read(r, format), AV_WRITE));
      },
    });
    targets.push({ name: `detect: ${format}`, seeds, mutators, run: (input) => detect(input, { visible: false }) });
    targets.push({ name: `label (metadata): ${format}`, seeds, mutators, run: (input) => label(input, FIXED, { visible: false, onExistingC2pa: 'strip' }) });
  }

  const pdfs = await pdfSeeds();
  targets.push({
    name: 'formats/pdf: tail + incremental update',
    seeds: pdfs,
    mutators: PDF_MUTATORS,
    run: async (input) => {
      const tail = await readPdfTail(new BufferReader(input));
      return buildIncrementalUpdate(input.length, tail, [{ num: 99, gen: 0, body: Buffer.from('<< >>') }], { size: 100, root: '1 0 R' });
    },
  });
  targets.push({ name: 'detect: pdf', seeds: pdfs, mutators: PDF_MUTATORS, run: (input) => detect(input) });
  targets.push({ name: 'label: pdf', seeds: pdfs, mutators: PDF_MUTATORS, run: (input) => label(input, FIXED, { visible: true, onExistingC2pa: 'strip' }) });
  targets.push({ name: 'formats/pdf-fonts: font runs', seeds: Object.values(TEXT_SEEDS).map((s) => Buffer.from(s)), run: async (input) => fontRuns(Buffer.from(input).toString('utf8')) });

  const texts = await textSeeds();
  for (const flavour of TEXT_FLAVOURS) {
    const seeds = texts[flavour];
    targets.push({
      name: `formats/text (${flavour}): labeller`,
      seeds,
      mutators: TEXT_MUTATORS,
      run: async (input) => {
        const s = Buffer.from(input).toString('utf8');
        const labeller = new TextLabeller({ flavour, disclosure: 'AI-generated', position: 'both', markers: [{ name: 'ai-generated', content: 'true' }], jsonFields: ['content', 'text'], newline: '\n' });
        // Odd chunk boundaries: the state machines must carry state across any split.
        const out: string[] = [];
        for (let at = 0; at < s.length; at += 7 + (at % 13)) out.push(labeller.push(s.slice(at, at + 7 + (at % 13))));
        out.push(labeller.end());
        return out.join('');
      },
    });
    targets.push({ name: `detect: text (${flavour})`, seeds, mutators: TEXT_MUTATORS, run: (input) => detect(input, { watermarkKey: WATERMARK_KEY }) });
    targets.push({ name: `label: text (${flavour})`, seeds, mutators: TEXT_MUTATORS, run: (input) => label(input, FIXED, { visible: true, watermarkKey: WATERMARK_KEY }) });
  }
  return targets.filter((t) => t.seeds.length > 0);
}
