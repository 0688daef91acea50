/**
 * The task a scan's worker threads run (piscina): verify one file. Everything crossing the thread
 * boundary is plain data (the policy by id, options without functions), and the verdict comes back
 * by structured clone, so a worker's result is the in-process result.
 */
import type { Policy } from '../core/types.js';
import { verifyFile } from './file.js';
import { policyDefinition } from '../core/policies/index.js';
import type { FileVerdict, VerifyOptions } from './types.js';

export interface ScanTask {
  path: string;
  policy: Policy;
  opts: VerifyOptions;
  /** Modules that register the main thread's custom signal detectors (registerSignalDetector's `module`). */
  detectorModules: readonly string[];
}

/** Imported once per thread: each module registers its detectors at its top level. */
const loaded = new Map<string, Promise<unknown>>();

export default async function verifyInWorker(task: ScanTask): Promise<FileVerdict> {
  for (const m of task.detectorModules) {
    if (!loaded.has(m)) loaded.set(m, import(m));
    await loaded.get(m);
  }
  return verifyFile(task.path, policyDefinition(task.policy), task.opts);
}
