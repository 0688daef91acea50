/**
 * bench/visible: cost of the visible layer, in ms per megapixel.
 *  - label: visible badge + metadata (label() on the bytes) vs the floor, a plain sharp
 *    decode + re-encode of the same image at the same quality (what any re-encoding tool pays);
 *  - detect: the badge scan (visibleBadgeFindings) vs its floor, sharp's downscaled greyscale
 *    decode alone, and a whole detect() (metadata + badge scan).
 * Run: npm run bench:visible [-- --runs 3]
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { REENCODE_QUALITY } from '../src/media/codec.js';
import { detect, label } from '../src/index.js';
import { visibleBadgeFindings } from '../src/disclosure/visible.js';

const argR = process.argv.indexOf('--runs');
const RUNS = argR > 0 ? Number(process.argv[argR + 1]) : 3;

const SIZES: [number, number, 'jpeg' | 'png'][] = [
  [1024, 768, 'jpeg'],
  [4000, 3000, 'jpeg'],
  [8000, 6000, 'jpeg'],
  [2048, 1536, 'png'],
];

/** A photo-like test image: gradients plus texture, so encoders do real work. */
async function makeImage(w: number, h: number, fmt: 'jpeg' | 'png'): Promise<Buffer> {
  const tile = 256;
  const px = Buffer.alloc(tile * tile * 3);
  for (let y = 0; y < tile; y++) for (let x = 0; x < tile; x++) for (let c = 0; c < 3; c++) px[(y * tile + x) * 3 + c] = (x * (c + 1) + y * 2 + ((x * y * 7) % 61)) & 255;
  const t = await sharp(px, { raw: { width: tile, height: tile, channels: 3 } }).png().toBuffer();
  const img = sharp({ create: { width: w, height: h, channels: 3, background: '#6080a0' } }).composite([{ input: t, tile: true, blend: 'overlay' }]);
  return fmt === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up (fonts, libvips caches)
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
}

sharp.cache(false);
console.log(`bench/visible: ms per megapixel, median of ${RUNS} runs (kz policy: kk+ru badge, then metadata)\n`);
console.log('image               | label  reencode  ratio | scan  decode-floor  ratio | detect()');
for (const [w, h, fmt] of SIZES) {
  const input = await makeImage(w, h, fmt);
  const mp = (w * h) / 1e6;
  const labelled = (await label(input, {}, {})).data!;
  const found = await visibleBadgeFindings(labelled);
  if (found.length !== 1) throw new Error(`bench: the badge was not found in the ${w}x${h} ${fmt}`);
  const tLabel = await median(() => label(input, {}, {}));
  const tFloor = await median(() => (fmt === 'jpeg' ? sharp(input).jpeg({ quality: REENCODE_QUALITY, chromaSubsampling: '4:4:4' }) : sharp(input).png({ compressionLevel: 6 })).toBuffer());
  const tScan = await median(() => visibleBadgeFindings(labelled));
  const s = Math.min(1, Math.sqrt(1_500_000 / (w * h)));
  const tDecode = await median(() => sharp(labelled).resize(Math.round(w * s), Math.round(h * s)).greyscale().raw().toBuffer());
  const tDetect = await median(() => detect(labelled));
  const per = (ms: number) => (ms / mp).toFixed(1).padStart(5);
  console.log(
    `${`${w}x${h} ${fmt}`.padEnd(19)} | ${per(tLabel)}  ${per(tFloor)}    ${(tLabel / tFloor).toFixed(2)} | ${per(tScan)}  ${per(tDecode)}         ${(tScan / tDecode).toFixed(2)} | ${per(tDetect)}`,
  );
}
console.log('\nratio: tamga / the sharp-only floor on the same image (1.00 = no overhead beyond decoding and encoding)');
