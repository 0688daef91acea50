/**
 * Reed-Solomon codes over GF(2^8) (primitive polynomial 0x11d, generator roots α^0..α^(nsym-1)),
 * systematic, shortened to any length n <= 255. Decoding corrects e errors and v erasures
 * whenever 2e + v <= nsym, and re-checks the syndromes afterwards so an input beyond that bound is
 * reported as uncorrectable instead of being "corrected" to a wrong codeword (most of the time: a
 * miscorrection to another valid codeword is possible and is why payloads also carry a MAC).
 *
 * Shared by every watermark (text now; image and audio later). Polynomials are arrays of
 * coefficients, lowest degree first, except codewords, which are stored highest degree first
 * (codeword[0] is the coefficient of x^(n-1)), the usual byte order of RS implementations.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
(() => {
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
})();

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('GF(256): division by zero');
  return a === 0 ? 0 : EXP[(LOG[a]! + 255 - LOG[b]!) % 255]!;
}

/** α^e for any integer e (negative too). */
export function gfPowAlpha(e: number): number {
  return EXP[((e % 255) + 255) % 255]!;
}

/** Product of two polynomials (lowest degree first). */
function polyMul(p: readonly number[], q: readonly number[]): number[] {
  const r = new Array<number>(p.length + q.length - 1).fill(0);
  for (let i = 0; i < p.length; i++) for (let j = 0; j < q.length; j++) r[i + j]! ^= gfMul(p[i]!, q[j]!);
  return r;
}

/** p(x) at x (lowest degree first). */
function polyEval(p: readonly number[], x: number): number {
  let y = 0;
  for (let i = p.length - 1; i >= 0; i--) y = gfMul(y, x) ^ p[i]!;
  return y;
}

const generators = new Map<number, Uint8Array>();

/** g(x) = Π (x - α^i), i < nsym, stored highest degree first for the encoder's long division. */
function generator(nsym: number): Uint8Array {
  let g = generators.get(nsym);
  if (!g) {
    let p = [1];
    for (let i = 0; i < nsym; i++) p = polyMul(p, [gfPowAlpha(i), 1]);
    g = Uint8Array.from(p.reverse());
    generators.set(nsym, g);
  }
  return g;
}

function checkShape(n: number, nsym: number): void {
  if (!Number.isInteger(nsym) || nsym < 1 || !Number.isInteger(n) || n > 255 || n <= nsym) {
    throw new RangeError(`Reed-Solomon: need 0 < nsym < n <= 255 (n=${n}, nsym=${nsym})`);
  }
}

/** data || parity: the systematic codeword of `data` with `nsym` parity bytes. */
export function rsEncode(data: Uint8Array, nsym: number): Uint8Array {
  checkShape(data.length + nsym, nsym);
  const g = generator(nsym);
  const out = new Uint8Array(data.length + nsym);
  out.set(data);
  // Long division by the monic g(x); the remainder lands in the parity bytes.
  for (let i = 0; i < data.length; i++) {
    const coef = out[i]!;
    if (coef === 0) continue;
    for (let j = 1; j < g.length; j++) out[i + j]! ^= gfMul(g[j]!, coef);
  }
  out.set(data);
  return out;
}

/** S_i = r(α^i), i < nsym. All zero iff the word is a codeword. */
export function rsSyndromes(word: Uint8Array, nsym: number): number[] {
  const s = new Array<number>(nsym).fill(0);
  for (let i = 0; i < nsym; i++) {
    const x = gfPowAlpha(i);
    let y = 0;
    for (const c of word) y = gfMul(y, x) ^ c;
    s[i] = y;
  }
  return s;
}

export interface RsDecoded {
  /** The corrected data bytes (the codeword without parity). */
  data: Uint8Array;
  /** Array indexes in the codeword that were changed (errors and erasures that were wrong). */
  corrected: number[];
}

/**
 * Decodes a codeword with `nsym` parity bytes. `erasures` are array indexes known to be
 * unreliable (their value is ignored). Returns undefined when the word cannot be corrected.
 */
export function rsDecode(word: Uint8Array, nsym: number, erasures: readonly number[] = []): RsDecoded | undefined {
  const n = word.length;
  checkShape(n, nsym);
  const erased = [...new Set(erasures)];
  if (erased.some((p) => !Number.isInteger(p) || p < 0 || p >= n)) throw new RangeError('Reed-Solomon: erasure index out of range');
  if (erased.length > nsym) return undefined;
  const r = Uint8Array.from(word);
  for (const p of erased) r[p] = 0;
  const synd = rsSyndromes(r, nsym);
  if (synd.every((s) => s === 0)) return { data: r.slice(0, n - nsym), corrected: erased.filter((p) => word[p] !== 0) };

  // Erasure locator Γ(x) = Π (1 - X_k x), X_k = α^(n-1-p).
  let gamma = [1];
  for (const p of erased) gamma = polyMul(gamma, [1, gfPowAlpha(n - 1 - p)]);
  const v = erased.length;
  // Forney syndromes: coefficients v..nsym-1 of S(x)Γ(x) depend on the unknown errors only.
  const forney = polyMul(synd, gamma).slice(v, nsym);

  // Berlekamp-Massey on the Forney syndromes gives the error locator Λ(x).
  let lambda = [1];
  let prev = [1];
  let L = 0;
  let m = 1;
  let b = 1;
  for (let k = 0; k < forney.length; k++) {
    let d = forney[k]!;
    for (let i = 1; i <= L; i++) d ^= gfMul(lambda[i] ?? 0, forney[k - i]!);
    if (d === 0) {
      m++;
      continue;
    }
    const coef = gfDiv(d, b);
    const next = lambda.slice();
    for (let i = 0; i < prev.length; i++) {
      while (next.length <= i + m) next.push(0);
      next[i + m]! ^= gfMul(coef, prev[i]!);
    }
    if (2 * L <= k) {
      prev = lambda;
      L = k + 1 - L;
      b = d;
      m = 1;
    } else {
      m++;
    }
    lambda = next;
  }
  while (lambda.length > 1 && lambda[lambda.length - 1] === 0) lambda.pop();
  const errors = lambda.length - 1;
  if (2 * errors + v > nsym) return undefined;

  // Errata locator Ψ = ΛΓ; its roots (Chien search) give every position to fix.
  const psi = polyMul(lambda, gamma);
  const positions: number[] = [];
  for (let p = 0; p < n; p++) if (polyEval(psi, gfPowAlpha(-(n - 1 - p))) === 0) positions.push(p);
  if (positions.length !== psi.length - 1) return undefined;

  // Forney: e_k = X_k Ω(X_k^-1) / Ψ'(X_k^-1), Ω = S Ψ mod x^nsym (first consecutive root α^0).
  const omega = polyMul(synd, psi).slice(0, nsym);
  const dpsi = psi.map((c, i) => (i % 2 === 1 ? c : 0)).slice(1);
  for (const p of positions) {
    const xInv = gfPowAlpha(-(n - 1 - p));
    const den = polyEval(dpsi, xInv);
    if (den === 0) return undefined;
    r[p]! ^= gfMul(gfPowAlpha(n - 1 - p), gfDiv(polyEval(omega, xInv), den));
  }
  if (rsSyndromes(r, nsym).some((s) => s !== 0)) return undefined;
  const corrected: number[] = [];
  for (let p = 0; p < n; p++) if (r[p] !== word[p]) corrected.push(p);
  return { data: r.slice(0, n - nsym), corrected };
}
