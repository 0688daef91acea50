import sharp from 'sharp';
import type { Finding, Format } from '../../core/types.js';
import { jpegHeaderSegments } from '../../formats/jpeg.js';
import { bitsFromVotes, bytesToBits, DWTDCT_MIN_PIXELS, dwtDctVotes, type RgbImage } from '../../watermark/sd-dwtdct.js';
import { signal, type SignalDetector } from './types.js';

/**
 * The Stable Diffusion reference watermark (labelling-standards.md §8.8): imwatermark's public
 * `dwtDct` mark, read from pixels. SD 1.x scripts write "StableDiffusionV1" (136 bits; the
 * inpainting script "StableDiffusionV1-Inpainting", 224 bits) through uint8 BGR; SDXL writes a
 * fixed 48-bit message through float32 BGR, which shifts the colour conversion (sd-dwtdct.ts).
 * Block votes are computed once per pixel domain and folded for each message length.
 *
 * Grading. The mark has no key and no ECC, so it is evidence of SD reference tooling, never
 * proof: at most `strong`. Under the null hypothesis (unmarked image: every decoded bit an
 * independent fair coin) the chance of <= e errors in n bits is the binomial tail. BER <= 0.1
 * gives p <= 7.6e-10 for the 48-bit SDXL message, ~1e-23 for 136 bits and far less for 224:
 * `strong`. A partial match (BER above 0.1) whose tail is still below 1e-9 (136 bits: <= 30
 * errors; 224 bits: <= 66) is `weak`, as §8.8 suggests. Degenerate decodes of flat images
 * (all 0 or all 1) sit at the message's share of ones, about 0.5, far from either threshold;
 * the corpus tests record the lowest BER seen on unmarked images.
 */

const SDXL_BITS = '101100111110110010010000011110111011000110011110';
const MESSAGES: { name: string; generator: string; bits: Uint8Array; domain: 'uint8' | 'float' }[] = [
  { name: 'StableDiffusionV1', generator: 'Stable Diffusion', bits: bytesToBits(new TextEncoder().encode('StableDiffusionV1')), domain: 'uint8' },
  { name: 'StableDiffusionV1-Inpainting', generator: 'Stable Diffusion', bits: bytesToBits(new TextEncoder().encode('StableDiffusionV1-Inpainting')), domain: 'uint8' },
  { name: 'SDXL', generator: 'Stable Diffusion XL', bits: Uint8Array.from(SDXL_BITS, (c) => Number(c)), domain: 'float' },
];
/** BER at or below this is a match (`strong`). */
export const SD_MATCH_BER = 0.1;
/** A partial match is reported (`weak`) when its binomial tail is below this. */
export const SD_PARTIAL_P = 1e-9;
/** Formats sharp decodes to pixels. */
const PIXEL_FORMATS: ReadonlySet<Format> = new Set<Format>(['jpeg', 'png', 'webp', 'tiff']);
/** Above this many pixels the decode is skipped (bounded time per file in a scan; SD outputs are a few MP). */
const MAX_PIXELS = 1 << 26;

/** P(X <= errors) for X ~ Binomial(n, 1/2): the chance an unmarked image matches this well. */
export function binomialTail(n: number, errors: number): number {
  let term = Math.pow(2, -n); // C(n, 0) / 2^n
  let sum = term;
  for (let k = 1; k <= errors; k++) {
    term *= (n - k + 1) / k;
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * SD pipelines work in an 8x-downsampled latent, so their outputs are multiples of 8 on both
 * sides; and the mark's bit layout depends on the row length in blocks (width / 8), so a copy
 * whose width changed cannot decode anyway. Other sizes skip the pixel decode, which keeps a
 * scan of ordinary photos cheap.
 */
/** Larger than any SD output (4096 x 4096): an upscaled copy has lost the mark anyway. */
const MAX_SD_PIXELS = 4096 * 4096;

function plausibleSdSize(width: number, height: number): boolean {
  return width * height >= DWTDCT_MIN_PIXELS && width * height <= MAX_SD_PIXELS && width % 8 === 0 && height % 8 === 0;
}

/**
 * What the head of the file says before any pixel is decoded: whether the mark could have survived
 * the encoding at all, and the size when the header gives it. The mark lives in the chroma (U) at
 * full resolution, so 4:2:0 / 4:2:2 encodings (camera and most web JPEGs, lossy WebP, AVIF, HEIF)
 * and palettes (GIF) erase it: those files are skipped without reading more than their header.
 */
function mayCarrySdMark(format: Format, head: Uint8Array): { size?: { width: number; height: number } } | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (format === 'png') return b.length >= 24 ? { size: { width: b.readUInt32BE(16), height: b.readUInt32BE(20) } } : undefined;
  if (format === 'jpeg') {
    for (const { marker, at } of jpegHeaderSegments(head)) {
      // SOF0-15 except DHT (C4), JPG (C8) and DAC (CC): frame header with each component's sampling.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (at + 10 > b.length) return undefined;
        const height = b.readUInt16BE(at + 5);
        const width = b.readUInt16BE(at + 7);
        const components = b[at + 9]!;
        if (components !== 3 || at + 10 + components * 3 > b.length) return undefined;
        const sampling = [0, 1, 2].map((c) => b[at + 11 + c * 3]!);
        return sampling.every((s) => s === sampling[0]) ? { size: { width, height } } : undefined;
      }
    }
    return undefined;
  }
  // WebP: only the lossless codec keeps full-resolution chroma.
  if (format === 'webp') return b.includes('VP8L', 12, 'latin1') ? {} : undefined;
  return format === 'tiff' ? {} : undefined;
}

