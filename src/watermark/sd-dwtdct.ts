import { TamgaError } from '../core/errors.js';

/**
 * The public, unkeyed `dwtDct` / `dwtDctSvd` watermarks of invisible-watermark (imwatermark), the
 * mark Stable Diffusion's reference scripts put on every output (labelling-standards.md §8.8).
 * Our own implementation from the published algorithm, the same steps as the library but not
 * bit-identical to it (our float arithmetic for the Haar transform and colour conversion differs
 * from OpenCV's/pywt's in rounding: a few marked pixels differ, see the README):
 *
 * - Colour: OpenCV's BGR->YUV (Y = .299R + .587G + .114B, U = .492(B - Y) + delta). Only U is
 *   marked (the library's scales are [0, 36, 36] but its loop covers channels 0-1).
 * - Transform: one-level Haar DWT (pywt 'haar', orthonormal: LL = (a + b + c + d) / 2) of U
 *   cropped to multiples of 4; LL is cut into 4x4 blocks visited row-major; block n carries bit
 *   n mod bitCount, so the message repeats cyclically and the decoder averages the votes.
 * - dwtDct: despite its name the library quantises the LL block itself, not its DCT: the entry of
 *   largest magnitude other than [0][0] (first on ties) becomes sign * (floor(|v| / 36) + 0.25 +
 *   0.5 bit) * 36; a vote is 1 when |v| mod 36 > 18.
 * - dwtDctSvd: the first singular value of the block's (orthonormal) DCT is quantised the same
 *   way. An orthonormal DCT leaves singular values unchanged, so we work on the block directly:
 *   B' = B + (s0' - s0) u v^T with the same effect.
 * - The library rebuilds U with the horizontal and vertical details swapped (`idwt2((ca, (v, h,
 *   d)))`), i.e. every 2x2 cell of U is transposed; we do the same so marked pixels match.
 * - Pixel domain: SD 1.x scripts pass uint8 BGR (OpenCV rounds, delta 128, U is truncated back to
 *   uint8 after the inverse DWT); SDXL (generative-models, diffusers) passes float32 0-255 BGR,
 *   where OpenCV's float delta is 0.5, so the LL values and the argmax differ: decode with
 *   `domain: 'float'` for those.
 * Bits are bytes unpacked MSB first (numpy unpackbits), as `set_watermark('bytes', ...)` does.
 */

export interface RgbImage {
  /** RGB, 3 bytes per pixel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

export type DwtDctMethod = 'dwtDct' | 'dwtDctSvd';

export interface DwtDctOptions {
  method?: DwtDctMethod;
  /** Quantisation step (the library's 36 for both methods). */
  scale?: number;
  /** How the image was handed to the library: uint8 (SD 1.x scripts, default) or float32 (SDXL). */
  domain?: 'uint8' | 'float';
}

export interface DwtDctDecoded {
  bits: Uint8Array;
  /** Per bit: |2 * mean vote - 1|, 1 when every repetition agreed, 0 for a tie. */
  confidence: Float64Array;
  /** Repetitions (4x4 blocks) averaged for bit 0. */
  votes: number;
}

/** The library refuses images with fewer pixels than this (r * c < 256 * 256). */
export const DWTDCT_MIN_PIXELS = 256 * 256;
export const DWTDCT_SCALE = 36;
const BLOCK = 4;

// OpenCV's 14-bit fixed-point coefficients for 8-bit RGB <-> YUV.
const SHIFT = 14;
const HALF = 1 << (SHIFT - 1);
const R2Y = 4899;
const G2Y = 9617;
const B2Y = 1868;
const B_Y2U = 8061;
const R_Y2V = 14369;
const U2B = 33292;
const U2G = -6472;
const V2G = -9519;
const V2R = 18678;

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Y, U, V planes as OpenCV computes them for this domain. */
function toYuv(img: RgbImage, domain: 'uint8' | 'float'): { y: Float64Array; u: Float64Array; v: Float64Array } {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  const d = img.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const r = d[p]!;
    const g = d[p + 1]!;
    const b = d[p + 2]!;
    if (domain === 'uint8') {
      const yy = (r * R2Y + g * G2Y + b * B2Y + HALF) >> SHIFT;
      y[i] = yy;
      u[i] = clamp8(((b - yy) * B_Y2U + (128 << SHIFT) + HALF) >> SHIFT);
      v[i] = clamp8(((r - yy) * R_Y2V + (128 << SHIFT) + HALF) >> SHIFT);
    } else {
      const yy = 0.299 * r + 0.587 * g + 0.114 * b;
      y[i] = yy;
      u[i] = (b - yy) * 0.492 + 0.5;
      v[i] = (r - yy) * 0.877 + 0.5;
    }
  }
  return { y, u, v };
}

