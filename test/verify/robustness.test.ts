import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verify } from '../../src/verify/index.js';
import { VERDICTS } from '../../src/verify/types.js';
import { pngWithStealth, pngWithText } from './make.js';

const A1111 = 'a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 8x8, Model: m';

/** verify() must give every input a verdict: never throw, never an INTERNAL error (that would be a bug). */
async function expectVerdict(bytes: Uint8Array): Promise<void> {
  const v = await verify(bytes, { visible: false, timeoutMs: 10_000 });
  expect(VERDICTS).toContain(v.verdict);
  if (v.verdict === 'error') expect(v.error?.code).not.toMatch(/^(INTERNAL|TIMEOUT)$/);
}

describe('verify() on damaged input', () => {
  it('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 512 }), expectVerdict), { numRuns: 200 });
  });

  it('a generator PNG and a stealth PNG with random bytes changed', async () => {
    const inputs = [await pngWithText([['parameters', A1111], ['prompt', '{"3":{"class_type":"KSampler","inputs":{}}}']]), await pngWithStealth('{"Software":"NovelAI"}', { compressed: true, width: 24, height: 24 })];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...inputs), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (input, edits) => {
        const bad = Buffer.from(input);
        for (const [at, b] of edits) bad[at % bad.length] = b;
        await expectVerdict(bad);
      }),
      { numRuns: 300 },
    );
  });
});
