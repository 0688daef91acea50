/**
 * bench/watermark-image: robustness, quality and speed of tamga's keyed image watermark on the
 * shared corpus (Kodak set + camera photos), side by side with the imwatermark baselines
 * (dwtDct, dwtDctSvd; bench/baselines/imwatermark.ts), plus the false-positive checks on tamga
 * (unmarked images, their attacked copies, wrong keys).
 *
 * Run: npm run bench:watermark-image [-- --images 24 --keys 20 --attacks "jpeg 50,rotate 2°" --methods tamga]
 *   --images N     first N Kodak images (the camera photos are always added unless --no-camera)
 *   --attacks a,b  only the attacks whose name contains one of the comma-separated strings
 *   --files a,b    only the corpus files whose name contains one of these strings
 *   --methods a,b  only these methods (tamga, imwatermark dwtDct, ...)
 *   --keys N       wrong keys tried on each marked image (false-positive check)
 *   --repeats N    extra embed/detect runs per image for the warm speed figures (default 3)
 *   --verbose      list every miss on stderr
 * Each image carries its own seeded random 64-bit payload; success = all 64 bits exact.
 * Speed is CPU time (process.cpuUsage, this process only) of embed/detect on decoded pixels, so the
 * figures do not depend on the other processes sharing the machine; wall time is printed alongside.
 * (../shared/bench is not in this checkout: this harness applies the attacks the issue names.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp, { type Sharp } from 'sharp';
import { detectImageWatermark, embedImageWatermark } from '../src/watermark/image.js';
import { type BaselineWatermarker, imwatermarkDwtDct, imwatermarkDwtDctSvd, realImwatermarkDwtDct, realImwatermarkDwtDctSvd } from './baselines/imwatermark.js';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (n: string, d: number) => Number(opt(n) ?? d);
const list = (n: string) => opt(n)?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');
const KEY = 'bench-key';

/** RGB pixels, the common currency of every method here. */
interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A method under test: embeds 64 bits, returns the 64 bits it reads back (or undefined). */
interface Method {
  name: string;
  embed(img: Rgb, payload: Uint8Array): Rgb;
  detect(img: Rgb): Uint8Array | undefined;
}

const toBits = (bytes: Uint8Array) => Uint8Array.from({ length: bytes.length * 8 }, (_, i) => (bytes[i >> 3]! >> (7 - (i & 7))) & 1);
const fromBits = (bits: Uint8Array) => Uint8Array.from({ length: bits.length >> 3 }, (_, b) => bits.subarray(b * 8, b * 8 + 8).reduce((a, v) => (a << 1) | (v & 1), 0));

const tamga: Method = {
  name: 'tamga',
  embed: (img, payload) => ({ ...img, data: embedImageWatermark({ ...img, channels: 3 }, payload, KEY) }),
  detect: (img) => detectImageWatermark({ ...img, channels: 3 }, KEY)?.payload,
};
const fromBaseline = (b: BaselineWatermarker): Method => ({
  name: b.name,
  embed: (img, payload) => b.embed(img, toBits(payload)),
  detect: (img) => fromBits(b.detect(img, 64)),
});

async function raw(input: Buffer | string): Promise<Rgb> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected RGB, got ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
const sharpOf = (img: Rgb) => sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } });

/** Mulberry32: a seeded PRNG so noise and payloads are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Adds N(0, sigma²) to every channel sample, clipped (Box-Muller on the seeded PRNG). */
function gaussianNoise(img: Rgb, sigma: number, seed: number): Rgb {
  const rnd = prng(seed);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rnd()));
    const t = 2 * Math.PI * rnd();
    out[i] = Math.min(255, Math.max(0, Math.round(img.data[i]! + sigma * r * Math.cos(t))));
    if (i + 1 < out.length) out[i + 1] = Math.min(255, Math.max(0, Math.round(img.data[i + 1]! + sigma * r * Math.sin(t))));
  }
  return { ...img, data: out };
}