function fromYuv(y: Float64Array, u: Float64Array, v: Float64Array, width: number, height: number, domain: 'uint8' | 'float'): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    if (domain === 'uint8') {
      const yy = y[i]!;
      const du = u[i]! - 128;
      const dv = v[i]! - 128;
      out[p] = clamp8(yy + ((dv * V2R + HALF) >> SHIFT));
      out[p + 1] = clamp8(yy + ((dv * V2G + du * U2G + HALF) >> SHIFT));
      out[p + 2] = clamp8(yy + ((du * U2B + HALF) >> SHIFT));
    } else {
      // Float output, then the pipelines' round-and-clamp to uint8.
      const yy = y[i]!;
      const du = u[i]! - 0.5;
      const dv = v[i]! - 0.5;
      out[p] = clamp8(Math.round(yy + 1.14 * dv));
      out[p + 1] = clamp8(Math.round(yy - 0.395 * du - 0.581 * dv));
      out[p + 2] = clamp8(Math.round(yy + 2.032 * du));
    }
  }
  return { data: out, width, height };
}

function checkImage(img: RgbImage, what: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || data.length !== width * height * 3) {
    throw new TamgaError('INVALID_OPTION', `${what}: expected RGB pixels (3 bytes each) for ${width}x${height}, got ${data.length} bytes`);
  }
  if (width * height < DWTDCT_MIN_PIXELS) throw new TamgaError('INVALID_OPTION', `${what}: image too small (${width}x${height}); the dwtDct watermark needs at least 256x256 pixels`);
}

/** Geometry of the marked region: U cropped to multiples of 4, its LL band, and the 4x4 block grid. */
function grid(width: number, height: number): { llW: number; llH: number; bw: number; bh: number } {
  const llW = (Math.floor(width / 4) * 4) / 2;
  const llH = (Math.floor(height / 4) * 4) / 2;
  return { llW, llH, bw: Math.floor(llW / BLOCK), bh: Math.floor(llH / BLOCK) };
}

/** LL band of the Haar DWT of a plane (pywt normalisation: sum of the 2x2 cell / 2). */
function haarLL(plane: Float64Array, width: number, llW: number, llH: number): Float64Array {
  const ll = new Float64Array(llW * llH);
  for (let r = 0; r < llH; r++) {
    const top = 2 * r * width;
    const bottom = top + width;
    for (let c = 0; c < llW; c++) {
      const x = 2 * c;
      ll[r * llW + c] = (plane[top + x]! + plane[top + x + 1]! + plane[bottom + x]! + plane[bottom + x + 1]!) / 2;
    }
  }
  return ll;
}

/** U of one pixel (byte offset p), as toYuv computes it. */
function uOf(d: Uint8Array, p: number, domain: 'uint8' | 'float'): number {
  const r = d[p]!;
  const g = d[p + 1]!;
  const b = d[p + 2]!;
  if (domain === 'float') return (b - (0.299 * r + 0.587 * g + 0.114 * b)) * 0.492 + 0.5;
  const y = (r * R2Y + g * G2Y + b * B2Y + HALF) >> SHIFT;
  return clamp8(((b - y) * B_Y2U + (128 << SHIFT) + HALF) >> SHIFT);
}

/** The LL band of U straight from RGB: the decoder's only input, without full Y/U/V planes. */
function uLL(img: RgbImage, domain: 'uint8' | 'float', llW: number, llH: number): Float64Array {
  const ll = new Float64Array(llW * llH);
  const d = img.data;
  const row = img.width * 3;
  for (let r = 0; r < llH; r++) {
    const top = 2 * r * row;
    for (let c = 0; c < llW; c++) {
      const p = top + 6 * c;
      ll[r * llW + c] = (uOf(d, p, domain) + uOf(d, p + 3, domain) + uOf(d, p + row, domain) + uOf(d, p + row + 3, domain)) / 2;
    }
  }
  return ll;
}

