import { TamgaError } from '../core/errors.js';
import type { Source } from '../core/source.js';
import { resolveTrustAnchors } from '../metadata/c2pa.js';
import { errorVerdict, verifyFile } from './file.js';
import { policyDefinition } from './policies/index.js';
import { mapConcurrent } from './pool.js';
import { GRADES, type FileVerdict, type ScanOptions, type VerifyOptions } from './types.js';
import { pathKey, walk, type WalkEntry } from './walk.js';

export const DEFAULT_CONCURRENCY = 16;

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

/** Checks the options and resolves what is costly to repeat per file (the trust anchors PEM). */
function checkVerifyOptions(opts: VerifyOptions): VerifyOptions {
  for (const o of ['deepfake', 'visible', 'ocr'] as const) if (opts[o] !== undefined && typeof opts[o] !== 'boolean') throw invalid(o, 'expected a boolean');
  if (opts.minGrade !== undefined && !GRADES.includes(opts.minGrade)) throw invalid('minGrade', `expected one of ${GRADES.join(', ')}`);
  if (opts.timeoutMs !== undefined && !(Number.isInteger(opts.timeoutMs) && opts.timeoutMs > 0)) throw invalid('timeoutMs', 'expected a positive integer (milliseconds)');
  if (opts.watermarkKey !== undefined && (typeof opts.watermarkKey !== 'string' || opts.watermarkKey.length < 8)) throw invalid('watermarkKey', 'expected a secret string of at least 8 characters');
  return opts.trustAnchors === undefined ? opts : { ...opts, trustAnchors: resolveTrustAnchors(opts.trustAnchors) };
}

/**
 * Verifies one file, Buffer or stream against a policy: the verdict, the evidence of synthetic
 * origin, the labels found and the required layers that are missing. Never throws for a bad file
 * (that is verdict `error`); throws TamgaError INVALID_OPTION for bad options.
 */
export async function verify(source: Source, opts: VerifyOptions = {}): Promise<FileVerdict> {
  const policy = policyDefinition(opts.policy ?? 'kz');
  return verifyFile(source, policy, checkVerifyOptions(opts));
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
  const policy = policyDefinition(opts.policy ?? 'kz');
  opts = { ...opts, ...checkVerifyOptions(opts) };
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) throw invalid('paths', 'expected one or more file or directory paths');
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw invalid('concurrency', 'expected an integer from 1 to 1024');
  for (const o of ['include', 'exclude'] as const) {
    const g = opts[o];
    if (g !== undefined && !(Array.isArray(g) && g.every((s) => typeof s === 'string' && s !== ''))) throw invalid(o, 'expected a list of glob patterns');
  }
  const entries = unskipped(walk(paths, { ...(opts.include ? { include: opts.include } : {}), ...(opts.exclude ? { exclude: opts.exclude } : {}) }), opts.skip);
  yield* mapConcurrent(entries, concurrency, async (e) => (e.problem ? errorVerdict(e.path, policy, e.problem) : verifyFile(e.path, policy, opts)));
}

export { POLICY_DEFINITIONS, policyDefinition } from './policies/index.js';
export { registerSignalDetector, signalDetectors, type SignalContext, type SignalDetector } from './signals/index.js';
export { readResumeFile, type ResumeState } from './resume.js';
export type * from './types.js';
