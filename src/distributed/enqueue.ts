import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { TamgaError, invalidOption } from '../core/errors.js';
import type { LabelOptions } from '../core/types.js';
import { resolveLabelOptions } from '../api.js';
import { errorVerdict } from '../verify/file.js';
import { checkVerifyOptions } from '../verify/index.js';
import { policyDefinition } from '../core/policies/index.js';
import type { FileVerdict, VerifyOptions } from '../verify/types.js';
import { walk } from '../verify/walk.js';
import {
  batchJobId,
  checkJobName,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  DEFAULT_BATCH_SIZE,
  jobKeys,
  jobOptions,
  QUEUE_NAME,
  type LabelItem,
  type ScanItem,
  type ScanMetaRecord,
  type TamgaJobData,
} from './jobs.js';
import { connectQueue, queueConnection, queueFailed, redactQueueUrl } from './redis.js';
import { isUrl } from './sources.js';
import { JobStore } from './store.js';

export interface EnqueueOptions {
  /** `redis://HOST:PORT/DB`. */
  queue: string;
  /** The run's name: `tamga report --job` gathers it. Must be new (a finished job is removed with `report --purge`). */
  job: string;
  /** Files per BullMQ job. Default 64. */
  batchSize?: number;
  /** Attempts per batch before it is dead-lettered. Default 5. */
  attempts?: number;
  /** First retry delay in ms (doubling). Default 1000. */
  backoffMs?: number;
}

export interface EnqueueScanOptions extends EnqueueOptions, VerifyOptions {
  include?: string[];
  exclude?: string[];
  /** Called after each batch is queued with the files queued so far. */
  onProgress?: (files: number) => void;
}

export interface EnqueueResult {
  files: number;
  batches: number;
}

/** Batches flushed to Redis per addBulk call: one round trip for many jobs. */
const BATCHES_PER_ADD = 8;

function checkInt(option: string, v: number | undefined, def: number, max: number): number {
  const n = v ?? def;
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalidOption(option, `an integer from 1 to ${max}`, v);
  return n;
}

interface Producer {
  store: JobStore;
  queue: Queue<TamgaJobData>;
  close(): Promise<void>;
}

/** One connection for our records and BullMQ's Queue (which leaves a connection it was handed open on close). */
async function openProducer(opts: EnqueueOptions, record: ScanMetaRecord): Promise<Producer> {
  const store = new JobStore(opts.queue, queueConnection(opts.queue, 'client'));
  try {
    await connectQueue(store.redis, opts.queue);
    if (!(await store.createJob(opts.job, record))) throw new TamgaError('INVALID_OPTION', `job: ${opts.job} already exists in ${redactQueueUrl(opts.queue)}; choose another name or remove it with \`tamga report --job ${opts.job} --purge\``, { option: 'job' });
  } catch (e) {
    await store.close();
    throw e;
  }
  const queue = new Queue<TamgaJobData>(QUEUE_NAME, { connection: store.redis });
  queue.on('error', () => undefined);
  return {
    store,
    queue,
    async close() {
      await queue.close();
      await store.close();
    },
  };
}

/**
 * Streams the walk of `paths` into the queue: one BullMQ job per `batchSize` files, added a few
 * batches per round trip. URLs are queued as they are. Paths the walk cannot follow get their
 * `error` verdict stored at once, as a single-process scan reports them.
 */
