import type { JobsOptions } from 'bullmq';
import { invalidOption } from '../core/errors.js';
import type { LabelOptions } from '../core/types.js';
import type { ProvenanceInput } from '../core/provenance.js';
import type { VerifyOptions } from '../verify/types.js';

/** The BullMQ queue every tamga producer and worker shares; jobs carry their scan's name. */
export const QUEUE_NAME = 'tamga';

/** Files per BullMQ job: one job per batch keeps the queue's per-job cost (a few round trips) off each file. */
export const DEFAULT_BATCH_SIZE = 64;
/** Attempts per batch before it goes to the failed set (the dead letters `tamga report` turns into `error` verdicts). */
export const DEFAULT_ATTEMPTS = 5;
/** First retry delay; BullMQ doubles it per attempt. */
export const DEFAULT_BACKOFF_MS = 1000;

/** A scan's or labelling run's name: it names its Redis keys and its BullMQ job ids. */
export function checkJobName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/.test(name)) {
    throw invalidOption('job', `a name of 1 to 100 letters, digits, '_', '.' or '-'`, name);
  }
  return name;
}

/** One file of a scan batch; short keys because a batch of 64 is serialised per job. */
export interface ScanItem {
  /** The path as the walk gave it (or the URL): the verdict's `path` and the result key. */
  p: string;
  /** What the worker reads: an absolute path on the shared file system, or a URL. */
  s: string;
}

export interface LabelItem {
  /** A path on the shared file system or a URL to read. */
  source: string;
  /** Where the labelled file goes (a path on the shared file system). */
  output: string;
  provenance?: ProvenanceInput;
}

/** `run` tells apart two runs under one name (the first purged): a batch of a purged run is dropped. */
export type TamgaJobData = { type: 'scan'; job: string; run: string; index: number; files: ScanItem[] } | { type: 'label'; job: string; run: string; index: number; items: LabelItem[] };

/** What a scan's meta record keeps (one Redis hash per job name). */
export interface ScanMetaRecord {
  type: 'scan' | 'label';
  /** A random id of this run of the job name. */
  run: string;
  policy: string;
  roots: string[];
  startedAt: string;
  verify?: VerifyOptions;
  label?: LabelOptions;
}

/** Redis keys of one job name. A hash tag keeps them in one cluster slot. */
export function jobKeys(job: string) {
  const base = `tamga:{${job}}`;
  return {
    /** Hash: `record` (ScanMetaRecord JSON), `files`, `batches`, `walked` (1 once the walk ended), `bytesRead`, `lastAt`. */
    meta: `${base}:meta`,
    /** Hash: result key (the path) -> ResultRecord JSON. HSET overwrites, so a batch run twice stores each file once. */
    results: `${base}:results`,
    /** Sorted set, every score 0: result keys in byte order, so reports stream sorted without holding the list. */
    order: `${base}:order`,
    /** Hash: batch index -> 1 once a worker finished it. */
    batchesDone: `${base}:done`,
  };
}

/** A stored result: the stamp (size:mtime of what was verified) makes a retried batch skip files already done. */
export interface ResultRecord<T = unknown> {
  stamp: string;
  result: T;
}

export function jobOptions(attempts: number, backoffMs: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: true,
    // Failed batches stay: they are the dead letters the report turns into `error` verdicts.
    removeOnFail: false,
  };
}

export const batchJobId = (job: string, index: number): string => `${job}.b${index}`;

/** A positive integer from the environment (test and tuning knobs), or the default. */
export function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidOption(name, `a non-negative integer`, v);
  return n;
}
