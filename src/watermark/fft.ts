/**
 * In-place iterative radix-2 FFT on separate real/imaginary arrays, and the 2D cyclic
 * cross-correlation the image watermark uses to find its tile's offset.
 */

/** Per length: the bit-reversal swaps and the twiddles cos/sin(2πk/n), k < n/2 (cached: the image search runs hundreds of FFTs). */
const tables = new Map<number, { swaps: Uint32Array; cos: Float64Array; sin: Float64Array }>();

function tablesFor(n: number): { swaps: Uint32Array; cos: Float64Array; sin: Float64Array } {
  let t = tables.get(n);
  if (t) return t;
  const swaps: number[] = [];
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) swaps.push(i, j);
  }
  const cos = new Float64Array(n >> 1);
  const sin = new Float64Array(n >> 1);
  for (let k = 0; k < n >> 1; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  t = { swaps: Uint32Array.from(swaps), cos, sin };
  if (tables.size > 32) tables.clear();
  tables.set(n, t);
  return t;
}

export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`fft: length ${n} is not a power of two`);
  if (n < 2) return;
  const { swaps, cos, sin } = tablesFor(n);
  for (let s = 0; s < swaps.length; s += 2) {
    const i = swaps[s]!;
    const j = swaps[s + 1]!;
    const tr = re[i]!;
    re[i] = re[j]!;
    re[j] = tr;
    const ti = im[i]!;
    im[i] = im[j]!;
    im[j] = ti;
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const stride = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const cr = cos[k * stride]!;
        const ci = sign * sin[k * stride]!;
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
}

/** 2D FFT of an n x n row-major grid (rows, then columns). */
export function fft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  const r = new Float64Array(n);
  const i = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    const row = re.subarray(y * n, y * n + n);
    const rowI = im.subarray(y * n, y * n + n);
    fft(row, rowI, inverse);
  }
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) {
      r[y] = re[y * n + x]!;
      i[y] = im[y * n + x]!;
    }
    fft(r, i, inverse);
    for (let y = 0; y < n; y++) {
      re[y * n + x] = r[y]!;
      im[y * n + x] = i[y]!;
    }
  }
}

/**
 * C[d] = Σ_t a[(t + d) mod n] · b[t] for every cyclic shift d of two n x n grids, via
 * IFFT(FFT(a) · conj(FFT(b))).
 */
export function cyclicCrossCorrelation(a: Float64Array, b: Float64Array, n: number): Float64Array {
  return cyclicCrossCorrelationWith(a, spectrum(b, n), n);
}

/** The 2D spectrum of a real grid, for correlating many grids against the same template. */
export function spectrum(b: Float64Array, n: number): { re: Float64Array; im: Float64Array } {
  const re = Float64Array.from(b);
  const im = new Float64Array(n * n);
  fft2d(re, im, n);
  return { re, im };
}

/** As cyclicCrossCorrelation, with b given by its precomputed spectrum. */
export function cyclicCrossCorrelationWith(a: Float64Array, b: { re: Float64Array; im: Float64Array }, n: number): Float64Array {
  const ar = Float64Array.from(a);
  const ai = new Float64Array(n * n);
  const br = b.re;
  const bi = b.im;
  fft2d(ar, ai, n);
  for (let k = 0; k < n * n; k++) {
    const r = ar[k]! * br[k]! + ai[k]! * bi[k]!;
    const i = ai[k]! * br[k]! - ar[k]! * bi[k]!;
    ar[k] = r;
    ai[k] = i;
  }
  fft2d(ar, ai, n, true);
  return ar;
}

/**
 * Two real grids correlated with the same template in one complex FFT pair: with z = a + i·b,
 * IFFT(FFT(z) · conj(B)) = corr(a) + i·corr(b), both correlations being real.
 */
export function cyclicCrossCorrelationPair(a: Float64Array, b: Float64Array, t: { re: Float64Array; im: Float64Array }, n: number): { a: Float64Array; b: Float64Array } {
  const zr = Float64Array.from(a);
  const zi = Float64Array.from(b);
  fft2d(zr, zi, n);
  for (let k = 0; k < n * n; k++) {
    const r = zr[k]! * t.re[k]! + zi[k]! * t.im[k]!;
    const i = zi[k]! * t.re[k]! - zr[k]! * t.im[k]!;
    zr[k] = r;
    zi[k] = i;
  }
  fft2d(zr, zi, n, true);
  return { a: zr, b: zi };
}
