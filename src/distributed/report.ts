import { Queue } from 'bullmq';
import { TamgaError } from '../core/errors.js';
import { VERSION } from '../version.js';
import { errorVerdict } from '../verify/file.js';
import { policyDefinition } from '../core/policies/index.js';
import type { Reporter, ScanSummary } from '../verify/reports/types.js';
import { emptyCounts } from '../verify/resume.js';
import type { FileVerdict, Verdict } from '../verify/types.js';
import { batchJobId, checkJobName, QUEUE_NAME, type ResultRecord, type TamgaJobData } from './jobs.js';
import { connectQueue, queueConnection, queueFailed, redactQueueUrl } from './redis.js';
import { JobStore } from './store.js';

export interface JobProgress {
  /** Files queued so far (and walk problems reported). */
  files: number;
  /** Files with a stored result. */
  results: number;
  batches: number;
  batchesDone: number;
  /** Batches that used up their attempts (BullMQ's failed set): their files without a result are reported as `error`. */
  batchesDead: number;
  /** The walk ended and every batch is done or dead. */
  complete: boolean;
}

/** Dead-lettered batches of one job name, from BullMQ's failed set. */
async function deadBatches(queue: Queue<TamgaJobData>, job: string): Promise<{ data: TamgaJobData; reason: string }[]> {
  const dead: { data: TamgaJobData; reason: string }[] = [];
  if ((await queue.getFailedCount()) === 0) return dead;
  for (let start = 0; ; start += 500) {
    const page = await queue.getFailed(start, start + 499);
    for (const j of page) if (j?.data?.job === job) dead.push({ data: j.data, reason: j.failedReason });
    if (page.length < 500) return dead;
  }
}

export class JobReader {
  private store: JobStore;
  private bullQueue: Queue<TamgaJobData> | undefined;
  readonly job: string;

  constructor(
    readonly url: string,
    job: string,
  ) {
    this.job = checkJobName(job);
    this.store = new JobStore(url, queueConnection(url, 'client'));
  }

  /**
   * BullMQ's Queue, on the store's connection (it leaves it open on close). Made on first use: a
   * Queue connects a connection it is given at once, and connect() would then find it connecting.
   */
  private get queue(): Queue<TamgaJobData> {
    if (!this.bullQueue) {
      this.bullQueue = new Queue<TamgaJobData>(QUEUE_NAME, { connection: this.store.redis });
      this.bullQueue.on('error', () => undefined);
    }
    return this.bullQueue;
  }

  /** Connects now: a Redis that cannot be reached is a TamgaError QUEUE_FAILED. */
  connect(): Promise<void> {
    return connectQueue(this.store.redis, this.url);
  }

  private async metaOrThrow() {
    const meta = await this.store.meta(this.job);
    if (!meta) throw new TamgaError('QUEUE_FAILED', `job ${this.job}: not found in ${redactQueueUrl(this.url)}`, { job: this.job });
    return meta;
  }

  async progress(): Promise<JobProgress> {
    const meta = await this.metaOrThrow();
    const [results, batchesDone, dead] = await Promise.all([this.store.resultCount(this.job), this.store.batchesDone(this.job), deadBatches(this.queue, this.job)]);
    return { files: meta.files, results, batches: meta.batches, batchesDone, batchesDead: dead.length, complete: meta.walked && batchesDone + dead.length >= meta.batches };
  }