/** Centre crop keeping `side` of each dimension. */
const centreCrop = (img: Rgb, side: number) => {
  const width = Math.round(img.width * side);
  const height = Math.round(img.height * side);
  return sharpOf(img).extract({ left: Math.floor((img.width - width) / 2), top: Math.floor((img.height - height) / 2), width, height });
};

/** An attack: marked pixels in, attacked pixels out (encoders run for real, through sharp). */
type Attack = [string, (img: Rgb, seed: number) => Promise<Rgb>];
const via = (f: (img: Rgb) => Sharp) => async (img: Rgb) => raw(await f(img).toBuffer());
const pngOf = (s: Sharp) => s.png({ compressionLevel: 1 });
const ALL_ATTACKS: Attack[] = [
  ['none', async (img) => img],
  ['jpeg 90', via((i) => sharpOf(i).jpeg({ quality: 90 }))],
  ['jpeg 75', via((i) => sharpOf(i).jpeg({ quality: 75 }))],
  ['jpeg 50', via((i) => sharpOf(i).jpeg({ quality: 50 }))],
  ['webp 80', via((i) => sharpOf(i).webp({ quality: 80 }))],
  ['resize 0.75', via((i) => pngOf(sharpOf(i).resize(Math.round(i.width * 0.75))))],
  ['resize 0.5', via((i) => pngOf(sharpOf(i).resize(Math.round(i.width * 0.5))))],
  ['screenshot (0.8x + jpeg 80)', via((i) => sharpOf(i).resize(Math.round(i.width * 0.8)).jpeg({ quality: 80 }))],
  ['brightness +10%', via((i) => pngOf(sharpOf(i).modulate({ brightness: 1.1 })))],
  ['brightness -20%', via((i) => pngOf(sharpOf(i).modulate({ brightness: 0.8 })))],
  ['brightness +20%', via((i) => pngOf(sharpOf(i).modulate({ brightness: 1.2 })))],
  // Contrast around mid-grey: out = 128 + k (in - 128), clipped.
  ['contrast -20%', via((i) => pngOf(sharpOf(i).linear(0.8, 128 * 0.2)))],
  ['contrast +20%', via((i) => pngOf(sharpOf(i).linear(1.2, -128 * 0.2)))],
  ['noise sigma 5', async (img, seed) => gaussianNoise(img, 5, seed)],
  ['blur sigma 1', via((i) => pngOf(sharpOf(i).blur(1)))],
  ['crop 90% side', via((i) => pngOf(centreCrop(i, 0.9)))],
  ['crop 75% area (centre)', via((i) => pngOf(centreCrop(i, Math.sqrt(0.75))))],
  ['crop 70% side (off-centre)', via((i) => pngOf(sharpOf(i).extract({ left: Math.round(i.width * 0.2), top: Math.round(i.height * 0.1), width: Math.round(i.width * 0.7), height: Math.round(i.height * 0.7) })))],
  ['crop 50% side + jpeg 70', async (i) => raw(await sharp(await pngOf(sharpOf(i).extract({ left: 13, top: 29, width: Math.round(i.width * 0.5), height: Math.round(i.height * 0.5) })).toBuffer()).jpeg({ quality: 70 }).toBuffer())],
  // sharp.rotate enlarges the canvas (black corners); the usual attack then crops back to the original size.
  ['rotate 2° (crop to size)', async (i) => {
    const r = await raw(await sharpOf(i).rotate(2, { background: '#000000' }).png({ compressionLevel: 1 }).toBuffer());
    return raw(await sharpOf(r).extract({ left: Math.floor((r.width - i.width) / 2), top: Math.floor((r.height - i.height) / 2), width: i.width, height: i.height }).png({ compressionLevel: 1 }).toBuffer());
  }],
  ['rotate 2° (enlarged canvas)', via((i) => pngOf(sharpOf(i).rotate(2, { background: '#000000' })))],
  // Issue 22's further targets: measured so the table shows where tamga stands on each.
  ['jpeg 30', via((i) => sharpOf(i).jpeg({ quality: 30 }))],
  ['h-flip', via((i) => pngOf(sharpOf(i).flop()))],
  ['h-flip + jpeg 75', via((i) => sharpOf(i).flop().jpeg({ quality: 75 }))],
  ['crop 50% area (centre)', via((i) => pngOf(centreCrop(i, Math.sqrt(0.5))))],
  ['aspect: width x1.2', via((i) => pngOf(sharpOf(i).resize(Math.round(i.width * 1.2), i.height, { fit: 'fill' })))],
  ...[5, 10].map((deg): Attack => [`rotate ${deg}° (crop to size)`, async (i) => {
    const r = await raw(await sharpOf(i).rotate(deg, { background: '#000000' }).png({ compressionLevel: 1 }).toBuffer());
    return raw(await sharpOf(r).extract({ left: Math.floor((r.width - i.width) / 2), top: Math.floor((r.height - i.height) / 2), width: i.width, height: i.height }).png({ compressionLevel: 1 }).toBuffer());
  }]),
];
const attackFilter = list('attacks');
const ATTACKS = attackFilter ? ALL_ATTACKS.filter(([n]) => attackFilter.some((a) => n.toLowerCase().includes(a))) : ALL_ATTACKS;
if (!ATTACKS.length) throw new Error(`no attack matches --attacks ${opt('attacks')}; names: ${ALL_ATTACKS.map(([n]) => n).join(', ')}`);

