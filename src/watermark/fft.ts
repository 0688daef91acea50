/**
 * In-place iterative radix-2 FFT on separate real/imaginary arrays, and the 2D cyclic
 * cross-correlation the image watermark uses to find its tile's offset.
 */

export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`fft: length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
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