/** The index (1..15, row-major inside the block) of the largest-magnitude non-[0][0] entry. */
function maxEntry(ll: Float64Array, llW: number, r0: number, c0: number): number {
  let best = 1;
  let bestAbs = -1;
  for (let k = 1; k < BLOCK * BLOCK; k++) {
    const a = Math.abs(ll[(r0 + (k >> 2)) * llW + c0 + (k & 3)]!);
    if (a > bestAbs) {
      bestAbs = a;
      best = k;
    }
  }
  return best;
}

const quantise = (magnitude: number, bit: number, scale: number): number => (Math.floor(magnitude / scale) + 0.25 + 0.5 * bit) * scale;

/**
 * Largest singular value of a 4x4 block and its singular vectors, by power iteration on B^T B.
 * LL blocks are dominated by their mean, so the top singular value is well separated; iteration
 * stops when the estimate settles.
 */
function topSingular(b: Float64Array): { s: number; u: Float64Array; v: Float64Array } {
  const m = new Float64Array(16);
  for (let i = 0; i < 4; i++)
    for (let j = i; j < 4; j++) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc += b[k * 4 + i]! * b[k * 4 + j]!;
      m[i * 4 + j] = acc;
      m[j * 4 + i] = acc;
    }
  let v = new Float64Array([0.5, 0.5, 0.5, 0.5]);
  let lambda = 0;
  for (let it = 0; it < 100; it++) {
    const w = new Float64Array(4);
    for (let i = 0; i < 4; i++) w[i] = m[i * 4]! * v[0]! + m[i * 4 + 1]! * v[1]! + m[i * 4 + 2]! * v[2]! + m[i * 4 + 3]! * v[3]!;
    const norm = Math.hypot(w[0]!, w[1]!, w[2]!, w[3]!);
    if (norm === 0) return { s: 0, u: new Float64Array(4), v };
    for (let i = 0; i < 4; i++) w[i]! /= norm;
    const settled = Math.abs(norm - lambda) <= 1e-12 * norm;
    v = w;
    lambda = norm;
    if (settled) break;
  }
  const s = Math.sqrt(lambda);
  const u = new Float64Array(4);
  for (let i = 0; i < 4; i++) u[i] = (b[i * 4]! * v[0]! + b[i * 4 + 1]! * v[1]! + b[i * 4 + 2]! * v[2]! + b[i * 4 + 3]! * v[3]!) / s;
  return { s, u, v };
}

function readBlock(ll: Float64Array, llW: number, r0: number, c0: number): Float64Array {
  const b = new Float64Array(16);
  for (let k = 0; k < 16; k++) b[k] = ll[(r0 + (k >> 2)) * llW + c0 + (k & 3)]!;
  return b;
}

/**
 * One 0/1 vote per 4x4 LL block, in the library's block order. The votes do not depend on the
 * message length, so one pass serves decodes of several lengths (136 and 48 bits).
 */
export function dwtDctVotes(img: RgbImage, opts: DwtDctOptions = {}): Uint8Array {
  checkImage(img, 'dwtDct decode');
  const scale = opts.scale ?? DWTDCT_SCALE;
  const { llW, llH, bw, bh } = grid(img.width, img.height);
  const ll = uLL(img, opts.domain ?? 'uint8', llW, llH);
  const votes = new Uint8Array(bw * bh);
  for (let i = 0, n = 0; i < bh; i++) {
    for (let j = 0; j < bw; j++, n++) {
      const r0 = i * BLOCK;
      const c0 = j * BLOCK;
      let value: number;
      if (opts.method === 'dwtDctSvd') value = topSingular(readBlock(ll, llW, r0, c0)).s;
      else {
        const k = maxEntry(ll, llW, r0, c0);
        value = Math.abs(ll[(r0 + (k >> 2)) * llW + c0 + (k & 3)]!);
      }
      votes[n] = value % scale > 0.5 * scale ? 1 : 0;
    }
  }
  return votes;
}

