import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { TamgaError, invalidOption } from '../core/errors.js';

/** A source made readable as a local file for the verifier or the labeller. */
export interface FetchedSource {
  /** A local path to read. */
  path: string;
  size: number;
  /** What identifies this version of the source (size and mtime, or size and the server's validators): the idempotency stamp. */
  stamp: string;
  /** Removes a downloaded copy (a no-op for shared-file-system paths). */
  release(): Promise<void>;
}

export interface FetchOptions {
  /** Largest download accepted (INPUT_TOO_LARGE past it). */
  maxBytes: number;
  /** Per-download time limit in ms. */
  timeoutMs: number;
}

/** Reads sources of one URL scheme (`http:`, `https:`; an S3-compatible store would add `s3:`). */
export type SourceFetcher = (url: URL, opts: FetchOptions) => Promise<FetchedSource>;

/**
 * A failure worth retrying (connection reset, too many open files, a time-out, a 5xx or 429
 * answer): the worker lets BullMQ retry the batch with backoff instead of storing an `error` verdict.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** True for errors (or verdict error messages) a retry may cure. */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    if ((c as Error).name === 'TimeoutError') return true;
  }
  return false;
}

/** The same test on a message (verdict errors keep only code and message). */
export const transientMessage = (message: string): boolean => /\b(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|EMFILE|ENFILE|EBUSY|EAGAIN)\b/.test(message);

const fetchers = new Map<string, SourceFetcher>();

/** Adds (or replaces) the reader of a URL scheme, e.g. `registerSourceFetcher('s3:', ...)`. */
export function registerSourceFetcher(scheme: string, fetcher: SourceFetcher): void {
  if (!/^[a-z][a-z0-9+.-]*:$/.test(scheme)) throw invalidOption('scheme', `a URL scheme such as "s3:"`, scheme);
  fetchers.set(scheme, fetcher);
}

/** A URL with a scheme of two or more letters (one letter is a Windows drive). */
export const isUrl = (ref: string): boolean => /^[a-z][a-z0-9+.-]+:\/\//i.test(ref);

async function localFile(path: string): Promise<FetchedSource> {
  const st = await stat(path);
  return { path, size: st.size, stamp: `${st.size}:${Math.round(st.mtimeMs)}`, release: async () => {} };
}

/** A shared-file-system path or a URL made readable; errors: READ_FAILED, INPUT_TOO_LARGE, or TransientError. */
export async function fetchSource(ref: string, opts: FetchOptions): Promise<FetchedSource> {
  if (!isUrl(ref)) {
    const path = isAbsolute(ref) ? ref : resolve(ref);
    try {
      return await localFile(path);
    } catch (e) {
      if (isTransient(e)) throw new TransientError(`${ref}: ${(e as Error).message}`, { cause: e });
      throw new TamgaError('READ_FAILED', `${ref}: cannot read: ${(e as Error).message}`, { path: ref }, { cause: e });
    }
  }
  const url = new URL(ref);
  if (url.protocol === 'file:') return fetchSource(fileURLToPath(url), opts);
  const fetcher = fetchers.get(url.protocol);
  if (!fetcher) throw new TamgaError('UNSUPPORTED_FORMAT', `${ref}: no source reader for ${url.protocol} URLs (registerSourceFetcher adds one)`, { path: ref });
  return fetcher(url, opts);
}

/** HTTP(S): the body is streamed to a temp file, refused past `maxBytes`. */
export const httpFetcher: SourceFetcher = async (url, opts) => {
  const shown = url.href;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (e) {
    // fetch() fails with a TypeError whose cause carries the socket error; all of those may pass.
    throw new TransientError(`${shown}: download failed: ${((e as Error).cause as Error)?.message ?? (e as Error).message}`, { cause: e });
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    await res.body?.cancel();
    throw new TransientError(`${shown}: HTTP ${res.status}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new TamgaError('READ_FAILED', `${shown}: HTTP ${res.status}`, { path: shown, status: res.status });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > opts.maxBytes) {
    await res.body.cancel();
    throw new TamgaError('INPUT_TOO_LARGE', `${shown}: ${declared} bytes, over the ${opts.maxBytes}-byte download limit`, { path: shown, limit: opts.maxBytes });
  }
  const dir = await mkdtemp(join(tmpdir(), 'tamga-fetch-'));
  const release = () => rm(dir, { recursive: true, force: true });
  // The file keeps the URL's extension: some formats are told apart by name.
  const ext = /\.[A-Za-z0-9]{1,5}$/.exec(url.pathname)?.[0] ?? '';
  const path = join(dir, `source${ext}`);
  let size = 0;
  try {
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBytes) body.destroy(new TamgaError('INPUT_TOO_LARGE', `${shown}: over the ${opts.maxBytes}-byte download limit`, { path: shown, limit: opts.maxBytes }));
    });
    await pipeline(body, createWriteStream(path));
  } catch (e) {
    await release();
    if (e instanceof TamgaError) throw e;
    throw new TransientError(`${shown}: download interrupted: ${(e as Error).message}`, { cause: e });
  }
  const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? '';
  return { path, size, stamp: `${size}:${validator}`, release };
};

registerSourceFetcher('http:', httpFetcher);
registerSourceFetcher('https:', httpFetcher);
