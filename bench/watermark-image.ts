/**
 * bench/watermark-image: robustness, quality and speed of tamga's keyed image watermark on the
 * shared corpus (Kodak set + camera photos), with the false-positive check on unmarked images.
 * Run: npm run bench:watermark-image [-- --images 24 --keys 20]
 * (../shared/bench, with reference figures of public watermarkers, is not in this checkout: this
 * harness applies the same kinds of attack so the figures can be compared once it lands.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { detectImageWatermark, embedImageWatermark, type RawImage } from '../src/watermark/image.js';

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');
const KEY = 'bench-key';
const ID = Uint8Array.from([0x01, 0x9a, 0xb0, 0xc4, 0x5f, 0x3e, 0x7d, 0x21]);

async function raw(input: Buffer | string): Promise<RawImage> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
const png = (img: RawImage) => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } }).png().toBuffer();

type Attack = [string, (b: Buffer, w: number, h: number) => Promise<Buffer>];
const ATTACKS: Attack[] = [
  ['none', async (b) => b],
  ['jpeg 90', (b) => sharp(b).jpeg({ quality: 90 }).toBuffer()],
  ['jpeg 75', (b) => sharp(b).jpeg({ quality: 75 }).toBuffer()],
  ['jpeg 50', (b) => sharp(b).jpeg({ quality: 50 }).toBuffer()],
  ['resize 0.75', (b, w) => sharp(b).resize(Math.round(w * 0.75)).png().toBuffer()],
  ['resize 0.5', (b, w) => sharp(b).resize(Math.round(w * 0.5)).png().toBuffer()],
  ['screenshot (0.8x + jpeg 80)', (b, w) => sharp(b).resize(Math.round(w * 0.8)).jpeg({ quality: 80 }).toBuffer()],
  ['crop 90%', (b, w, h) => sharp(b).extract({ left: Math.round(w * 0.05), top: Math.round(h * 0.05), width: Math.round(w * 0.9), height: Math.round(h * 0.9) }).png().toBuffer()],
  ['crop 70%', (b, w, h) => sharp(b).extract({ left: Math.round(w * 0.2), top: Math.round(h * 0.1), width: Math.round(w * 0.7), height: Math.round(h * 0.7) }).png().toBuffer()],
  ['crop 50% + jpeg 70', async (b, w, h) => sharp(await sharp(b).extract({ left: 13, top: 29, width: Math.round(w * 0.5), height: Math.round(h * 0.5) }).toBuffer()).jpeg({ quality: 70 }).toBuffer()],
  ['blur sigma 1', (b) => sharp(b).blur(1).png().toBuffer()],
  ['brightness +10%', (b) => sharp(b).modulate({ brightness: 1.1 }).png().toBuffer()],
  ['webp 80', (b) => sharp(b).webp({ quality: 80 }).toBuffer()],
];

const files: string[] = [];
const nat = join(corpus, 'images', 'natural');
if (existsSync(nat)) files.push(...readdirSync(nat).filter((f) => f.endsWith('.png')).sort().map((f) => join(nat, f)).slice(0, arg('images', 24)));
const cam = join(corpus, 'camera');
if (existsSync(cam)) files.push(...readdirSync(cam).filter((f) => f.endsWith('.jpg')).map((f) => join(cam, f)));
if (!files.length) throw new Error(`no corpus images under ${corpus}`);

const hits = new Map(ATTACKS.map(([n]) => [n, 0]));
let tried = 0;
let psnrSum = 0;
let embedMs = 0;
let detectMs = 0;
let megapixels = 0;
let falsePositives = 0;
let fpTrials = 0;
const keys = Array.from({ length: arg('keys', 20) }, (_, i) => `wrong-key-${i}`);
for (const f of files) {
  const img = await raw(f);
  if (Math.min(img.width, img.height) < 128) continue;
  tried++;
  const mp = (img.width * img.height) / 1e6;
  megapixels += mp;
  let t = performance.now();
  const marked = { ...img, data: embedImageWatermark(img, ID, KEY) };
  embedMs += performance.now() - t;
  let se = 0;
  for (let i = 0; i < marked.data.length; i++) se += (marked.data[i]! - img.data[i]!) ** 2;
  psnrSum += 10 * Math.log10((255 * 255) / (se / marked.data.length));
  const markedPng = await png(marked);
  for (const [name, attack] of ATTACKS) {
    const attacked = await raw(await attack(markedPng, img.width, img.height));
    t = performance.now();
    const d = detectImageWatermark(attacked, KEY);
    if (name === 'none') detectMs += performance.now() - t;
    if (d && Buffer.from(d.payload).equals(Buffer.from(ID))) hits.set(name, hits.get(name)! + 1);
  }
  // False positives: the unmarked original under the right key, the marked one under wrong keys.
  for (const k of [KEY, ...keys]) {
    fpTrials++;
    if (detectImageWatermark(k === KEY ? img : marked, k)) falsePositives++;
  }
}
console.log(`bench/watermark-image: ${tried} images (${megapixels.toFixed(1)} MP), key-derived 64-bit id, RS + 24-bit MAC`);
console.log(`quality: mean PSNR ${(psnrSum / tried).toFixed(1)} dB`);
console.log(`speed: embed ${(embedMs / megapixels).toFixed(0)} ms/MP, detect ${(detectMs / megapixels).toFixed(0)} ms/MP (pixels already decoded)`);
console.log('detection rate per attack (payload decoded exactly):');
for (const [name] of ATTACKS) console.log(`  ${name.padEnd(30)} ${((100 * hits.get(name)!) / tried).toFixed(0).padStart(4)}%  (${hits.get(name)}/${tried})`);
console.log(`false positives: ${falsePositives} in ${fpTrials} trials (unmarked images, and marked ones under ${keys.length} wrong keys); bound per trial ~5e-9`);