/** Averages block votes cyclically into `bitCount` bits (mean * 255 > 127, as the library does). */
export function bitsFromVotes(votes: Uint8Array, bitCount: number): DwtDctDecoded {
  if (!Number.isInteger(bitCount) || bitCount <= 0 || bitCount > votes.length) {
    throw new TamgaError('INVALID_OPTION', `dwtDct decode: bitCount must be 1..${votes.length} for this image, got ${bitCount}`);
  }
  const ones = new Float64Array(bitCount);
  const counts = new Float64Array(bitCount);
  for (let n = 0; n < votes.length; n++) {
    ones[n % bitCount]! += votes[n]!;
    counts[n % bitCount]! += 1;
  }
  const bits = new Uint8Array(bitCount);
  const confidence = new Float64Array(bitCount);
  for (let k = 0; k < bitCount; k++) {
    const mean = ones[k]! / counts[k]!;
    bits[k] = mean * 255 > 127 ? 1 : 0;
    confidence[k] = Math.abs(2 * mean - 1);
  }
  return { bits, confidence, votes: counts[0]! };
}

/** Reads `bitCount` bits of the dwtDct (or dwtDctSvd) mark from RGB pixels. */
export function decodeDwtDct(img: RgbImage, bitCount: number, opts: DwtDctOptions = {}): DwtDctDecoded {
  return bitsFromVotes(dwtDctVotes(img, opts), bitCount);
}

/** Embeds `bits` (0/1 per entry) into RGB pixels the way imwatermark's encoder does; returns new pixels. */
export function encodeDwtDct(img: RgbImage, bits: ArrayLike<number>, opts: DwtDctOptions = {}): RgbImage {
  checkImage(img, 'dwtDct encode');
  if (bits.length === 0) throw new TamgaError('INVALID_OPTION', 'dwtDct encode: the message has no bits');
  const scale = opts.scale ?? DWTDCT_SCALE;
  const domain = opts.domain ?? 'uint8';
  const { width, height } = img;
  const { y, u, v } = toYuv(img, domain);
  const { llW, llH, bw, bh } = grid(width, height);
  const ll = haarLL(u, width, llW, llH);
  const marked = ll.slice();
  for (let i = 0, n = 0; i < bh; i++) {
    for (let j = 0; j < bw; j++, n++) {
      const bit = bits[n % bits.length]! & 1;
      const r0 = i * BLOCK;
      const c0 = j * BLOCK;
      if (opts.method === 'dwtDctSvd') {
        const block = readBlock(ll, llW, r0, c0);
        const { s, u: lu, v: lv } = topSingular(block);
        const delta = quantise(s, bit, scale) - s;
        for (let k = 0; k < 16; k++) marked[(r0 + (k >> 2)) * llW + c0 + (k & 3)] = block[k]! + delta * lu[k >> 2]! * lv[k & 3]!;
      } else {
        const k = maxEntry(ll, llW, r0, c0);
        const at = (r0 + (k >> 2)) * llW + c0 + (k & 3);
        const val = ll[at]!;
        marked[at] = val >= 0 ? quantise(val, bit, scale) : -quantise(-val, bit, scale);
      }
    }
  }
  // Inverse DWT with the library's swapped details: each 2x2 cell is transposed, and shifted by
  // half the LL change; uint8 callers then get U truncated back to integers.
  const out = u.slice();
  for (let r = 0; r < llH; r++) {
    const top = 2 * r * width;
    const bottom = top + width;
    for (let c = 0; c < llW; c++) {
      const x = 2 * c;
      const shift = (marked[r * llW + c]! - ll[r * llW + c]!) / 2;
      const tr = u[top + x + 1]!;
      const bl = u[bottom + x]!;
      out[top + x] = u[top + x]! + shift;
      out[top + x + 1] = bl + shift;
      out[bottom + x] = tr + shift;
      out[bottom + x + 1] = u[bottom + x + 1]! + shift;
    }
  }
  if (domain === 'uint8') for (let i = 0; i < out.length; i++) out[i] = clamp8(Math.trunc(out[i]!));
  return fromYuv(y, out, v, width, height, domain);
}

/** Bytes as the library's `set_watermark('bytes', ...)` lays them out: MSB first. */
export function bytesToBits(bytes: Uint8Array): Uint8Array {
  const bits = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bits.length; i++) bits[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return bits;
}

export function bitsToBytes(bits: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < out.length * 8; i++) out[i >> 3]! |= (bits[i]! & 1) << (7 - (i & 7));
  return out;
}
