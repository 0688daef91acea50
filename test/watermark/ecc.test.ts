import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfDiv, gfMul, rsDecode, rsEncode, rsSyndromes } from '../../src/watermark/ecc.js';

describe('GF(256)', () => {
  it('multiplies and divides consistently (a * b / b = a)', () => {
    for (let a = 0; a < 256; a++) for (const b of [1, 2, 3, 29, 142, 255]) expect(gfDiv(gfMul(a, b), b)).toBe(a);
    expect(gfMul(0x80, 2)).toBe(0x1d); // x^8 = x^4 + x^3 + x^2 + 1 under 0x11d
  });
});

describe('Reed-Solomon', () => {
  it('matches a known codeword (RS(255,223) style generator over 0x11d, fcr 0)', () => {
    // "hello world" with 10 parity bytes, the worked example of the Wikiversity RS tutorial.
    const cw = rsEncode(Uint8Array.from(Buffer.from('hello world')), 10);
    expect(Buffer.from(cw.subarray(11)).toString('hex')).toBe('ed2554c4fdfd89f3a8aa');
    expect(rsSyndromes(cw, 10).every((s) => s === 0)).toBe(true);
  });

  it('corrects any mix of e errors and v erasures with 2e + v <= nsym', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 16 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (data, nsym, seed) => {
          const cw = rsEncode(data, nsym);
          let s = seed;
          const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) % n;
          const errors = rnd(Math.floor(nsym / 2) + 1);
          const erasures = rnd(nsym - 2 * errors + 1);
          const bad = Uint8Array.from(cw);
          const picks = new Set<number>();
          while (picks.size < Math.min(errors + erasures, cw.length)) picks.add(rnd(cw.length));
          const list = [...picks];
          const erased = list.slice(0, erasures);
          for (const p of list) bad[p] = (bad[p]! ^ (1 + rnd(255))) & 0xff;
          const out = rsDecode(bad, nsym, erased);
          expect(out).toBeDefined();
          expect(Buffer.from(out!.data).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reports (not miscorrects) most words beyond its capacity', () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i * 7);
    const cw = rsEncode(data, 6);
    let wrong = 0;
    let refused = 0;
    for (let t = 0; t < 300; t++) {
      const bad = Uint8Array.from(cw);
      for (let k = 0; k < 5; k++) { const i = (t * 3 + k * 5) % 16; bad[i] = bad[i]! ^ (1 + ((t * 31 + k) % 255)); }
      const out = rsDecode(bad, 6);
      if (!out) refused++;
      else if (!Buffer.from(out.data).equals(Buffer.from(data))) wrong++;
    }
    expect(refused).toBeGreaterThan(200);
    // A miscorrection lands on another valid codeword, never on the original data.
    expect(refused + wrong).toBe(300);
  });

  it('rejects impossible shapes', () => {
    expect(() => rsEncode(new Uint8Array(250), 10)).toThrow(RangeError);
    expect(rsDecode(rsEncode(new Uint8Array(4), 4), 4, [0, 1, 2, 3, 4])).toBeUndefined();
  });
});
