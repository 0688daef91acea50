import { Redis, type RedisOptions } from 'ioredis';
import { TamgaError, invalidOption } from '../core/errors.js';

/** Where the queue lives: `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS). */
export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
}

/**
 * Checks a queue URL and reads it. ioredis parses the URL itself when it connects; this is here
 * so that a mistyped `--queue` is an INVALID_OPTION naming the option, not a connection attempt
 * to a host that ioredis made up from an `http://` URL or a database named `abc`.
 */
export function parseQueueUrl(url: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidOption('queue', `redis://HOST:PORT/DB`, url);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw invalidOption('queue', `a redis:// or rediss:// URL`, url);
  const dbText = u.pathname.replace(/^\//, '') || '0';
  const db = Number(dbText);
  const port = u.port ? Number(u.port) : 6379;
  if (!/^\d+$/.test(dbText) || db > 65535) throw new TamgaError('INVALID_OPTION', `queue: the database number must be an integer, got ${JSON.stringify(dbText)}`, { option: 'queue' });
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    db,
    tls: u.protocol === 'rediss:',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/**
 * `client`: the producer (`scan --queue`) and the reader (`report`, `--follow`): connects when
 * asked (connectQueue), and gives up after a few seconds of lost connection, so a command line
 * fails with QUEUE_FAILED instead of waiting for a Redis that is gone.
 * `worker`: connects at once and reconnects for as long as the process runs, as BullMQ workers
 * are meant to; commands wait for the connection (BullMQ requires `maxRetriesPerRequest: null`
 * on the connection a Worker duplicates for its blocking reads).
 */
export type QueueRole = 'client' | 'worker';

/** Reconnection attempts of a `client` connection before its commands fail. */
const CLIENT_RECONNECTS = 5;

function roleOptions(role: QueueRole): RedisOptions {
  // RESP2: the protocol of ioredis 5, which BullMQ's scripts and reply handling are tested on
  // (ioredis 6 defaults to RESP3).
  const common: RedisOptions = { protocol: 2 };
  if (role === 'worker') {
    return { ...common, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(250 * 2 ** Math.min(times, 6), 10_000) };
  }
  return {
    ...common,
    lazyConnect: true,
    connectTimeout: 5_000,
    // Dropping a connection that failed still waits this long for its (already closed) socket,
    // holding the process: 2 s by default.
    disconnectTimeout: 200,
    maxRetriesPerRequest: CLIENT_RECONNECTS,
    retryStrategy: (times) => (times > CLIENT_RECONNECTS ? null : 200 * times),
  };
}

/**
 * An ioredis connection to a queue URL (checked first: INVALID_OPTION when it is not one). Also
 * the connection BullMQ is handed: a Queue uses it as it is (and leaves it open on close), a
 * Worker duplicates it for its own two connections. An `error` listener is attached, so ioredis
 * does not print connection errors itself; the caller sees them as failed commands.
 */
export function queueConnection(url: string, role: QueueRole): Redis {
  parseQueueUrl(url);
  const redis = new Redis(url, roleOptions(role));
  redis.on('error', () => undefined);
  return redis;
}

/** Connects a `client` connection; a Redis that cannot be reached is a TamgaError QUEUE_FAILED at once. */
export async function connectQueue(redis: Redis, url: string): Promise<void> {
  if (redis.status === 'ready') return;
  // connect() rejects with "Connection is closed"; the errors before it say why, the last one
  // best (a wrong password: NOAUTH for the ready check, then WRONGPASS for the AUTH).
  let cause: unknown;
  const onError = (e: unknown) => (cause = e);
  redis.on('error', onError);
  try {
    await redis.connect();
  } catch (e) {
    // Stops the reconnection ioredis would otherwise go on with.
    redis.disconnect();
    throw queueFailed(url, cause ?? e);
  } finally {
    redis.off('error', onError);
  }
}

/** Closes a connection: waits for replies still due when it is up, drops it when it is not. */
export async function closeQueue(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** Turns a failure to reach Redis into a TamgaError that names the queue. */
export function queueFailed(url: string, e: unknown): TamgaError {
  const shown = redactQueueUrl(url);
  return new TamgaError('QUEUE_FAILED', `${shown}: queue unavailable: ${(e as Error)?.message ?? String(e)}`, { queue: shown }, { cause: e });
}

/** A queue URL fit for messages and logs: its password (and user name) replaced by `***`. */
export function redactQueueUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}
