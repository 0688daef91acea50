import { createHash, createHmac } from 'node:crypto';

/**
 * Keyed pseudo-random streams for watermarks: HMAC-SHA256(key, domain) seeds a SHA-256 counter
 * generator, so the same (key, domain) always gives the same stream, streams of different
 * domains are independent, and nothing about the key can be learned from the output. The domain
 * string names the use (e.g. `text/v1/whiten`) so each watermark draws its own stream.
 */
export class KeyedPrng {
  private readonly seed: Buffer;
  private counter = 0;
  private block: Buffer = Buffer.alloc(0);
  private at = 0;

  constructor(key: string | Uint8Array, domain: string) {
    this.seed = createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key).update(`tamga-prng\0${domain}`).digest();
  }

  private refill(): void {
    const c = Buffer.alloc(8);
    c.writeBigUInt64BE(BigInt(this.counter++));
    this.block = createHash('sha256').update(this.seed).update(c).digest();
    this.at = 0;
  }

  nextByte(): number {
    if (this.at >= this.block.length) this.refill();
    return this.block[this.at++]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextByte();
    return out;
  }

  nextU32(): number {
    return ((this.nextByte() << 24) | (this.nextByte() << 16) | (this.nextByte() << 8) | this.nextByte()) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** Uniform integer in [0, n) without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`nextInt: bad bound ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** A keyed permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** `n` keyed bytes for `domain`: shorthand for one-off tables. */
export function keyedBytes(key: string | Uint8Array, domain: string, n: number): Uint8Array {
  return new KeyedPrng(key, domain).bytes(n);
}

/** A keyed tag over `data` (HMAC-SHA256 truncated to `n` bytes), e.g. the MAC inside a payload. */
export function keyedTag(key: string | Uint8Array, domain: string, data: Uint8Array, n: number): Uint8Array {
  return createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key).update(`tamga-tag\0${domain}\0`).update(data).digest().subarray(0, n);
}
