import { describe, expect, it } from 'vitest';
import { scan } from '../../src/verify/index.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { IN_PROCESS_FILES } from '../../src/verify/workers.js';
import { CORPUS, expectTamgaError, hasCorpus } from '../helpers.js';

async function verdictsOf(workers: number): Promise<FileVerdict[]> {
  const out: FileVerdict[] = [];
  for await (const v of scan([CORPUS], { workers, visible: false, concurrency: 8 })) out.push(v);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

describe('scan with worker threads', () => {
  it.skipIf(!hasCorpus)('gives every file the verdict the main thread gives it', { timeout: 120_000 }, async () => {
    const inProcess = await verdictsOf(0);
    // The corpus has more files than the main thread verifies before the threads start.
    expect(inProcess.length).toBeGreaterThan(IN_PROCESS_FILES + 10);
    const threaded = await verdictsOf(2);
    expect(threaded.map((v) => v.path)).toEqual(inProcess.map((v) => v.path));
    // Whole verdicts, evidence included, are equal: nothing is lost crossing the thread boundary.
    // Only a C2PA finding's `validatedBy` may differ: it says which reader answered (c2pa-rs, or the
    // native path reusing c2pa-rs's verdict on a sibling), and each thread has its own cache.
    const readerless = (vs: typeof inProcess) => JSON.parse(JSON.stringify(vs, (k, v) => (k === 'validatedBy' ? undefined : v)));
    expect(readerless(threaded)).toEqual(readerless(inProcess));
    expect(JSON.stringify(threaded)).toContain('"validatedBy"');
  });

  it('refuses a bad worker count', async () => {
    for (const workers of [-1, 1.5, 1000] as const) await expectTamgaError(scan(['.'], { workers }).next(), 'INVALID_OPTION');
    await expectTamgaError(scan(['.'], { workers: 'many' as unknown as number }).next(), 'INVALID_OPTION');
  });
});