export async function enqueueScan(paths: string[], opts: EnqueueScanOptions): Promise<EnqueueResult> {
  const job = checkJobName(opts.job);
  const batchSize = checkInt('batchSize', opts.batchSize, DEFAULT_BATCH_SIZE, 10_000);
  const attempts = checkInt('attempts', opts.attempts, DEFAULT_ATTEMPTS, 100);
  const backoffMs = checkInt('backoffMs', opts.backoffMs, DEFAULT_BACKOFF_MS, 3_600_000);
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) throw new TamgaError('INVALID_OPTION', 'paths: expected one or more file or directory paths or URLs', { option: 'paths' });
  const policy = policyDefinition(opts.policy ?? 'kz');
  const { queue: _q, job: _j, batchSize: _b, attempts: _a, backoffMs: _bo, include, exclude, onProgress, ...verifyInput } = opts;
  // Trust anchors are read here (a PEM path on this machine), so workers need not see the path.
  const verify = checkVerifyOptions({ ...verifyInput, policy: policy.id });
  const record: ScanMetaRecord = { type: 'scan', run: randomUUID(), policy: policy.id, roots: paths, startedAt: new Date().toISOString(), verify };
  const producer = await openProducer({ ...opts, job }, record).catch((e: unknown) => Promise.reject(e instanceof TamgaError ? e : queueFailed(opts.queue, e)));
  const keys = jobKeys(job);
  const jobsOpts = jobOptions(attempts, backoffMs);
  let files = 0;
  let batches = 0;
  let batch: ScanItem[] = [];
  let pending: { name: string; data: TamgaJobData; opts: typeof jobsOpts & { jobId: string } }[] = [];
  const problems: FileVerdict[] = [];
  const flush = async (final: boolean) => {
    if (batch.length) {
      pending.push({ name: 'scan', data: { type: 'scan', job, run: record.run, index: batches, files: batch }, opts: { ...jobsOpts, jobId: batchJobId(job, batches) } });
      batches++;
      files += batch.length;
      batch = [];
    }
    if (pending.length >= BATCHES_PER_ADD || (final && pending.length)) {
      // The counters go first: a worker that finishes a batch at once must never see more done than queued.
      const queuedFiles = pending.reduce((n, p) => n + (p.data.type === 'scan' ? p.data.files.length : 0), 0);
      await producer.store.addQueued(job, queuedFiles, pending.length);
      await producer.queue.addBulk(pending);
      pending = [];
      onProgress?.(files);
    }
    if (problems.length) {
      const counted = problems.length;
      await producer.store.putResults(job, problems.map((v) => ({ key: v.path, record: { stamp: '', result: v } })), (tx) => tx.hincrby(keys.meta, 'files', counted));
      problems.length = 0;
    }
  };
  try {
    const localRoots = paths.filter((p) => !isUrl(p));
    for (const p of paths) {
      if (!isUrl(p)) continue;
      batch.push({ p, s: p });
      if (batch.length >= batchSize) await flush(false);
    }
    if (localRoots.length) {
      for await (const e of walk(localRoots, { ...(include ? { include } : {}), ...(exclude ? { exclude } : {}) })) {
        if (e.problem) {
          problems.push(errorVerdict(e.path, policy, e.problem));
          if (problems.length >= batchSize) await flush(false);
          continue;
        }
        batch.push({ p: e.path, s: isAbsolute(e.path) ? e.path : resolve(e.path) });
        if (batch.length >= batchSize) await flush(false);
      }
    }
    await flush(true);
    await producer.store.markWalked(job);
    return { files, batches };
  } catch (e) {
    throw e instanceof TamgaError ? e : queueFailed(opts.queue, e);
  } finally {
    await producer.close();
  }
}

export interface EnqueueLabelOptions extends EnqueueOptions {
  label?: LabelOptions;
}

/** Queues files to label (each to its own output path on the shared file system). */
export async function enqueueLabels(items: LabelItem[], opts: EnqueueLabelOptions): Promise<EnqueueResult> {
  const job = checkJobName(opts.job);
  const batchSize = checkInt('batchSize', opts.batchSize, DEFAULT_BATCH_SIZE, 10_000);
  const attempts = checkInt('attempts', opts.attempts, DEFAULT_ATTEMPTS, 100);
  const backoffMs = checkInt('backoffMs', opts.backoffMs, DEFAULT_BACKOFF_MS, 3_600_000);
  const label = opts.label ?? {};
  resolveLabelOptions(label);
  if (label.inPlace || label.output !== undefined) throw new TamgaError('INVALID_OPTION', 'label: give each item its output; inPlace and output are per item', { option: 'label' });
  if (!Array.isArray(items) || !items.length || !items.every((i) => typeof i?.source === 'string' && i.source && typeof i.output === 'string' && i.output)) {
    throw new TamgaError('INVALID_OPTION', 'items: expected a list of { source, output }', { option: 'items' });
  }
  const record: ScanMetaRecord = { type: 'label', run: randomUUID(), policy: label.policy ?? 'kz', roots: [], startedAt: new Date().toISOString(), label };
  const producer = await openProducer({ ...opts, job }, record).catch((e: unknown) => Promise.reject(e instanceof TamgaError ? e : queueFailed(opts.queue, e)));
  try {
    const bulk = [];
    for (let i = 0, index = 0; i < items.length; i += batchSize, index++) {
      const part = items.slice(i, i + batchSize).map((it) => ({ ...it, source: isUrl(it.source) || isAbsolute(it.source) ? it.source : resolve(it.source), output: resolve(it.output) }));
      bulk.push({ name: 'label', data: { type: 'label' as const, job, run: record.run, index, items: part }, opts: { ...jobOptions(attempts, backoffMs), jobId: batchJobId(job, index) } });
    }
    await producer.store.addQueued(job, items.length, bulk.length, true);
    for (let i = 0; i < bulk.length; i += BATCHES_PER_ADD) await producer.queue.addBulk(bulk.slice(i, i + BATCHES_PER_ADD));
    return { files: items.length, batches: bulk.length };
  } catch (e) {
    throw e instanceof TamgaError ? e : queueFailed(opts.queue, e);
  } finally {
    await producer.close();
  }
}
