import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { closeQueue, connectQueue, parseQueueUrl, queueConnection } from '../../src/distributed/redis.js';
import { JobStore } from '../../src/distributed/store.js';
import { hasRedis, startRedis } from './helpers.js';

describe('queue URLs', () => {
  it('reads host, port, database, credentials and TLS', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6380/3')).toEqual({ host: '10.0.0.5', port: 6380, db: 3, tls: false });
    expect(parseQueueUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379, db: 0, tls: false });
    expect(parseQueueUrl('rediss://u:p%40ss@[::1]:7000/0')).toEqual({ host: '::1', port: 7000, db: 0, tls: true, username: 'u', password: 'p@ss' });
  });
  it('refuses other schemes and bad databases with INVALID_OPTION, before any connection', () => {
    for (const bad of ['http://x:6379/0', 'redis://x:6379/abc', 'not a url']) {
      expect(() => parseQueueUrl(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      expect(() => queueConnection(bad, 'client'), bad).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
  });
  it('hands every part of the URL to ioredis: TLS, user, password, database', () => {
    const r = queueConnection('rediss://u:p%40ss@redis.example:7000/5', 'client');
    try {
      expect(r.options).toMatchObject({ host: 'redis.example', port: 7000, db: 5, username: 'u', password: 'p@ss', tls: expect.anything() });
      // A lazy client: nothing was dialled.
      expect(r.status).toBe('wait');
    } finally {
      r.disconnect();
    }
  });
  it('worker connections wait for Redis (maxRetriesPerRequest null, as BullMQ requires); client connections give up', () => {
    const w = queueConnection('redis://127.0.0.1:1/0', 'worker');
    const c = queueConnection('redis://127.0.0.1:1/0', 'client');
    try {
      expect(w.options.maxRetriesPerRequest).toBe(null);
      expect(w.options.retryStrategy!(1000)).toBeGreaterThan(0);
      expect(c.options.retryStrategy!(1000)).toBe(null);
    } finally {
      w.disconnect();
      c.disconnect();
    }
  });
});

describe.skipIf(!hasRedis)('queue connections against redis-server', () => {
  it('authenticates with user:password, selects the database and speaks RESP2', async () => {
    const redis = await startRedis({ args: ['--user', 'default', 'off', '--user', 'tamga', 'on', '>s3cret', '~*', '&*', '+@all'] });
    const conns: Redis[] = [];
    try {
      const ok = queueConnection(`redis://tamga:s3cret@127.0.0.1:${redis.port}/3`, 'client');
      conns.push(ok);
      await connectQueue(ok, 'q');
      const info = (await ok.client('INFO')) as string;
      expect(info).toMatch(/ db=3 /);
      expect(info).toMatch(/ user=tamga /);
      expect(info).toMatch(/ resp=2\b/);
      const bad = queueConnection(`redis://tamga:wrong@127.0.0.1:${redis.port}/3`, 'client');
      conns.push(bad);
      await expect(connectQueue(bad, 'q')).rejects.toMatchObject({ code: 'QUEUE_FAILED', message: expect.stringMatching(/WRONGPASS|invalid username-password/) });
    } finally {
      for (const c of conns) c.disconnect();
      await redis.stop();
    }
  });

  it('an unreachable Redis is QUEUE_FAILED on connect, and the client stops dialling', async () => {
    const r = queueConnection('redis://127.0.0.1:1/0', 'client');
    let dials = 0;
    r.on('connecting', () => dials++);
    await expect(connectQueue(r, 'redis://127.0.0.1:1/0')).rejects.toMatchObject({ code: 'QUEUE_FAILED', message: expect.stringMatching(/ECONNREFUSED/) });
    // Longer than the first reconnection delay (200 ms): no second attempt.
    await new Promise((res) => setTimeout(res, 700));
    expect(dials).toBe(1);
  });

  it('a client whose Redis goes away fails its commands with QUEUE_FAILED instead of waiting', async () => {
    const redis = await startRedis();
    const store = new JobStore(redis.url(), queueConnection(redis.url(), 'client'));
    try {
      await connectQueue(store.redis, store.url);
      expect(await store.resultCount('j')).toBe(0);
      await redis.stop();
      await expect(store.resultCount('j')).rejects.toMatchObject({ code: 'QUEUE_FAILED' });
    } finally {
      await store.close();
    }
  }, 20_000);

  it('a worker connection outlives a Redis restart: a command sent while it is down completes after', async () => {
    let redis = await startRedis();
    const w = queueConnection(redis.url(), 'worker');
    try {
      await w.set('k', '1');
      await redis.stop();
      const pending = w.incr('k');
      // The restarted server has no data (no persistence): the INCR lands on a fresh key.
      redis = await startRedis({ port: redis.port });
      expect(await pending).toBe(1);
    } finally {
      await closeQueue(w);
      await redis.stop();
    }
  }, 20_000);
});

describe.skipIf(!hasRedis)('JobStore on ioredis', () => {
  it('result writes are idempotent and come back in key order; put-if-absent keeps what is there', async () => {
    const redis = await startRedis();
    const store = new JobStore(redis.url(), queueConnection(redis.url(), 'client'));
    try {
      await connectQueue(store.redis, store.url);
      const rec = (stamp: string, v: string) => ({ stamp, result: { v } });
      await store.putResults('j', [
        { key: 'b', record: rec('1', 'first') },
        { key: 'a', record: rec('1', 'a') },
      ]);
      // The same batch again (a retry) with a newer result for b: still two results.
      await store.putResults('j', [{ key: 'b', record: rec('2', 'second') }], (tx) => tx.hset('tamga:{j}:done', 0, 1));
      expect(await store.resultCount('j')).toBe(2);
      expect(await store.batchesDone('j')).toBe(1);
      await store.putResultsIfAbsent('j', [
        { key: 'b', record: rec('', 'dead letter') },
        { key: 'c', record: rec('', 'dead letter') },
      ]);
      const keys: string[] = [];
      for await (const page of store.orderedKeys('j', 2)) keys.push(...page);
      expect(keys).toEqual(['a', 'b', 'c']);
      expect(await store.getResults('j', ['b', 'c', 'none'])).toEqual([rec('2', 'second'), rec('', 'dead letter'), undefined]);
      // A failing command inside the transaction fails the call (and is a QUEUE_FAILED).
      await store.redis.set('tamga:{k}:done', 'not a hash');
      await expect(store.putResults('k', [{ key: 'x', record: rec('', 'x') }], (tx) => tx.hset('tamga:{k}:done', 0, 1))).rejects.toMatchObject({ code: 'QUEUE_FAILED', message: expect.stringMatching(/WRONGTYPE/) });
    } finally {
      await store.close();
      await redis.stop();
    }
  });
});

describe('queue URLs in messages', () => {
  it('never show the password', async () => {
    const { redactQueueUrl, queueFailed } = await import('../../src/distributed/redis.js');
    expect(redactQueueUrl('redis://user:s3cret@127.0.0.1:6379/2')).toBe('redis://***@127.0.0.1:6379/2');
    expect(redactQueueUrl('rediss://:s3cret@host/0')).toBe('rediss://***@host/0');
    expect(redactQueueUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    const e = queueFailed('redis://u:s3cret@127.0.0.1:1/0', new Error('ECONNREFUSED'));
    expect(e.code).toBe('QUEUE_FAILED');
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain('s3cret');
  });
});
