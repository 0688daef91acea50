import type { ChainableCommander, Redis } from 'ioredis';
import { jobKeys, type ResultRecord, type ScanMetaRecord } from './jobs.js';
import { closeQueue, queueFailed } from './redis.js';

/** Writes added to a result transaction (counters, the batch's done mark). */
export type AlsoWrite = (tx: ChainableCommander) => void;

/**
 * tamga's own records beside BullMQ's: per job name a meta hash, the results hash and a sorted
 * index of result keys. Every write is idempotent (HSET/ZADD of the same key), which is what makes
 * BullMQ's at-least-once delivery give each file exactly one result. Any Redis failure is a
 * TamgaError QUEUE_FAILED. The store owns its connection (a BullMQ Queue may borrow it).
 */
export class JobStore {
  constructor(
    readonly url: string,
    readonly redis: Redis,
  ) {}

  private async run<T>(command: Promise<T>): Promise<T> {
    try {
      return await command;
    } catch (e) {
      throw queueFailed(this.url, e);
    }
  }

  /** MULTI ... EXEC; a command that failed inside it fails the whole call. */
  private async transaction(build: (tx: ChainableCommander) => void): Promise<void> {
    const tx = this.redis.multi();
    build(tx);
    const replies = await this.run(tx.exec());
    // null: the transaction was aborted (no WATCH here, so only on a lost connection).
    if (!replies) throw queueFailed(this.url, new Error('transaction aborted'));
    const failed = replies.find(([e]) => e);
    if (failed) throw queueFailed(this.url, failed[0]);
  }

  /** Claims a job name (HSETNX: two producers racing for one name cannot both own it). */
  async createJob(job: string, record: ScanMetaRecord): Promise<boolean> {
    return (await this.run(this.redis.hsetnx(jobKeys(job).meta, 'record', JSON.stringify(record)))) === 1;
  }

  async meta(job: string): Promise<{ record: ScanMetaRecord; files: number; batches: number; walked: boolean; bytesRead: number; lastAt: number } | undefined> {
    const h = await this.run(this.redis.hgetall(jobKeys(job).meta));
    if (!h['record']) return undefined;
    return {
      record: JSON.parse(h['record']) as ScanMetaRecord,
      files: Number(h['files'] ?? 0),
      batches: Number(h['batches'] ?? 0),
      walked: h['walked'] === '1',
      bytesRead: Number(h['bytesRead'] ?? 0),
      lastAt: Number(h['lastAt'] ?? 0),
    };
  }

  /** The job's record alone (what a worker needs per batch). */
  async record(job: string): Promise<ScanMetaRecord | undefined> {
    const raw = await this.run(this.redis.hget(jobKeys(job).meta, 'record'));
    return raw ? (JSON.parse(raw) as ScanMetaRecord) : undefined;
  }

  /** Counts files and batches as queued; `walked` marks the end of the walk in the same step. */
  async addQueued(job: string, files: number, batches: number, walked = false): Promise<void> {
    const meta = jobKeys(job).meta;
    await this.transaction((tx) => {
      tx.hincrby(meta, 'files', files).hincrby(meta, 'batches', batches);
      if (walked) tx.hset(meta, 'walked', '1');
    });
  }

  async markWalked(job: string): Promise<void> {
    await this.run(this.redis.hset(jobKeys(job).meta, 'walked', '1'));
  }

  /** Stores results (overwriting any earlier result of the same key) and indexes their keys, with `also` in the same transaction. */
  async putResults(job: string, results: { key: string; record: ResultRecord }[], also?: AlsoWrite): Promise<void> {
    if (!results.length && !also) return;
    const k = jobKeys(job);
    await this.transaction((tx) => {
      if (results.length) {
        tx.hset(k.results, ...results.flatMap((r) => [r.key, JSON.stringify(r.record)]));
        tx.zadd(k.order, ...results.flatMap((r) => [0, r.key]));
      }
      also?.(tx);
    });
  }

  /** Stores each record only where its key has none yet (HSETNX: a result a late worker stored wins). */
  async putResultsIfAbsent(job: string, results: { key: string; record: ResultRecord }[]): Promise<void> {
    if (!results.length) return;
    const k = jobKeys(job);
    await this.transaction((tx) => {
      for (const r of results) tx.hsetnx(k.results, r.key, JSON.stringify(r.record));
      tx.zadd(k.order, ...results.flatMap((r) => [0, r.key]));
    });
  }

  /** Stored records for these keys (undefined where none). */
  async getResults<T>(job: string, keys: string[]): Promise<(ResultRecord<T> | undefined)[]> {
    if (!keys.length) return [];
    const raw = await this.run(this.redis.hmget(jobKeys(job).results, ...keys));
    return raw.map((s) => (s === null ? undefined : (JSON.parse(s) as ResultRecord<T>)));
  }

  async resultCount(job: string): Promise<number> {
    return this.run(this.redis.hlen(jobKeys(job).results));
  }

  async batchesDone(job: string): Promise<number> {
    return this.run(this.redis.hlen(jobKeys(job).batchesDone));
  }

  /** Result keys in byte order, `page` at a time: a report of millions of files never holds the list. */
  async *orderedKeys(job: string, page = 500): AsyncGenerator<string[]> {
    for (let start = 0; ; start += page) {
      // ioredis 6's types take the stop index as a string.
      const keys = await this.run(this.redis.zrange(jobKeys(job).order, start, String(start + page - 1)));
      if (keys.length) yield keys;
      if (keys.length < page) return;
    }
  }

  async deleteJob(job: string): Promise<void> {
    const k = jobKeys(job);
    await this.run(this.redis.del(k.meta, k.results, k.order, k.batchesDone));
  }

  close(): Promise<void> {
    return closeQueue(this.redis);
  }
}
