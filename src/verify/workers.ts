import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { PolicyDefinition, FileVerdict, VerifyOptions } from './types.js';
import type { ScanTask } from './scan-worker.js';

/** Files verified in the main thread before the worker threads start: a small scan never pays their start-up. */
export const IN_PROCESS_FILES = 48;
/** Files each worker thread verifies at once (I/O and C2PA's async calls overlap with decoding). */
export const TASKS_PER_WORKER = 4;
/** Grace after the per-file time limit before a stuck worker thread is terminated. */
const HARD_TIMEOUT_GRACE_MS = 5_000;

/**
 * `workers: 'auto'`: one thread per core the process may use besides the main thread's, at most 8;
 * none on 2 cores or fewer, where a worker made the 10,000-file bench scan slower: 3,353 against
 * 3,879 files/s warm. Batches of 32 files per message did not change that (the worker took 30% of
 * the files, but the main thread lost more: GC, the thread pool and page-cache copies share the
 * second core with it).
 */
export function autoWorkers(): number {
  const cores = availableParallelism();
  return cores <= 2 ? 0 : Math.min(8, cores - 1);
}

/**
 * Worker threads for a scan (piscina), started on first use. In a checkout the worker module is
 * TypeScript, loaded through bin/ts-worker.mjs; an installed package loads the compiled module.
 */
export class VerifyPool {
  private pool: Piscina | undefined;

  constructor(
    private readonly threads: number,
    private readonly policy: PolicyDefinition,
    private readonly opts: VerifyOptions,
    private readonly detectorModules: readonly string[] = [],
  ) {}

  private start(): Piscina {
    const worker = new URL(`./scan-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const viaTsx = worker.pathname.endsWith('.ts');
    this.pool = new Piscina({
      filename: viaTsx ? fileURLToPath(new URL('../../bin/ts-worker.mjs', import.meta.url)) : fileURLToPath(worker),
      ...(viaTsx ? { workerData: { tsModule: worker.href } } : {}),
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: TASKS_PER_WORKER,
      idleTimeout: 1_000,
    });
    return this.pool;
  }

  /**
   * Verifies one file in a worker thread. A thread stuck past the time limit is terminated (the
   * file gets `onTimeout()`'s verdict); a thread that dies (out of memory, a native fault) gives
   * `onFailure(error)`'s verdict for its files instead of ending the scan.
   */
  async run(path: string, onTimeout: () => FileVerdict, onFailure: (e: unknown) => FileVerdict): Promise<FileVerdict> {
    const pool = this.pool ?? this.start();
    const task: ScanTask = { path, policy: this.policy.id, opts: this.opts, detectorModules: this.detectorModules };
    const limit = (this.opts.timeoutMs ?? 30_000) + HARD_TIMEOUT_GRACE_MS;
    try {
      return (await pool.run(task, { signal: AbortSignal.timeout(limit) })) as FileVerdict;
    } catch (e) {
      if ((e as Error).name === 'AbortError' || (e as Error).name === 'TimeoutError') return onTimeout();
      return onFailure(e);
    }
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = undefined;
  }
}
