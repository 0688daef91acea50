import { readdirSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { cyclicCrossCorrelation, cyclicCrossCorrelationPair, fft, spectrum } from '../../src/watermark/fft.js';
import { detectImageWatermark, embedImageWatermark, type RawImage } from '../../src/watermark/image.js';
import { corpusFile, hasCorpus } from '../helpers.js';

const ID = Uint8Array.from([0x01, 0x9a, 0xb0, 0xc4, 0x5f, 0x3e, 0x7d, 0x21]);
const KEY = 'test-key';

async function raw(input: Buffer | string): Promise<RawImage> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
const encode = (img: RawImage) => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } }).png().toBuffer();

/** A synthetic photo-like scene (gradients, shapes, texture) so the tests run without the corpus. */
async function scene(width: number, height: number): Promise<RawImage> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="#2a4d69"/><stop offset="1" stop-color="#e8c07d"/></linearGradient>
    <pattern id="p" width="9" height="7" patternUnits="userSpaceOnUse"><rect width="9" height="7" fill="#6b8e23"/><circle cx="4" cy="3" r="2" fill="#3b5323"/></pattern></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><rect x="5%" y="55%" width="60%" height="40%" fill="url(#p)"/>
    <circle cx="75%" cy="30%" r="15%" fill="#f4f1de"/></svg>`;
  return raw(await sharp(Buffer.from(svg)).png().toBuffer());
}

const decodesTo = (d: ReturnType<typeof detectImageWatermark>) => (d ? Buffer.from(d.payload).toString('hex') : undefined);
const idHex = Buffer.from(ID).toString('hex');

describe('image watermark', () => {
  let img: RawImage;
  let marked: RawImage;
  beforeAll(async () => {
    img = await scene(640, 448);
    marked = { ...img, data: embedImageWatermark(img, ID, KEY) };
  });

  it('carries the id, keeps chroma, and stays near-invisible (PSNR >= 36 dB)', () => {
    const d = detectImageWatermark(marked, KEY);
    expect(decodesTo(d)).toBe(idHex);
    expect(d!.pValue).toBeLessThan(1e-6);
    let se = 0;
    let hueChanged = 0;
    for (let i = 0; i < img.data.length; i += 3) {
      const dr = marked.data[i]! - img.data[i]!;
      // The same delta on R, G and B (away from clipping): the hue is untouched.
      if (img.data[i]! > 8 && img.data[i]! < 247 && img.data[i + 1]! > 8 && img.data[i + 1]! < 247 && marked.data[i + 1]! - img.data[i + 1]! !== dr) hueChanged++;
      se += dr * dr;
    }
    expect(hueChanged).toBe(0);
    expect(10 * Math.log10((255 * 255) / (se / (img.data.length / 3)))).toBeGreaterThan(36);
  });

  it('finds nothing with a wrong key, or in the unmarked image', () => {
    for (let k = 0; k < 10; k++) expect(detectImageWatermark(marked, `other-${k}`)).toBeUndefined();
    expect(detectImageWatermark(img, KEY)).toBeUndefined();
  });

  it.each([
    ['JPEG quality 50', (b: Buffer) => sharp(b).jpeg({ quality: 50 }).toBuffer()],
    ['resize 0.5', (b: Buffer) => sharp(b).resize(320).png().toBuffer()],
    ['screenshot: resize 0.8 + JPEG 80', (b: Buffer) => sharp(b).resize(512).jpeg({ quality: 80 }).toBuffer()],
    ['crop to 70%', (b: Buffer) => sharp(b).extract({ left: 90, top: 40, width: 448, height: 314 }).png().toBuffer()],
    ['WebP 80', (b: Buffer) => sharp(b).webp({ quality: 80 }).toBuffer()],
    ['brightness +20% (saturated highlights)', (b: Buffer) => sharp(b).modulate({ brightness: 1.2 }).png().toBuffer()],
    ['contrast +20% around mid-grey', (b: Buffer) => sharp(b).linear(1.2, -25.6).png().toBuffer()],
    ['centre crop to 75% of the area', (b: Buffer) => sharp(b).extract({ left: 43, top: 30, width: 554, height: 388 }).png().toBuffer()],
    ['rotate 2 degrees, cropped back to the original size', async (b: Buffer) => {
      const turned = await sharp(b).rotate(2).png().toBuffer({ resolveWithObject: true });
      const { width, height } = turned.info;
      return sharp(turned.data).extract({ left: Math.floor((width - 640) / 2), top: Math.floor((height - 448) / 2), width: 640, height: 448 }).png().toBuffer();
    }],
    ['rotate -1.5 degrees on the enlarged canvas', (b: Buffer) => sharp(b).rotate(-1.5).png().toBuffer()],
  ])('survives %s', async (_name, attack) => {
    const d = detectImageWatermark(await raw(await attack(await encode(marked))), KEY);
    expect(decodesTo(d)).toBe(idHex);
  });

  it.each([
    ['a horizontal flip', (b: Buffer) => sharp(b).flop().png().toBuffer()],
    ['a horizontal flip + JPEG 75 + resize 0.75', (b: Buffer) => sharp(b).flop().resize(480).jpeg({ quality: 75 }).toBuffer()],
  ])('survives %s, and says it was flipped', async (_name, attack) => {
    const d = detectImageWatermark(await raw(await attack(await encode(marked))), KEY);
    expect(decodesTo(d)).toBe(idHex);
    expect(d!.flipped).toBe(true);
    expect(detectImageWatermark(marked, KEY)!.flipped).toBeUndefined();
  });

  it.each([
    ['width stretched x1.2', (b: Buffer) => sharp(b).resize(768, 448, { fit: 'fill' }).png().toBuffer()],
    ['height stretched x1.15 + JPEG 85', (b: Buffer) => sharp(b).resize(640, 515, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer()],
    ['width squeezed x0.8', (b: Buffer) => sharp(b).resize(512, 448, { fit: 'fill' }).png().toBuffer()],
  ])('survives an aspect-ratio change: %s', async (_name, attack) => {
    expect(decodesTo(detectImageWatermark(await raw(await attack(await encode(marked))), KEY))).toBe(idHex);
  });

  it('survives Gaussian noise (sigma 5 per channel)', async () => {
    let seed = 12345;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
    const noisy = Uint8Array.from(marked.data, (v) => Math.round(v + 5 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())));
    expect(decodesTo(detectImageWatermark({ ...marked, data: noisy }, KEY))).toBe(idHex);
  });

  it.skipIf(!hasCorpus)('survives brightness +20% on a photo with large clipped highlights (regression: NaN in the detection plane)', async () => {
    const photo = await raw(corpusFile('images/natural/kodim15.png'));
    const bright = await raw(await sharp(await encode({ ...photo, data: embedImageWatermark(photo, ID, KEY) })).modulate({ brightness: 1.2 }).png().toBuffer());
    expect(decodesTo(detectImageWatermark(bright, KEY))).toBe(idHex);
  });

  it('two keys coexist: each finds its own id', () => {
    const other = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
    const both = { ...img, data: embedImageWatermark(marked, other, 'second-key') };
    expect(decodesTo(detectImageWatermark(both, KEY))).toBe(idHex);
    expect(decodesTo(detectImageWatermark(both, 'second-key'))).toBe('0908070605040302');
  });

  it('refuses images too small to carry it, bad ids and empty keys', async () => {
    const tiny = await scene(100, 80);
    expect(() => embedImageWatermark(tiny, ID, KEY)).toThrow(TamgaError);
    expect(() => embedImageWatermark(img, ID.subarray(0, 4), KEY)).toThrow(/8 bytes/);
    expect(() => embedImageWatermark(img, ID, '')).toThrow(/key/);
  });

  it.skipIf(!hasCorpus)('has no false positives on the unmarked natural and camera photos', async () => {
    const files = [
      ...readdirSync(corpusFile('images/natural')).filter((f) => f.endsWith('.png')).map((f) => `images/natural/${f}`),
      ...readdirSync(corpusFile('camera')).filter((f) => f.endsWith('.jpg')).map((f) => `camera/${f}`),
    ];
    for (const f of files) {
      const photo = await raw(corpusFile(f));
      expect(detectImageWatermark(photo, KEY), f).toBeUndefined();
    }
  }, 120_000);
});

describe('FFT helpers of the image detector', () => {
  it('fft matches a direct DFT and inverts', () => {
    const n = 16;
    const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + i * 0.1);
    const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
    const fr = Float64Array.from(re);
    const fi = Float64Array.from(im);
    fft(fr, fi);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        sr += re[t]! * Math.cos(a) - im[t]! * Math.sin(a);
        si += re[t]! * Math.sin(a) + im[t]! * Math.cos(a);
      }
      expect(fr[k]).toBeCloseTo(sr, 9);
      expect(fi[k]).toBeCloseTo(si, 9);
    }
    fft(fr, fi, true);
    for (let t = 0; t < n; t++) expect(fr[t]).toBeCloseTo(re[t]!, 9);
  });

  it('correlates two grids in one complex FFT pair exactly as one at a time', () => {
    const n = 8;
    const a = Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 0.37));
    const b = Float64Array.from({ length: n * n }, (_, i) => Math.cos(i * 0.91));
    const t = Float64Array.from({ length: n * n }, (_, i) => ((i * 7) % 5) - 2);
    const pair = cyclicCrossCorrelationPair(a, b, spectrum(t, n), n);
    const ca = cyclicCrossCorrelation(a, t, n);
    const cb = cyclicCrossCorrelation(b, t, n);
    // C[d] = sum_k a[k + d] t[k], checked directly at one shift.
    const d = 3 * n + 5;
    let direct = 0;
    for (let k = 0; k < n * n; k++) direct += a[(((Math.floor(k / n) + 3) % n) * n + ((k % n) + 5) % n)]! * t[k]!;
    expect(ca[d]).toBeCloseTo(direct, 9);
    for (let i = 0; i < n * n; i++) {
      expect(pair.a[i]).toBeCloseTo(ca[i]!, 9);
      expect(pair.b[i]).toBeCloseTo(cb[i]!, 9);
    }
  });
});