const files: string[] = [];
const nat = join(corpus, 'images', 'natural');
if (existsSync(nat)) files.push(...readdirSync(nat).filter((f) => f.endsWith('.png')).sort().map((f) => join(nat, f)).slice(0, num('images', 24)));
const cam = join(corpus, 'camera');
if (existsSync(cam) && !argv.includes('--no-camera')) files.push(...readdirSync(cam).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(cam, f)));
const fileFilter = list('files');
if (fileFilter) files.splice(0, files.length, ...files.filter((f) => fileFilter.some((n) => f.toLowerCase().includes(n))));
if (!files.length) throw new Error(`no corpus images under ${corpus}${fileFilter ? ` matching --files ${opt('files')}` : ''}`);

const methodFilter = list('methods');
/** tamga and the baselines (our reimplementations of imwatermark's dwtDct and dwtDctSvd, bench/baselines). */
const baselines = [imwatermarkDwtDct, imwatermarkDwtDctSvd, realImwatermarkDwtDct, realImwatermarkDwtDctSvd].filter((b): b is BaselineWatermarker => b !== undefined);
const METHODS = [tamga, ...baselines.map(fromBaseline)].filter((m) => !methodFilter || methodFilter.some((f) => m.name.toLowerCase().includes(f)));

/** CPU time (user + system, ms) and wall time of fn. */
function timed<T>(fn: () => T): { value: T; cpu: number; wall: number } {
  const c = process.cpuUsage();
  const t = performance.now();
  const value = fn();
  const d = process.cpuUsage(c);
  return { value, cpu: (d.user + d.system) / 1000, wall: performance.now() - t };
}

