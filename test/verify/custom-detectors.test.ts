import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSignalDetector, scan } from '../../src/verify/index.js';
import { signal } from '../../src/verify/signals/types.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { IN_PROCESS_FILES } from '../../src/verify/workers.js';
import { tempDir } from '../helpers.js';
import './custom-detector-module.js';

const tmp = tempDir('tamga-custom-detectors-');
const FILES = IN_PROCESS_FILES + 22;
beforeAll(async () => {
  for (let i = 0; i < FILES; i++) writeFileSync(join(tmp.dir, `f${i}.png`), await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i, g: 0, b: 0 } } }).png().toBuffer());
});
afterAll(() => tmp.cleanup());

async function evidenceKinds(workers: number): Promise<string[][]> {
  const out: FileVerdict[] = [];
  for await (const v of scan([tmp.dir], { workers, visible: false })) out.push(v);
  expect(out).toHaveLength(FILES);
  return out.map((v) => v.evidence.map((e) => e.kind));
}

describe('custom signal detectors reach the worker threads of scan', () => {
  it('a detector registered with its module gives its evidence for every file with workers: 2', { timeout: 60_000 }, async () => {
    for (const kinds of await evidenceKinds(2)) expect(kinds).toContain('test:shipped');
  });

  it('a detector registered without a module keeps the scan in the main thread: no file loses its evidence', { timeout: 60_000 }, async () => {
    registerSignalDetector({ id: 'test:local', detect: () => [signal('test:local', 'weak', {})] });
    for (const kinds of await evidenceKinds(2)) expect(kinds).toEqual(expect.arrayContaining(['test:shipped', 'test:local']));
  });
});