export interface SdWatermarkMatch {
  message: string;
  generator: string;
  domain: 'uint8' | 'float';
  bits: number;
  bitErrors: number;
  ber: number;
  pValue: number;
}

/** The best of the known SD messages in these pixels (lowest BER), matched or not. */
export function bestSdWatermarkMatch(img: RgbImage): SdWatermarkMatch | undefined {
  if (img.width * img.height < DWTDCT_MIN_PIXELS) return undefined;
  const votes = { uint8: dwtDctVotes(img, { domain: 'uint8' }), float: dwtDctVotes(img, { domain: 'float' }) };
  let best: SdWatermarkMatch | undefined;
  for (const m of MESSAGES) {
    // The message's own domain first, so it wins ties.
    for (const domain of m.domain === 'uint8' ? (['uint8', 'float'] as const) : (['float', 'uint8'] as const)) {
      if (votes[domain].length < m.bits.length) continue;
      const { bits } = bitsFromVotes(votes[domain], m.bits.length);
      let errors = 0;
      for (let i = 0; i < bits.length; i++) if (bits[i] !== m.bits[i]) errors++;
      const ber = errors / bits.length;
      if (!best || ber < best.ber) {
        best = { message: m.name, generator: m.generator, domain, bits: bits.length, bitErrors: errors, ber, pValue: binomialTail(bits.length, errors) };
      }
    }
  }
  return best;
}

export const sdWatermarkDetector: SignalDetector = {
  id: 'sd-watermark',
  async detect(ctx): Promise<Finding[]> {
    if (ctx.pixels === false || ctx.kind !== 'image' || !ctx.format || !PIXEL_FORMATS.has(ctx.format)) return [];
    const carrier = mayCarrySdMark(ctx.format, await ctx.head(64 << 10));
    if (!carrier || (carrier.size && !plausibleSdSize(carrier.size.width, carrier.size.height))) return [];
    const bytes = await ctx.load();
    if (!bytes) return [];
    let match: SdWatermarkMatch | undefined;
    try {
      // PNG and JPEG sizes came from the header above; the other formats' from sharp's header read.
      if (!carrier.size) {
        const meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
        if (!meta.width || !meta.height || !plausibleSdSize(meta.width, meta.height)) return [];
      }
      // Stored orientation, as the generator wrote the pixels; 3 channels whatever the input.
      const raw = await sharp(bytes, { limitInputPixels: MAX_PIXELS, pages: 1 }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (raw.info.channels !== 3) return [];
      match = bestSdWatermarkMatch({ data: raw.data, width: raw.info.width, height: raw.info.height });
    } catch {
      // Undecodable pixels: the container reader reports structure problems; no evidence here.
      return [];
    }
    if (!match) return [];
    const grade = match.ber <= SD_MATCH_BER ? 'strong' : match.pValue <= SD_PARTIAL_P ? 'weak' : undefined;
    if (!grade) return [];
    const { message, generator, bits, bitErrors, ber, pValue } = match;
    return [signal('sd-watermark', grade, { generator, method: 'dwtDct', message, bits, bitErrors, ber: Number(ber.toFixed(4)), pValue: Number(pValue.toPrecision(3)) }, `${ctx.format}:pixels`)];
  },
};
