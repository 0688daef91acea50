/** Replays every reproducer that `npm run fuzz` saved in fixtures/regressions/. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzTargets, REGRESSIONS_DIR, runCase } from './engine.js';

const cases = existsSync(REGRESSIONS_DIR) ? readdirSync(REGRESSIONS_DIR).filter((f) => f.endsWith('.bin')) : [];

describe('fuzz regressions', () => {
  it('the reproducer directory exists (reproducers land here)', () => {
    expect(existsSync(REGRESSIONS_DIR)).toBe(true);
  });
  it.skipIf(cases.length === 0).each(cases)('%s ends in a result or a TamgaError', async (file) => {
    const meta = JSON.parse(readFileSync(join(REGRESSIONS_DIR, file.replace(/\.bin$/, '.json')), 'utf8')) as { target: string };
    const target = (await fuzzTargets()).find((t) => t.name === meta.target);
    expect(target, `target ${meta.target} still exists`).toBeDefined();
    expect(await runCase(target!, readFileSync(join(REGRESSIONS_DIR, file)), 10_000)).toMatchObject({ ok: true });
  });
});
