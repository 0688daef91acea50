import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { bitsToBytes, bytesToBits, decodeDwtDct, encodeDwtDct, type RgbImage } from '../../src/watermark/sd-dwtdct.js';
import { corpusFile, hasCorpus } from '../helpers.js';

const SD1 = bytesToBits(new TextEncoder().encode('StableDiffusionV1'));

async function rgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}
const grey = (width: number, height: number, v = 128): RgbImage => ({ data: new Uint8Array(width * height * 3).fill(v), width, height });
const errors = (a: Uint8Array, b: Uint8Array) => a.reduce((n, x, i) => n + (x === b[i] ? 0 : 1), 0);
const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('imwatermark dwtDct / dwtDctSvd reimplementation (labelling-standards §8.8)', () => {
  it('lays bytes out MSB first, as numpy unpackbits does', () => {
    expect(Array.from(SD1.subarray(0, 8)).join('')).toBe('01010011'); // 'S' = 0x53
    expect(new TextDecoder().decode(bitsToBytes(SD1))).toBe('StableDiffusionV1');
  });

  it('quantises the first largest non-DC LL entry of each 4x4 block of U with step 36', () => {
    // Flat grey: U = 128, every LL entry is 256, so entry [0][1] (the first non-DC on ties) is
    // marked: 261 for a 0 (U + 2.5 -> 130 after truncation), 279 for a 1 (U + 11.5 -> 139).
    for (const [bit, expected] of [
      [0, [128, 127, 132]],
      [1, [128, 124, 150]],
    ] as const) {
      const out = encodeDwtDct(grey(256, 256), [bit]);
      // LL entry [0][1] covers pixels x 2..3, y 0..1; entry [0][0] (x 0..1) is untouched.
      for (const [x, y] of [[2, 0], [3, 0], [2, 1], [3, 1]] as const) expect(px(out, x, y)).toEqual(expected);
      expect(px(out, 0, 0)).toEqual([128, 128, 128]);
      expect(px(out, 4, 0)).toEqual([128, 128, 128]);
      // Next block (LL columns 4..7, pixels x 8..15) carries the same bit again (1-bit message).
      expect(px(out, 10, 0)).toEqual(expected);
      expect(decodeDwtDct(out, 1).bits[0]).toBe(bit);
    }
  });

  it('rebuilds U with the library\'s swapped details: each 2x2 cell of U is transposed', () => {
    const img = grey(256, 256);
    img.data.set([128, 128, 200], 1 * 3); // pixel (1, 0): blue-ish, U well above 128
    const out = encodeDwtDct(img, [0]);
    expect(px(out, 1, 0)[2]).toBeLessThan(140);
    expect(px(out, 0, 1)[2]).toBeGreaterThan(190); // moved to (0, 1)
  });

  it('refuses images below 256x256 pixels and malformed buffers with INVALID_OPTION', () => {
    expect(() => encodeDwtDct(grey(255, 256), SD1)).toThrow(TamgaError);
    expect(() => decodeDwtDct(grey(200, 200), 136)).toThrow(/at least 256x256/);
    expect(() => decodeDwtDct({ data: new Uint8Array(10), width: 256, height: 256 }, 136)).toThrow(TamgaError);
    expect(() => decodeDwtDct(grey(256, 256), 0)).toThrow(TamgaError);
  });

  it.skipIf(!hasCorpus)('round-trips 136 and 64 bits on photos, in both pixel domains and with dwtDctSvd', async () => {
    const m64 = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 7 > 3 ? 1 : 0);
    for (const name of ['kodim09', 'kodim19', 'kodim08']) {
      const img = await rgb(corpusFile(`images/natural/${name}.png`));
      for (const bits of [SD1, m64]) {
        const d = decodeDwtDct(encodeDwtDct(img, bits), bits.length);
        expect(errors(d.bits, bits), `${name} dwtDct ${bits.length}`).toBe(0);
        expect(Math.min(...d.confidence)).toBeGreaterThan(0);
        expect(errors(decodeDwtDct(encodeDwtDct(img, bits, { method: 'dwtDctSvd' }), bits.length, { method: 'dwtDctSvd' }).bits, bits), `${name} svd`).toBe(0);
      }
      const f = decodeDwtDct(encodeDwtDct(img, SD1, { domain: 'float' }), 136, { domain: 'float' });
      expect(errors(f.bits, SD1), `${name} float`).toBe(0);
      // Unmarked, the same photo reads nothing like the message.
      expect(errors(decodeDwtDct(img, 136).bits, SD1)).toBeGreaterThan(40);
    }
  });

  it.skipIf(!hasCorpus)('both methods keep the picture close (PSNR > 38 dB on a photo)', async () => {
    const img = await rgb(corpusFile('images/natural/kodim19.png'));
    for (const method of ['dwtDct', 'dwtDctSvd'] as const) {
      const out = encodeDwtDct(img, SD1, { method });
      let se = 0;
      for (let i = 0; i < img.data.length; i++) se += (img.data[i]! - out.data[i]!) ** 2;
      expect(10 * Math.log10((255 * 255) / (se / img.data.length)), method).toBeGreaterThan(38);
    }
  });
});
