import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/types.js';
import { verify } from '../../src/verify/index.js';
import { bestSdWatermarkMatch, binomialTail, sdWatermarkDetector } from '../../src/verify/signals/sd-watermark.js';
import type { SignalValue } from '../../src/verify/types.js';
import { bytesToBits, encodeDwtDct, type RgbImage } from '../../src/watermark/sd-dwtdct.js';
import { CORPUS, corpusFile, hasCorpus } from '../helpers.js';

const SD1 = bytesToBits(new TextEncoder().encode('StableDiffusionV1'));
const INPAINT = bytesToBits(new TextEncoder().encode('StableDiffusionV1-Inpainting'));
const SDXL = Uint8Array.from('101100111110110010010000011110111011000110011110', Number);

async function rgb(input: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input, { pages: 1 }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}
const raw = (img: RgbImage) => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });

/** The detector alone on encoded bytes (the scan path is tested once below). */
async function detect(bytes: Uint8Array, format: 'png' | 'jpeg' | 'webp'): Promise<Finding[]> {
  return sdWatermarkDetector.detect({ findings: [], format, kind: 'image', head: async (n) => bytes.subarray(0, n), load: async () => bytes });
}
const value = (f: Finding[]) => f[0]?.value as (SignalValue & { message: string; ber: number; bitErrors: number }) | undefined;