  /** Polls until the job is complete; `onProgress` sees each poll. TamgaError QUEUE_FAILED after `timeoutMs`. */
  async waitComplete(timeoutMs: number, onProgress?: (p: JobProgress) => void, pollMs = 250): Promise<JobProgress> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.progress();
      onProgress?.(p);
      if (p.complete) return p;
      if (Date.now() >= until) throw new TamgaError('QUEUE_FAILED', `job ${this.job}: not finished after ${Math.round(timeoutMs / 1000)} s (${p.results} of ${p.files} files have results; are workers running?)`, { job: this.job });
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Stores an `error` verdict for every file of a dead-lettered batch that has no result, so the
   * report lists it (HSETNX: a result a late worker stored wins).
   */
  async recordDeadLetters(): Promise<void> {
    const meta = await this.metaOrThrow();
    const policy = policyDefinition(meta.record.policy);
    for (const { data, reason } of await deadBatches(this.queue, this.job)) {
      const keys = data.type === 'scan' ? data.files.map((f) => f.p) : data.items.map((i) => i.source);
      const have = await this.store.getResults(this.job, keys);
      const message = (key: string) => `${key}: not done: its batch failed ${keys.length > 1 ? `(with ${keys.length - 1} other files) ` : ''}on every attempt: ${reason}`;
      const records: { key: string; record: ResultRecord }[] = [];
      keys.forEach((key, i) => {
        if (have[i]) return;
        const error = { code: 'INTERNAL' as const, message: message(key) };
        const result = data.type === 'scan' ? { ...errorVerdict(key, policy, undefined), error } : { source: key, output: data.items[i]!.output, error };
        records.push({ key, record: { stamp: '', result } });
      });
      // Each key written only if still absent: a result a late worker stored wins.
      await this.store.putResultsIfAbsent(this.job, records);
    }
  }

  /** `scan` or `label`: what the job was queued for. */
  async type(): Promise<'scan' | 'label'> {
    return (await this.metaOrThrow()).record.type;
  }

  /** Every stored result, sorted by key (path bytes), a page at a time. */
  async *results<T>(): AsyncGenerator<T> {
    for await (const keys of this.store.orderedKeys(this.job)) {
      const records = await this.store.getResults<T>(this.job, keys);
      for (const r of records) if (r) yield r.result;
    }
  }

  /**
   * Streams a scan job's verdicts, sorted by path, to a reporter of the verifier (table, json,
   * ndjson, sarif, junit): the same report a single-process scan writes, in path order.
   */
  async report(reporter: Reporter, failOn: Verdict[]): Promise<ScanSummary> {
    const meta = await this.metaOrThrow();
    if (meta.record.type !== 'scan') throw new TamgaError('INVALID_OPTION', `job: ${this.job} is a labelling job; its results are read with \`tamga report --format ndjson\``, { option: 'job' });
    await this.recordDeadLetters();
    const policy = policyDefinition(meta.record.policy);
    await reporter.begin({ policy, roots: meta.record.roots, startedAt: meta.record.startedAt, failOn, version: VERSION });
    const counts = emptyCounts();
    let files = 0;
    for await (const v of this.results<FileVerdict>()) {
      counts[v.verdict]++;
      files++;
      await reporter.file(v);
    }
    const started = Date.parse(meta.record.startedAt);
    const seconds = meta.lastAt > started ? (meta.lastAt - started) / 1000 : 0;
    const summary: ScanSummary = {
      files,
      verdicts: counts,
      resumed: 0,
      seconds,
      filesPerSecond: seconds > 0 ? files / seconds : 0,
      bytesRead: meta.bytesRead,
      bytesPerFile: files ? Math.round(meta.bytesRead / files) : 0,
      failOn,
      failed: failOn.some((v) => counts[v] > 0),
    };
    await reporter.end(summary);
    return summary;
  }

  /** Deletes the job's records and its dead-lettered batches. */
  async purge(): Promise<void> {
    for (const { data } of await deadBatches(this.queue, this.job)) {
      const j = await this.queue.getJob(batchJobId(this.job, data.index));
      await j?.remove();
    }
    await this.store.deleteJob(this.job);
  }

  async close(): Promise<void> {
    await this.bullQueue?.close();
    await this.store.close();
  }
}

/** Opens a job for reading; a Redis that cannot be reached is a TamgaError QUEUE_FAILED. */
export async function openJob(url: string, job: string): Promise<JobReader> {
  const r = new JobReader(url, job);
  try {
    await r.connect();
    await r.progress();
  } catch (e) {
    await r.close().catch(() => undefined);
    throw e instanceof TamgaError ? e : queueFailed(url, e);
  }
  return r;
}
