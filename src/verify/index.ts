import { TamgaError } from '../core/errors.js';
import { keys, rejectUnknownOptions, type KeyList } from '../core/options.js';
import type { Source } from '../core/source.js';
import { closeLedgerReader, isLedgerReaderOpen, ledgerReader } from '../ledger/index.js';
import { resolveTrustAnchors } from '../metadata/c2pa.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { DEFAULT_TIMEOUT_MS, errorVerdict, verifyFile } from './file.js';
import { policyDefinition } from './policies/index.js';
import { mapConcurrent } from './pool.js';
import { GRADES, type FileVerdict, type ScanOptions, type VerifyOptions } from './types.js';
import { pathKey, walk, type WalkEntry } from './walk.js';
import { autoWorkers, IN_PROCESS_FILES, TASKS_PER_WORKER, VerifyPool } from './workers.js';

export const DEFAULT_CONCURRENCY = 16;

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

const VERIFY_KEYS: KeyList<VerifyOptions> = { policy: true, deepfake: true, minGrade: true, timeoutMs: true, visible: true, ocr: true, trustAnchors: true, watermarkKey: true, watermarkKeys: true, ledger: true };
export const VERIFY_OPTION_KEYS = keys<VerifyOptions>(VERIFY_KEYS);
const SCAN_KEYS: KeyList<ScanOptions> = { ...VERIFY_KEYS, concurrency: true, workers: true, include: true, exclude: true, skip: true };
export const SCAN_OPTION_KEYS = keys<ScanOptions>(SCAN_KEYS);

/** Checks the options and resolves what is costly to repeat per file (the trust anchors PEM). */
export function checkVerifyOptions(opts: VerifyOptions): VerifyOptions {
  for (const o of ['deepfake', 'visible', 'ocr'] as const) if (opts[o] !== undefined && typeof opts[o] !== 'boolean') throw invalid(o, 'expected a boolean');
  if (opts.minGrade !== undefined && !GRADES.includes(opts.minGrade)) throw invalid('minGrade', `expected one of ${GRADES.join(', ')}`);
  if (opts.timeoutMs !== undefined && !(Number.isInteger(opts.timeoutMs) && opts.timeoutMs > 0)) throw invalid('timeoutMs', 'expected a positive integer (milliseconds)');
  watermarkKeysOf(opts); // checks watermarkKey and watermarkKeys
  if (opts.ledger !== undefined && (typeof opts.ledger !== 'string' || opts.ledger === '')) throw invalid('ledger', 'expected the path of a ledger file');
  return opts.trustAnchors === undefined ? opts : { ...opts, trustAnchors: resolveTrustAnchors(opts.trustAnchors) };
}

/**
 * Verifies one file, Buffer or stream against a policy: the verdict, the evidence of synthetic
 * origin, the labels found and the required layers that are missing. Never throws for a bad file
 * (that is verdict `error`); throws TamgaError INVALID_OPTION for bad options.
 */
export async function verify(source: Source, opts: VerifyOptions = {}): Promise<FileVerdict> {
  rejectUnknownOptions(opts, VERIFY_OPTION_KEYS, 'verify option');
  const policy = policyDefinition(opts.policy ?? 'kz');
  opts = checkVerifyOptions(opts);
  // A bad ledger is the caller's error (LEDGER_FAILED), not the file's; one verify() opens it for its file only.
  const ownLedger = opts.ledger !== undefined && !isLedgerReaderOpen(opts.ledger);
  if (opts.ledger !== undefined) ledgerReader(opts.ledger);
  try {
    return await verifyFile(source, policy, opts);
  } finally {
    if (ownLedger) closeLedgerReader(opts.ledger!);
  }
}

async function* unskipped(entries: AsyncIterable<WalkEntry>, skip: ScanOptions['skip']): AsyncGenerator<WalkEntry> {
  for await (const e of entries) if (!skip?.(pathKey(e.path))) yield e;
}

/**
 * Verifies every file under the given paths (files or directories), `concurrency` at a time, and
 * yields verdicts as files finish. The directory walk streams, so memory stays flat however many
 * files there are; unreadable paths, symlink loops and links out of the roots yield `error` verdicts.
 */
export async function* scan(paths: string[], opts: ScanOptions = {}): AsyncGenerator<FileVerdict> {
  rejectUnknownOptions(opts, SCAN_OPTION_KEYS, 'scan option');
  const policy = policyDefinition(opts.policy ?? 'kz');
  opts = { ...opts, ...checkVerifyOptions(opts) };
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) throw invalid('paths', 'expected one or more file or directory paths');
  for (const o of ['include', 'exclude'] as const) {
    const g = opts[o];
    if (g !== undefined && !(Array.isArray(g) && g.every((s) => typeof s === 'string' && s !== ''))) throw invalid(o, 'expected a list of glob patterns');
  }
  const workers = opts.workers === 'auto' ? autoWorkers() : (opts.workers ?? 0);
  if (!Number.isInteger(workers) || workers < 0 || workers > 256) throw invalid('workers', "expected an integer from 0 to 256, or 'auto'");
  // Enough files in flight to keep every worker thread busy.
  const concurrency = opts.concurrency ?? Math.max(DEFAULT_CONCURRENCY, 2 * workers * TASKS_PER_WORKER);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw invalid('concurrency', 'expected an integer from 1 to 1024');
  const entries = unskipped(walk(paths, { ...(opts.include ? { include: opts.include } : {}), ...(opts.exclude ? { exclude: opts.exclude } : {}) }), opts.skip);
  // Only plain data crosses to the worker threads (the skip callback stays here).
  const { skip: _skip, include: _include, exclude: _exclude, ...verifyOpts } = opts;
  // Opened once here (a bad ledger fails the scan before any file); worker threads open their own, once each.
  if (opts.ledger !== undefined) ledgerReader(opts.ledger);
  const pool = workers > 0 ? new VerifyPool(workers, policy, verifyOpts) : undefined;
  let started = 0;
  let inWorkers = 0;
  const verifyEntry = async (e: WalkEntry): Promise<FileVerdict> => {
    if (e.problem) return errorVerdict(e.path, policy, e.problem);
    // The main thread verifies too: the first files (a small scan never starts threads), and whatever
    // the threads cannot take now (while they boot, or when each already has its share in flight).
    if (!pool || started++ < IN_PROCESS_FILES || inWorkers >= workers * TASKS_PER_WORKER) return verifyFile(e.path, policy, opts);
    const timeout = () => ({ ...errorVerdict(e.path, policy, undefined), error: { code: 'TIMEOUT' as const, message: `${e.path}: not verified within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms (worker thread stopped)` } });
    inWorkers++;
    try {
      return await pool.run(e.path, timeout, (err) => errorVerdict(e.path, policy, err));
    } finally {
      inWorkers--;
    }
  };
  try {
    yield* mapConcurrent(entries, concurrency, verifyEntry);
  } finally {
    await pool?.close();
    if (opts.ledger !== undefined) closeLedgerReader(opts.ledger);
  }
}

export { POLICY_DEFINITIONS, policyDefinition } from './policies/index.js';
export { registerSignalDetector, signalDetectors, type SignalContext, type SignalDetector } from './signals/index.js';
export { readResumeFile, type ResumeState } from './resume.js';
export type * from './types.js';