interface Stats {
  hits: Map<string, number>;
  psnr: number;
  embedCpu: number;
  embedWall: number;
  detectCpu: number;
  detectWall: number;
  detectAllCpu: number;
  detectAllMp: number;
  warmEmbedCpu: number;
  warmDetectCpu: number;
}
const stats = new Map<string, Stats>(METHODS.map((m) => [m.name, { hits: new Map(ATTACKS.map(([n]) => [n, 0])), psnr: 0, embedCpu: 0, embedWall: 0, detectCpu: 0, detectWall: 0, detectAllCpu: 0, detectAllMp: 0, warmEmbedCpu: 0, warmDetectCpu: 0 }]));
let tried = 0;
let megapixels = 0;
const fp = { unmarkedCpu: 0, unmarkedMp: 0, unmarked: 0, unmarkedTrials: 0, attacked: 0, attackedTrials: 0, wrongKey: 0, wrongKeyTrials: 0 };
const SPEED_REPEATS = num('repeats', 3);
const wrongKeys = Array.from({ length: num('keys', 20) }, (_, i) => `wrong-key-${i}`);
const t0 = performance.now();
for (const f of files) {
  const img = await raw(f);
  if (Math.min(img.width, img.height) < 128) continue;
  tried++;
  const mp = (img.width * img.height) / 1e6;
  megapixels += mp;
  // Seeded by the file name, so a --files subset reproduces the full run's payloads and noise.
  const fileSeed = [...f.split('/').pop()!].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0, 0x811c9dc5);
  const rnd = prng(fileSeed);
  const payload = Uint8Array.from({ length: 8 }, () => Math.floor(rnd() * 256));
  const hex = Buffer.from(payload).toString('hex');
  for (const m of METHODS) {
    const s = stats.get(m.name)!;
    const e = timed(() => m.embed(img, payload));
    s.embedCpu += e.cpu;
    s.embedWall += e.wall;
    const marked = e.value;
    let se = 0;
    for (let i = 0; i < marked.data.length; i++) se += (marked.data[i]! - img.data[i]!) ** 2;
    s.psnr += 10 * Math.log10((255 * 255) / Math.max(1e-9, se / marked.data.length));
    // Warm figures: the best of SPEED_REPEATS further runs (JIT warmed, no GC from the decoders).
    let bestEmbed = Infinity;
    let bestDetect = Infinity;
    for (let r = 0; r < SPEED_REPEATS; r++) {
      bestEmbed = Math.min(bestEmbed, timed(() => m.embed(img, payload)).cpu);
      bestDetect = Math.min(bestDetect, timed(() => m.detect(marked)).cpu);
    }
    s.warmEmbedCpu += bestEmbed;
    s.warmDetectCpu += bestDetect;
    for (const [ai, [name, attack]] of ATTACKS.entries()) {
      const attacked = await attack(marked, fileSeed + ai);
      const d = timed(() => m.detect(attacked));
      if (name === 'none') {
        s.detectCpu += d.cpu;
        s.detectWall += d.wall;
      }
      s.detectAllCpu += d.cpu;
      s.detectAllMp += (attacked.width * attacked.height) / 1e6;
      if (d.value && Buffer.from(d.value).toString('hex') === hex) s.hits.set(name, s.hits.get(name)! + 1);
      else if (argv.includes('--verbose')) console.error(`  miss: ${m.name} ${name} ${f.split('/').pop()}`);
    }
    if (m === tamga) {
      for (const k of wrongKeys) {
        fp.wrongKeyTrials++;
        if (detectImageWatermark({ ...marked, channels: 3 }, k)) fp.wrongKey++;
      }
    }
  }
  // False positives on the unmarked image and its attacked copies, under the bench key.
  if (METHODS.includes(tamga)) {
    fp.unmarkedTrials++;
    const u = timed(() => detectImageWatermark({ ...img, channels: 3 }, KEY));
    fp.unmarkedCpu += u.cpu;
    fp.unmarkedMp += mp;
    if (u.value) fp.unmarked++;
    for (const [ai, [name, attack]] of ATTACKS.entries()) {
      if (name === 'none') continue;
      fp.attackedTrials++;
      if (detectImageWatermark({ ...(await attack(img, fileSeed + 7777 + ai)), channels: 3 }, KEY)) fp.attacked++;
    }
  }
  process.stderr.write(`  ${tried}/${files.length} ${f.split('/').pop()} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

// Speed on a photo-sized frame: the corpus images are 0.3-0.4 MP, where fixed per-image costs
// (the 256 px working grid, the sync FFTs) weigh more per megapixel than on a 12 MP photo.
const BIG = { width: 4240, height: 2832 };
const bigSpeed = new Map<string, { embed: number; detect: number }>();
{
  const big = await raw(await sharp(files[0]!).resize(BIG.width, BIG.height, { fit: 'fill' }).png({ compressionLevel: 1 }).toBuffer());
  const mp = (big.width * big.height) / 1e6;
  const payload = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  for (const m of METHODS) {
    let embed = Infinity;
    let detect = Infinity;
    for (let r = 0; r < Math.max(1, SPEED_REPEATS); r++) {
      const e = timed(() => m.embed(big, payload));
      embed = Math.min(embed, e.cpu);
      detect = Math.min(detect, timed(() => m.detect(e.value)).cpu);
    }
    bigSpeed.set(m.name, { embed: embed / mp, detect: detect / mp });
  }
}

const pct = (n: number) => `${((100 * n) / tried).toFixed(0)}%`;
const col = Math.max(16, ...METHODS.map((m) => m.name.length + 2));
console.log(`bench/watermark-image: ${tried} images (${megapixels.toFixed(1)} MP), a seeded random 64-bit payload per image, success = all 64 bits exact`);
console.log(`methods: ${METHODS.map((m) => m.name).join(', ')}`);
console.log('');
console.log(`${'attack'.padEnd(30)}${METHODS.map((m) => m.name.padStart(col)).join('')}`);
for (const [name] of ATTACKS) console.log(`${name.padEnd(30)}${METHODS.map((m) => `${pct(stats.get(m.name)!.hits.get(name)!)} (${stats.get(m.name)!.hits.get(name)}/${tried})`.padStart(col)).join('')}`);
console.log('');
const nameOf = new Map([...stats].map(([name, s]) => [s, name]));
const row = (label: string, f: (s: Stats) => string) => console.log(`${label.padEnd(30)}${METHODS.map((m) => f(stats.get(m.name)!).padStart(col)).join('')}`);
row('PSNR (mean, dB)', (s) => (s.psnr / tried).toFixed(1));
row('embed CPU ms/MP (warm)', (s) => (s.warmEmbedCpu / megapixels).toFixed(1));
row('detect CPU ms/MP (warm, marked)', (s) => (s.warmDetectCpu / megapixels).toFixed(1));
row(`embed CPU ms/MP (${BIG.width}x${BIG.height})`, (s) => bigSpeed.get(nameOf.get(s)!)!.embed.toFixed(1));
row(`detect CPU ms/MP (${BIG.width}x${BIG.height})`, (s) => bigSpeed.get(nameOf.get(s)!)!.detect.toFixed(1));
row('embed CPU ms/MP (first call)', (s) => (s.embedCpu / megapixels).toFixed(1));
row('detect CPU ms/MP (1st, marked)', (s) => (s.detectCpu / megapixels).toFixed(1));
row('detect CPU ms/MP (all attacks)', (s) => (s.detectAllCpu / s.detectAllMp).toFixed(1));
row('embed wall ms/MP (first call)', (s) => (s.embedWall / megapixels).toFixed(1));
row('detect wall ms/MP (1st, marked)', (s) => (s.detectWall / megapixels).toFixed(1));
console.log(`(CPU time, process.cpuUsage, of single-threaded embed/detect on already-decoded RGB pixels; file decode/encode excluded.
 warm = best of ${SPEED_REPEATS} repeats per corpus image (0.3-0.4 MP); ${BIG.width}x${BIG.height} = the first image upscaled to 12 MP; first call = the one in the robustness loop, with JIT warm-up and GC of the decoders'
 garbage; all attacks = mean over every attacked copy, including the failed ones that run the whole crop + rotation search)`);
if (METHODS.some((m) => m.name.includes('real package'))) {
  console.log('(real package: its work runs in a python child per call, which this process\'s CPU time does not count; its wall time includes python and OpenCV start-up, about 0.3 s a call: read its speed rows as unmeasured)');
}
if (METHODS.includes(tamga)) {
  console.log('');
  console.log(`tamga false positives: ${fp.unmarked}/${fp.unmarkedTrials} unmarked images, ${fp.attacked}/${fp.attackedTrials} attacked unmarked copies, ${fp.wrongKey}/${fp.wrongKeyTrials} marked images under wrong keys; bound per trial ~2.0e-7 (pValue)`);
  console.log(`tamga detect CPU on unmarked images (the whole crop + rotation search): ${(fp.unmarkedCpu / fp.unmarkedMp).toFixed(1)} ms/MP, ${(fp.unmarkedCpu / fp.unmarkedTrials).toFixed(0)} ms per image`);
}
