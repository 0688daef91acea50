/**
 * The fuzz engine shared by the CI-sized run (test/fuzz/fuzz.test.ts) and the long run
 * (`npm run fuzz`, test/fuzz/run.ts). A case passes when the target returns or throws a
 * TamgaError within the time bound; anything else (another exception, a hang, a memory blow-up)
 * is a crash, and the long run writes the input to fixtures/regressions/ as a reproducer.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import sharp from 'sharp';
import { detect, label } from '../../src/api.js';
import { IMAGE_CONTAINERS } from '../../src/adapters/image.js';
import { isPdfJsParseError } from '../../src/adapters/pdf.js';
import { TamgaError } from '../../src/core/errors.js';
import { makeProvenance } from '../../src/core/provenance.js';
import { BufferReader } from '../../src/core/source.js';
import { renderPlan } from '../../src/core/edit.js';
import type { ImageFormat } from '../../src/core/types.js';
import { mergeXmp, parseXmp } from '../../src/metadata/xmp.js';
import { fastC2paCheck } from '../../src/metadata/c2pa-fast.js';
import { parseXmlStrictSubset, parseXmlWithSaxes } from '../../src/metadata/xml.js';
import { sniff } from '../../src/core/sniff.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { signC2pa } from '../../src/metadata/c2pa.js';
import { localSigner } from '../../src/metadata/cose.js';
import { CORPUS, hasCorpus, ROOT } from '../helpers.js';
import { mediaTargets } from './media-targets.js';
import { c2paDifferentialTarget } from './c2pa-targets.js';

export const REGRESSIONS_DIR = join(ROOT, 'fixtures', 'regressions');

/** Deterministic PRNG (mulberry32) so a failing run can be replayed from its seed. */
export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

export interface Mutator {
  name: string;
  mutate(input: Uint8Array, r: Rand, other: Uint8Array): Uint8Array;
}

const copy = (b: Uint8Array) => Buffer.from(b);

/** The mutations issue 10 names: truncation, bit flips, inflated lengths, swapped chunks, junk, nesting... */
export const MUTATORS: Mutator[] = [
  { name: 'truncate', mutate: (b, r) => b.subarray(0, r.int(b.length)) },
  {
    name: 'bitflip',
    mutate: (b, r) => {
      const o = copy(b);
      for (let i = 1 + r.int(8); i > 0 && o.length; i--) {
        const at = r.int(o.length);
        o[at] = o[at]! ^ (1 << r.int(8));
      }
      return o;
    },
  },
  {
    name: 'interesting-bytes',
    mutate: (b, r) => {
      const o = copy(b);
      for (let i = 1 + r.int(4); i > 0 && o.length; i--) o[r.int(o.length)] = r.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
      return o;
    },
  },
  {
    // Length fields are 2 or 4 bytes, big- or little-endian: overwrite an aligned word with a huge value.
    name: 'inflate-length',
    mutate: (b, r) => {
      const o = copy(b);
      if (o.length < 8) return o;
      const width = r.pick([2, 4]);
      const at = r.int(o.length - width) & ~1;
      const v = r.pick([0xffffffff, 0x7fffffff, 0x80000000, o.length + 1, 0xffff, 0x10000]);
      for (let i = 0; i < width; i++) o[at + i] = r.next() < 0.5 ? (v >>> (8 * (width - 1 - i))) & 0xff : (v >>> (8 * i)) & 0xff;
      return o;
    },
  },
  {
    name: 'swap-ranges',
    mutate: (b, r) => {
      const o = copy(b);
      if (o.length < 16) return o;
      const len = 1 + r.int(Math.min(256, o.length >> 2));
      const a = r.int(o.length - len);
      const c = r.int(o.length - len);
      const tmp = Buffer.from(o.subarray(a, a + len));
      o.copyWithin(a, c, c + len);
      tmp.copy(o, c);
      return o;
    },
  },
  {
    name: 'insert-junk',
    mutate: (b, r) => {
      const at = r.int(b.length + 1);
      const junk = Buffer.from(Array.from({ length: 1 + r.int(64) }, () => r.int(256)));
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    },
  },
  {
    name: 'append-junk',
    mutate: (b, r) => Buffer.concat([b, Buffer.from(Array.from({ length: 1 + r.int(4096) }, () => r.int(256)))]),
  },
  {
    name: 'duplicate-range',
    mutate: (b, r) => {
      if (b.length < 4) return copy(b);
      const a = r.int(b.length);
      const len = 1 + r.int(Math.min(4096, b.length - a));
      const at = r.int(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(a, a + len), b.subarray(at)]);
    },
  },
  {
    name: 'splice-other',
    mutate: (b, r, other) => Buffer.concat([b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1))]),
  },
];