describe('Stable Diffusion dwtDct watermark detector (labelling-standards §8.8)', () => {
  it('binomial tail: the match thresholds are far out in the tail of unmarked images', () => {
    expect(binomialTail(4, 0)).toBeCloseTo(1 / 16);
    expect(binomialTail(4, 4)).toBe(1);
    expect(binomialTail(136, 13)).toBeLessThan(1e-20);
    expect(binomialTail(48, 4)).toBeLessThan(1e-9);
    expect(binomialTail(136, 30)).toBeLessThan(1e-9);
    expect(binomialTail(136, 40)).toBeGreaterThan(1e-9);
  });

  it.skipIf(!hasCorpus)('finds "StableDiffusionV1" written into photos, in PNG and in JPEG q90 (4:4:4)', async () => {
    for (const name of ['kodim09', 'kodim19', 'kodim03']) {
      const marked = raw(encodeDwtDct(await rgb(corpusFile(`images/natural/${name}.png`)), SD1));
      const png = value(await detect(await marked.clone().png().toBuffer(), 'png'));
      expect(png, name).toMatchObject({ grade: 'strong', generator: 'Stable Diffusion', method: 'dwtDct', message: 'StableDiffusionV1', bits: 136, bitErrors: 0 });
      const jpeg = value(await detect(await marked.clone().jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(), 'jpeg'));
      expect(jpeg, `${name} jpeg`).toMatchObject({ grade: 'strong', message: 'StableDiffusionV1' });
      expect(jpeg!.ber).toBeLessThanOrEqual(0.1);
    }
  });

  it.skipIf(!hasCorpus)('names the inpainting message and the SDXL message (float32 pipeline)', async () => {
    const img = await rgb(corpusFile('images/natural/kodim19.png'));
    const inpaint = value(await detect(await raw(encodeDwtDct(img, INPAINT)).png().toBuffer(), 'png'));
    expect(inpaint).toMatchObject({ grade: 'strong', message: 'StableDiffusionV1-Inpainting', bits: 224, bitErrors: 0 });
    const sdxl = value(await detect(await raw(encodeDwtDct(img, SDXL, { domain: 'float' })).png().toBuffer(), 'png'));
    expect(sdxl).toMatchObject({ grade: 'strong', generator: 'Stable Diffusion XL', message: 'SDXL', bits: 48, bitErrors: 0 });
  });

  it.skipIf(!hasCorpus)('a partial match is weak evidence; a different message is none', async () => {
    const img = await rgb(corpusFile('images/natural/kodim19.png'));
    const partial = SD1.slice();
    for (let i = 0; i < 136; i += 6) partial[i] = partial[i]! ^ 1; // 23 flipped bits: BER 0.17
    const weak = value(await detect(await raw(encodeDwtDct(img, partial)).png().toBuffer(), 'png'));
    expect(weak).toMatchObject({ grade: 'weak', message: 'StableDiffusionV1', bitErrors: 23 });
    const other = bytesToBits(new TextEncoder().encode('SomethingElse-1234'));
    expect(await detect(await raw(encodeDwtDct(img, other)).png().toBuffer(), 'png')).toEqual([]);
  });

  it.skipIf(!hasCorpus)('no unmarked corpus image carries the mark (images/, camera/, generators/)', async () => {
    let minBer = 1;
    let maxBer = 0;
    let decoded = 0;
    for (const dir of ['images/natural', 'camera', 'generators']) {
      for (const f of readdirSync(join(CORPUS, dir)).filter((f) => /\.(png|jpe?g|webp)$/i.test(f))) {
        const path = join(CORPUS, dir, f);
        const format = /\.png$/i.test(f) ? 'png' : /\.webp$/i.test(f) ? 'webp' : 'jpeg';
        expect(await detect(readFileSync(path), format), `${dir}/${f}`).toEqual([]);
        const m = bestSdWatermarkMatch(await rgb(path));
        if (!m) continue;
        decoded++;
        minBer = Math.min(minBer, m.ber);
        maxBer = Math.max(maxBer, m.ber);
      }
    }
    console.log(`[sd-watermark] unmarked corpus: ${decoded} images >= 256x256, best-message BER ${minBer.toFixed(3)}..${maxBer.toFixed(3)}`);
    expect(decoded).toBeGreaterThan(20);
    expect(minBer).toBeGreaterThan(0.3);
  });

  it.skipIf(!hasCorpus)('a scan of an SD-marked PNG without metadata: evidence sd-watermark, verdict unlabelled', async () => {
    const png = await raw(encodeDwtDct(await rgb(corpusFile('images/natural/kodim09.png')), SD1)).png().toBuffer();
    const v = await verify(png);
    expect(v.evidence.map((e) => e.kind)).toEqual(['sd-watermark']);
    expect(v.evidence[0]!.where).toBe('png:pixels');
    expect(v.verdict).toBe('unlabelled');
    // Headers only (`visible: false`, scan --no-visible): no pixel decode, so no such evidence.
    expect((await verify(png, { visible: false })).evidence).toEqual([]);
    // The unmarked original is not synthetic.
    const plain = await raw(await rgb(corpusFile('images/natural/kodim09.png'))).png().toBuffer();
    expect((await verify(plain)).verdict).toBe('not-synthetic');
  });

  it('skips encodings that cannot carry the mark (4:2:0 JPEG, lossy WebP) after reading only their header', async () => {
    const img = await rgb(await sharp({ create: { width: 512, height: 512, channels: 3, background: '#6080a0' } }).png().toBuffer());
    const marked = raw(encodeDwtDct(img, SD1));
    for (const [bytes, format] of [
      [await marked.clone().jpeg({ quality: 95 }).toBuffer(), 'jpeg'],
      [await marked.clone().webp({ quality: 95 }).toBuffer(), 'webp'],
    ] as const) {
      let loaded = false;
      const f = await sdWatermarkDetector.detect({ findings: [], format, kind: 'image', head: async (n) => bytes.subarray(0, n), load: async () => ((loaded = true), bytes) });
      expect(f, format).toEqual([]);
      expect(loaded, format).toBe(false);
    }
    // 4:4:4 JPEG keeps full-resolution chroma: decoded and found.
    expect(value(await detect(await marked.clone().jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(), 'jpeg'))?.message).toBe('StableDiffusionV1');
  });

  it('skips images below 256x256 and non-images without decoding', async () => {
    const small = await sharp({ create: { width: 255, height: 256, channels: 3, background: '#808080' } }).png().toBuffer();
    expect(await detect(small, 'png')).toEqual([]);
    let loaded = false;
    const f = await sdWatermarkDetector.detect({ findings: [], format: 'mp3', kind: 'audio', head: async () => new Uint8Array(), load: async () => ((loaded = true), new Uint8Array()) });
    expect(f).toEqual([]);
    expect(loaded).toBe(false);
  });
});
