import sharp from 'sharp';

/**
 * Image fingerprint: a 64-bit DCT hash (pHash). The picture is reduced to 32x32 grey, its 2-D
 * DCT-II taken, and the 64 lowest frequencies but the DC term (u, v < 8, with (8, 0) in the DC's
 * place) compared with their median: bit = coefficient > median. Low frequencies are what JPEG
 * recompression and downscaling keep, so a re-encoded, resized copy lands within a few bits; the
 * DC is left out because it only measures brightness.
 * Decoding applies the EXIF orientation, since a stripped copy usually has it baked into pixels.
 */

export const IMAGE_FINGERPRINT_METHOD = 'image-dct64/1';
const N = 32;
/** Above this many pixels the decode is refused (bounded time and memory per file). */
const MAX_PIXELS = 1 << 28;

const COS: Float64Array = (() => {
  const t = new Float64Array(N * N);
  for (let u = 0; u < N; u++) for (let x = 0; x < N; x++) t[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return t;
})();

/** The 64 (u, v) pairs the hash reads: the 8x8 low-frequency block with (8, 0) in place of the DC. */
const PICKS: [number, number][] = (() => {
  const p: [number, number][] = [];
  for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) p.push(u === 0 && v === 0 ? [8, 0] : [u, v]);
  return p;
})();

/** The hash of a 32x32 grey raster (row-major, any numeric scale). Also used for video frames. */
export function dctHash64(grey: ArrayLike<number>): bigint {
  if (grey.length !== N * N) throw new RangeError(`dctHash64: expected ${N * N} samples, got ${grey.length}`);
  // Separable DCT, only the rows of coefficients the picks need (u < 9, v < 8).
  const rows = new Float64Array(N * 9); // rows[y * 9 + u] = sum_x grey[y][x] cos_u(x)
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < 9; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += grey[y * N + x]! * COS[u * N + x]!;
      rows[y * 9 + u] = s;
    }
  }
  const coef = PICKS.map(([u, v]) => {
    let s = 0;
    for (let y = 0; y < N; y++) s += rows[y * 9 + u]! * COS[v * N + y]!;
    return s;
  });
  const median = [...coef].sort((a, b) => a - b)[32]!;
  let h = 0n;
  for (let i = 0; i < 64; i++) if (coef[i]! > median) h |= 1n << BigInt(i);
  return h;
}

/** Below this side (px) or this grey standard deviation a picture has no shape to hash: exact matches only. */
const MIN_SIDE = 16;
const MIN_STDEV = 2;

/**
 * The 64-bit hash of an encoded image (any format sharp decodes; the first frame of an animation),
 * or undefined for a picture too small or too flat to tell from another (every flat picture hashes alike).
 */
export async function imageFingerprint(input: Uint8Array | string): Promise<bigint | undefined> {
  const meta = await sharp(input, { limitInputPixels: MAX_PIXELS, pages: 1 }).metadata();
  if (!meta.width || !meta.height || Math.min(meta.width, meta.height) < MIN_SIDE) return undefined;
  const { data } = await sharp(input, { limitInputPixels: MAX_PIXELS, pages: 1 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(N, N, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return isFlat(data) ? undefined : dctHash64(data);
}

/** A raster whose grey levels barely vary (blank frames, solid fills). */
export function isFlat(grey: ArrayLike<number>): boolean {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < grey.length; i++) (sum += grey[i]!), (sq += grey[i]! * grey[i]!);
  const mean = sum / grey.length;
  return Math.sqrt(Math.max(0, sq / grey.length - mean * mean)) < MIN_STDEV;
}

export function hashToBytes(h: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(h);
  return b;
}

export function hashFromBytes(b: Uint8Array, at = 0): bigint {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64BE(at);
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hamming64(a: bigint, b: bigint): number {
  const x = a ^ b;
  return popcount32(Number(x & 0xffffffffn)) + popcount32(Number(x >> 32n));
}