export interface FuzzTarget {
  name: string;
  /** Seeds this target mutates. */
  seeds: Uint8Array[];
  /** Mutations that know this target's layout (box sizes, nesting...), mixed in with the generic ones. */
  mutators?: Mutator[];
  /** How often a step uses one of `mutators` rather than a generic one (default 0.35). */
  mutatorShare?: number;
  run(input: Uint8Array): Promise<unknown>;
}

const FIXED = makeProvenance({ contentId: 'fuzz', createdAt: '2026-01-01T00:00:00.000Z', generator: 'fuzz/1' });
const LABEL = { provenance: FIXED, disclosure: { line: 'AI-generated', texts: [{ lang: 'en', text: 'AI-generated' }] } };

/** Seed files per image format: our own demo fixtures, generated variants, labelled copies, small corpus files. */
export async function imageSeeds(): Promise<Record<ImageFormat, Uint8Array[]>> {
  const out: Partial<Record<ImageFormat, Uint8Array[]>> = {};
  const add = (f: ImageFormat, b: Uint8Array) => (out[f] ??= []).push(b);
  const demo = join(ROOT, 'fixtures', 'demo');
  for (const name of readdirSync(demo)) {
    const b = readFileSync(join(demo, name));
    const f = (await detect(b)).format as ImageFormat;
    add(f, b);
    add(f, (await label(b, FIXED, { visible: false })).data!);
  }
  const rgba = { create: { width: 24, height: 16, channels: 4 as const, background: { r: 10, g: 200, b: 90, alpha: 0.5 } } };
  add('png', await sharp(rgba).png().toBuffer());
  add('webp', await sharp(rgba).webp({ lossless: true }).toBuffer());
  add('jpeg', await sharp(rgba).jpeg().withMetadata().toBuffer());
  add('tiff', await sharp(rgba).tiff().toBuffer());
  const frames = await Promise.all([30, 140, 250].map((r) => sharp({ create: { width: 8, height: 8, channels: 4, background: { r, g: 77, b: 9, alpha: 1 } } }).png().toBuffer()));
  const anim = sharp(frames, { join: { animated: true } });
  add('gif', await anim.clone().gif().toBuffer());
  add('webp', await anim.clone().webp().toBuffer());
  for (const rel of ['generators/automatic1111_cropped.png', 'generators/novelai1_cropped.png', 'generators/automatic1111_cropped.jpg', 'camera/Canon_40D.jpg', 'camera/Fujifilm_FinePix_E500.jpg']) {
    const p = join(CORPUS, rel);
    if (hasCorpus && existsSync(p) && statSync(p).size < 256 * 1024) {
      const b = readFileSync(p);
      add((await detect(b)).format as ImageFormat, b);
    }
  }
  return out as Record<ImageFormat, Uint8Array[]>;
}

let allTargets: Promise<FuzzTarget[]> | undefined;

/**
 * Every parser in src/formats and every adapter's detect and label: the image containers and the
 * XMP parser/merger here, audio/video, PDF and text in media-targets.ts. Built once per process
 * (the seeds take ffmpeg runs).
 */
export function fuzzTargets(): Promise<FuzzTarget[]> {
  return (allTargets ??= Promise.all([imageTargets(), mediaTargets()]).then(([a, b]) => [...a, ...b]));
}

