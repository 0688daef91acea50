import { Worker } from 'bullmq';
import { label } from '../api.js';
import { isTamgaError, TamgaError } from '../core/errors.js';
import { fileBytesRead } from '../core/source.js';
import { closeLedgerReader, ledgerReader } from '../ledger/index.js';
import { errorVerdict, verifierBytesRead } from '../verify/file.js';
import { verify } from '../verify/index.js';
import { policyDefinition } from '../core/policies/index.js';
import { mapConcurrent } from '../verify/pool.js';
import type { FileVerdict, VerifyOptions } from '../verify/types.js';
import { envInt, jobKeys, QUEUE_NAME, type LabelItem, type ResultRecord, type ScanItem, type ScanMetaRecord, type TamgaJobData } from './jobs.js';
import { queueConnection } from './redis.js';
import { fetchSource, isTransient, TransientError, transientMessage, type FetchOptions } from './sources.js';
import { JobStore } from './store.js';

export interface WorkerOptions {
  queue: string;
  /** Batches processed at once. Default 2. */
  concurrency?: number;
  /** Files of one batch verified at once. Default 4. */
  filesPerBatch?: number;
  /** A job's lock lifetime in ms: a worker that dies holds its batch this long at most (env TAMGA_QUEUE_LOCK_MS). Default 30000. */
  lockDurationMs?: number;
  /** How often this worker looks for batches whose worker died (env TAMGA_QUEUE_STALLED_MS). Default 30000. */
  stalledIntervalMs?: number;
  /** Largest URL download. Default 1 GiB. */
  maxDownloadBytes?: number;
  /** Watermark keys used when a job carries none (so keys need not be stored in Redis). */
  watermarkKeys?: string[];
  /** One line per event (started, finished, retried, failed batch). */
  log?: (line: string) => void;
  /** Verifies one fetched file (default `verify()`); a benchmark injects a fixed verdict to time the queue alone. */
  verify?: (path: string, opts: VerifyOptions) => Promise<FileVerdict>;
  /** Called with a scan batch's file keys before it runs; a throw fails the batch (retried, then dead-lettered). */
  beforeBatch?: (files: readonly string[]) => void | Promise<void>;
}

export interface RunningWorker {
  /** Stops taking batches; resolves when the batches in hand are done (`force`: at once, they are released to other workers when their lock expires). */
  close(force?: boolean): Promise<void>;
  /** Resolves once the worker is connected and taking jobs. */
  ready: Promise<void>;
}

/** Test hook: delay before each batch, so a test can kill a worker holding one. */
const testDelayMs = () => envInt('TAMGA_TEST_BATCH_DELAY_MS', 0);

/**
 * Runs scan and label batches from the queue. Results are written with HSET under the file's key,
 * so a batch delivered twice (a retry, a worker killed after writing) stores each file once.
 * Transient failures (connection reset, EMFILE, time-outs) make the batch throw after storing
 * what succeeded, and BullMQ retries it with exponential backoff; on the last attempt the
 * failure is stored as the file's `error` verdict instead.
 */
