import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { detect } from '../api.js';
import { isTamgaError, TamgaError } from '../core/errors.js';
import { BufferReader, describeSource, openSource, type Source } from '../core/source.js';
import type { DetectOptions, DetectResult } from '../core/types.js';
import { watermarkKeysOf } from '../watermark/keys.js';
import { runSignalDetectors } from './signals/index.js';
import { LOAD_LIMIT } from './signals/types.js';
import type { FileVerdict, PolicyDefinition, VerdictError, VerifyOptions } from './types.js';
import { decideVerdict } from './verdict.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Bytes this module read itself (signal detectors' head and pixel reads); FileReader keeps its own count. */
let ownBytesRead = 0;
export function verifierBytesRead(): number {
  return ownBytesRead;
}

function readHeadSync(path: string, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    ownBytesRead += got;
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function toVerdictError(e: unknown): VerdictError {
  if (isTamgaError(e)) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: `internal error (please report it with the file): ${e instanceof Error ? e.message : String(e)}` };
}

export function errorVerdict(path: string, policy: PolicyDefinition, e: unknown): FileVerdict {
  return { path, verdict: 'error', policy: policy.id, synthetic: null, missing: [], requirements: [], evidence: [], labels: [], error: toVerdictError(e) };
}

function detectOptions(opts: VerifyOptions): DetectOptions {
  // Synchronous reads: a scan verifies many local files and each async fs call costs a thread-pool round trip.
  // A tamga stamp is on every page: the first and last decide, the pages between cost time (issue 23).
  const d: DetectOptions = { syncReads: true, pdfStampPages: 'first-last' };
  if (opts.visible !== undefined) d.visible = opts.visible;
  if (opts.ocr !== undefined) d.ocr = opts.ocr;
  if (opts.trustAnchors !== undefined) d.trustAnchors = opts.trustAnchors;
  const keys = watermarkKeysOf(opts);
  if (keys.length) d.watermarkKeys = keys;
  return d;
}

async function verifyUnbounded(source: Source, path: string, policy: PolicyDefinition, opts: VerifyOptions): Promise<FileVerdict> {
  // A stream is buffered once (openSource enforces the size limit) and verified from memory.
  const input: string | Uint8Array = typeof source === 'string' || source instanceof Uint8Array ? source : ((await openSource(source)) as BufferReader).bytes();
  const detected: DetectResult = await detect(input, detectOptions(opts));
  const kind = detected.kind;
  if (!kind) throw new TamgaError('UNSUPPORTED_FORMAT', `${path}: no media kind detected`);
  let whole = typeof input === 'string' ? undefined : input;
  const evidence = await runSignalDetectors({
    findings: detected.findings,
    ...(detected.format ? { format: detected.format } : {}),
    kind,
    pixels: opts.visible !== false,
    ...(typeof input === 'string' ? { path: input } : {}),
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
    head: async (n) => (whole ? whole.subarray(0, n) : readHeadSync(input as string, n)),
    load: async () => {
      if (!whole) {
        if (statSync(input as string).size > LOAD_LIMIT) return undefined;
        whole = readFileSync(input as string);
        ownBytesRead += whole.length;
      }
      return whole;
    },
  });
  const decision = decideVerdict(detected.findings, evidence, policy, kind, opts);
  return {
    path,
    ...decision,
    policy: policy.id,
    kind,
    ...(detected.format ? { format: detected.format } : {}),
    evidence,
    labels: detected.findings.filter((f) => f.layer !== 'signal'),
  };
}

/**
 * Verifies one source and always returns a verdict: read failures, timeouts and bugs become `error`.
 * A timed-out verification cannot be cancelled (a pixel decode runs to its end); its result is dropped.
 */
export async function verifyFile(source: Source, policy: PolicyDefinition, opts: VerifyOptions = {}): Promise<FileVerdict> {
  const path = describeSource(source);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<FileVerdict>((resolve) => {
    timer = setTimeout(() => {
      const v = errorVerdict(path, policy, undefined);
      resolve({ ...v, error: { code: 'TIMEOUT', message: `${path}: not verified within ${timeoutMs} ms` } });
    }, timeoutMs);
  });
  try {
    return await Promise.race([verifyUnbounded(source, path, policy, opts).catch((e: unknown) => errorVerdict(path, policy, e)), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