async function imageTargets(): Promise<FuzzTarget[]> {
  const seeds = await imageSeeds();
  const targets: FuzzTarget[] = [];
  for (const [format, container] of Object.entries(IMAGE_CONTAINERS) as [ImageFormat, NonNullable<(typeof IMAGE_CONTAINERS)[ImageFormat]>][]) {
    const s = seeds[format] ?? [];
    targets.push({
      name: `formats/${format}: read + planWrite`,
      seeds: s,
      run: async (input) => {
        const r = new BufferReader(input);
        const meta = await container.read(r);
        return renderPlan(r, await container.planWrite(r, meta, { xmp: Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'), exifIfd0Text: { 270: 'AI' } }));
      },
    });
    targets.push({ name: `detect: ${format}`, seeds: s, run: (input) => detect(input) });
    targets.push({ name: `label: ${format}`, seeds: s, run: (input) => label(input, FIXED, { visible: false }) });
  }
  const packets = Object.values(seeds)
    .flat()
    .map((b) => Buffer.from(b).toString('latin1'))
    .map((s) => s.slice(s.indexOf('<?xpacket begin'), s.indexOf('<?xpacket end') + 20))
    .filter((s) => s.length > 40)
    .map((s) => Buffer.from(s, 'latin1'));
  targets.push({ name: 'metadata/xmp: parse + merge', seeds: packets, run: async (input) => (parseXmp(input), mergeXmp(input, LABEL)) });
  // The strict XML reader's contract: when it answers, saxes builds the same tree (a disagreement is a crash).
  targets.push({
    name: 'metadata/xml: strict subset agrees with saxes',
    seeds: packets,
    run: async (input) => {
      const text = Buffer.from(input).toString('utf8');
      const fast = parseXmlStrictSubset(text);
      if (fast === undefined) return;
      let saxes: unknown;
      try {
        saxes = parseXmlWithSaxes(text);
      } catch (e) {
        saxes = e;
      }
      if (!isDeepStrictEqual(fast, saxes)) throw new Error('the strict XML reader and saxes disagree');
    },
  });
  // The native C2PA checks (JUMBF, CBOR, COSE, DER time stamps) on signed files of every format they read.
  const chain = await makeDevChain();
  const signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
  const signed: Uint8Array[] = [];
  for (const format of ['jpeg', 'png', 'webp', 'gif', 'tiff'] as const) signed.push(await signC2pa(seeds[format]![0]!, format, FIXED, { signer }));
  for (const rel of ['c2pa/C-algorithmic.jpg', 'c2pa/E-sig-CA-signature-mismatch.jpg', 'c2pa/XCA-datahash-mismatch.jpg', 'c2pa/C-algorithmic.dng']) {
    const p = join(CORPUS, rel);
    if (hasCorpus && existsSync(p) && statSync(p).size < 256 * 1024) signed.push(readFileSync(p));
  }
  targets.push({ name: 'metadata/c2pa-fast: native store check', seeds: signed, run: async (input) => fastC2paCheck(input, sniff(input)?.format ?? 'jpeg') });
  targets.push(await c2paDifferentialTarget());
  return targets.filter((t) => t.seeds.length > 0);
}

/** `refused`: the target threw a TamgaError (a correct answer to bad input); otherwise it accepted the input. */
export type CaseResult = { ok: true; refused: boolean } | { ok: false; kind: 'exception' | 'timeout' | 'memory'; message: string };

/**
 * Promise rejections nobody handled (a library's stray promise ends a Node process) count as a
 * crash of the case that was running. pdf.js parse errors are not counted: src/adapters/pdf.ts
 * drops those on purpose (see ignorePdfJsStrayRejections there).
 */
let strayRejection: unknown;
let listening = false;
function listenForStrayRejections(): void {
  if (listening) return;
  listening = true;
  process.on('unhandledRejection', (reason) => {
    if (!isPdfJsParseError(reason)) strayRejection ??= reason;
  });
}

/** Runs one case with a time bound. A TamgaError is a correct answer to bad input. */
export async function runCase(target: FuzzTarget, input: Uint8Array, timeoutMs: number): Promise<CaseResult> {
  listenForStrayRejections();
  strayRejection = undefined;
  const result = await runCaseBounded(target, input, timeoutMs);
  // Let a rejection that happened during the case be reported (Node does so after the microtasks).
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (result.ok && strayRejection !== undefined) {
    const e = strayRejection;
    return { ok: false, kind: 'exception', message: `unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
  }
  return result;
}

async function runCaseBounded(target: FuzzTarget, input: Uint8Array, timeoutMs: number): Promise<CaseResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CaseResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, kind: 'timeout', message: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const attempt = target.run(input).then(
    (): CaseResult => ({ ok: true, refused: false }),
    (e: unknown): CaseResult => (e instanceof TamgaError ? { ok: true, refused: true } : { ok: false, kind: 'exception', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function mutate(target: FuzzTarget, r: Rand): { input: Uint8Array; steps: string[] } {
  let input: Uint8Array = r.pick(target.seeds);
  const steps: string[] = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const m = target.mutators?.length && r.next() < (target.mutatorShare ?? 0.35) ? r.pick(target.mutators) : r.pick(MUTATORS);
    steps.push(m.name);
    input = m.mutate(input, r, r.pick(target.seeds));
  }
  return { input, steps };
}

/** Writes a crashing input and what it did, so test/fuzz/regressions.test.ts replays it forever. */
export function saveRegression(target: FuzzTarget, input: Uint8Array, result: CaseResult, steps: string[]): string {
  mkdirSync(REGRESSIONS_DIR, { recursive: true });
  const id = createHash('sha256').update(input).digest('hex').slice(0, 12);
  const base = join(REGRESSIONS_DIR, `${target.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}-${id}`);
  writeFileSync(`${base}.bin`, input);
  writeFileSync(`${base}.json`, JSON.stringify({ target: target.name, steps, result }, null, 2) + '\n');
  return `${base}.bin`;
}