export function startWorker(opts: WorkerOptions): RunningWorker {
  // Our reads and writes use this connection; the BullMQ Worker duplicates it for its own two.
  const store = new JobStore(opts.queue, queueConnection(opts.queue, 'worker'));
  const log = opts.log ?? (() => undefined);
  const filesPerBatch = opts.filesPerBatch ?? 4;
  const fetchOpts: FetchOptions = { maxBytes: opts.maxDownloadBytes ?? 1 << 30, timeoutMs: 120_000 };
  const metas = new Map<string, ScanMetaRecord>();
  const ledgers = new Set<string>();
  const verifyOne = opts.verify ?? verify;

  /** The job's record, or undefined when the batch belongs to a run that was purged. */
  async function metaOf(job: string, run: string): Promise<ScanMetaRecord | undefined> {
    let m = metas.get(job);
    if (!m || m.run !== run) {
      m = await store.record(job);
      if (m) metas.set(job, m);
    }
    return m?.run === run ? m : undefined;
  }

  async function scanBatch(data: Extract<TamgaJobData, { type: 'scan' }>, finalAttempt: boolean): Promise<number> {
    await opts.beforeBatch?.(data.files.map((f) => f.p));
    const meta = await metaOf(data.job, data.run);
    if (!meta) return 0;
    const policy = policyDefinition(meta.policy);
    const jobHasKey = meta.verify?.watermarkKey !== undefined || Boolean(meta.verify?.watermarkKeys?.length);
    const verifyOpts = { ...meta.verify, ...(!jobHasKey && opts.watermarkKeys?.length ? { watermarkKeys: opts.watermarkKeys } : {}) };
    if (verifyOpts.ledger !== undefined) {
      // Opened once per worker and kept (verify() would open and close it per file).
      ledgerReader(verifyOpts.ledger);
      ledgers.add(verifyOpts.ledger);
    }
    const earlier = await store.getResults<FileVerdict>(data.job, data.files.map((f) => f.p));
    const bytesAtStart = fileBytesRead() + verifierBytesRead();
    let transient: unknown;
    const results: { key: string; record: ResultRecord }[] = [];
    const one = async ({ item, before }: { item: ScanItem; before: ResultRecord<FileVerdict> | undefined }) => {
      let fetched;
      try {
        fetched = await fetchSource(item.s, fetchOpts);
      } catch (e) {
        if (isTransient(e) && !finalAttempt) {
          transient ??= e;
          return;
        }
        results.push({ key: item.p, record: { stamp: '', result: errorVerdict(item.p, policy, isTamgaError(e) ? e : new TamgaError('READ_FAILED', (e as Error).message)) } });
        return;
      }
      try {
        // A retried batch skips what an earlier attempt stored for this same version of the file.
        if (before && before.stamp === fetched.stamp) return;
        const v = await verifyOne(fetched.path, verifyOpts);
        if (v.verdict === 'error' && v.error && transientMessage(v.error.message) && !finalAttempt) {
          transient ??= new TransientError(v.error.message);
          return;
        }
        results.push({ key: item.p, record: { stamp: fetched.stamp, result: relabelPath(v, fetched.path, item.p) } });
      } finally {
        await fetched.release();
      }
    };
    async function* items() {
      for (let i = 0; i < data.files.length; i++) yield { item: data.files[i]!, before: earlier[i] };
    }
    for await (const _ of mapConcurrent(items(), filesPerBatch, one)) void _;
    const k = jobKeys(data.job);
    const bytes = fileBytesRead() + verifierBytesRead() - bytesAtStart;
    await store.putResults(data.job, results, (tx) => {
      tx.hincrby(k.meta, 'bytesRead', bytes).hset(k.meta, 'lastAt', Date.now());
      if (!transient) tx.hset(k.batchesDone, data.index, 1);
    });
    if (transient) throw transient instanceof Error ? transient : new TransientError(String(transient));
    return results.length;
  }

  async function labelBatch(data: Extract<TamgaJobData, { type: 'label' }>, finalAttempt: boolean): Promise<number> {
    const meta = await metaOf(data.job, data.run);
    if (!meta) return 0;
    const labelOpts = { ...meta.label, ...(meta.label?.watermarkKey === undefined && opts.watermarkKeys?.[0] ? { watermarkKey: opts.watermarkKeys[0] } : {}) };
    const results: { key: string; record: ResultRecord }[] = [];
    const earlier = await store.getResults<{ error?: unknown }>(data.job, data.items.map((i) => i.source));
    let transient: unknown;
    const one = async ({ item, before }: { item: LabelItem; before: ResultRecord<{ error?: unknown }> | undefined }) => {
      let fetched;
      try {
        fetched = await fetchSource(item.source, fetchOpts);
        // A retried batch does not label again what an earlier attempt finished (a new content id each time).
        if (before && !before.result.error && before.stamp === fetched.stamp) return;
        // The output is written before its result is stored, so the result names the output's content id.
        const r = await label(fetched.path, item.provenance ?? {}, { ...labelOpts, output: item.output });
        results.push({ key: item.source, record: { stamp: fetched.stamp, result: { source: item.source, output: item.output, format: r.format, kind: r.kind, layers: r.layers, contentId: r.provenance.contentId, bytes: r.bytes, ...(r.skipped ? { skipped: r.skipped } : {}) } } });
      } catch (e) {
        if (isTransient(e) && !finalAttempt) {
          transient ??= e;
          return;
        }
        const error = isTamgaError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
        results.push({ key: item.source, record: { stamp: fetched?.stamp ?? '', result: { source: item.source, output: item.output, error } } });
      } finally {
        await fetched?.release();
      }
    };
    async function* items() {
      for (let i = 0; i < data.items.length; i++) yield { item: data.items[i]!, before: earlier[i] };
    }
    for await (const _ of mapConcurrent(items(), filesPerBatch, one)) void _;
    const k = jobKeys(data.job);
    await store.putResults(data.job, results, (tx) => {
      tx.hset(k.meta, 'lastAt', Date.now());
      if (!transient) tx.hset(k.batchesDone, data.index, 1);
    });
    if (transient) throw transient instanceof Error ? transient : new TransientError(String(transient));
    return results.length;
  }

  const worker = new Worker<TamgaJobData, number>(
    QUEUE_NAME,
    async (job) => {
      const delay = testDelayMs();
      log(`batch ${job.id} started (attempt ${job.attemptsMade + 1})`);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const n = job.data.type === 'scan' ? await scanBatch(job.data, finalAttempt) : await labelBatch(job.data, finalAttempt);
      log(`batch ${job.id} finished (${n} results)`);
      return n;
    },
    {
      connection: store.redis,
      concurrency: opts.concurrency ?? 2,
      lockDuration: opts.lockDurationMs ?? envInt('TAMGA_QUEUE_LOCK_MS', 30_000),
      stalledInterval: opts.stalledIntervalMs ?? envInt('TAMGA_QUEUE_STALLED_MS', 30_000),
      // A batch whose worker died twice (a poison file crashing the process) is dead-lettered.
      maxStalledCount: 2,
      autorun: true,
    },
  );
  worker.on('failed', (job, err) => log(`batch ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message}`));
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  return {
    ready: worker.waitUntilReady().then(() => undefined),
    async close(force = false) {
      await worker.close(force);
      await store.close();
      for (const l of ledgers) closeLedgerReader(l);
    },
  };
}

/** The verdict names the file as it was queued (the walk's path or the URL), not the worker's copy. */
function relabelPath(v: FileVerdict, readPath: string, shownPath: string): FileVerdict {
  if (readPath === shownPath) return v;
  const fix = (s: string) => s.split(readPath).join(shownPath);
  return { ...v, path: shownPath, ...(v.error ? { error: { ...v.error, message: fix(v.error.message) } } : {}), ...(v.problems ? { problems: v.problems.map(fix) } : {}) };
}
