import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, ftruncateSync, fstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { TamgaError } from '../../core/errors.js';
import { htmlReporter } from './html.js';
import { jsonReporter } from './json.js';
import { junitReporter } from './junit.js';
import { ndjsonReporter } from './ndjson.js';
import { sarifReporter } from './sarif.js';
import { tableReporter } from './table.js';
import type { Reporter, Sink } from './types.js';

export const REPORT_FORMATS = ['table', 'json', 'ndjson', 'sarif', 'junit', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function reporterFor(format: ReportFormat, sink: Sink, opts: { append?: boolean } = {}): Reporter {
  switch (format) {
    case 'table':
      return tableReporter(sink);
    case 'json':
      return jsonReporter(sink);
    case 'ndjson':
      return ndjsonReporter(sink, opts);
    case 'sarif':
      return sarifReporter(sink);
    case 'junit':
      return junitReporter(sink);
    case 'html':
      return htmlReporter(sink);
  }
}

/** A sink over a Node stream that waits for 'drain' when the stream's buffer is full. */
export function streamSink(stream: Writable): Sink {
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (stream.write(chunk)) return resolve();
        const onDrain = () => {
          stream.off('error', onError);
          resolve();
        };
        const onError = (e: Error) => {
          stream.off('drain', onDrain);
          reject(e);
        };
        stream.once('drain', onDrain);
        stream.once('error', onError);
      }),
  };
}

export interface FileSink extends Sink {
  /** Completes the file: renamed into place (or, when appending, flushed). */
  commit(): Promise<void>;
  /** Removes the temp file after a failure (an appended report keeps what it has). */
  abort(): Promise<void>;
}

function writeFailed(path: string, e: unknown): TamgaError {
  return new TamgaError('WRITE_FAILED', `${path}: cannot write the report: ${(e as Error).message ?? String(e)}`, { path }, { cause: e });
}

/**
 * A report file. A new report is written beside its destination under a temp name and renamed
 * when complete, so a reader never sees half a report; `append` (NDJSON resume into the same
 * file) first cuts a torn last line left by an interrupted run, then appends.
 */
export async function fileSink(path: string, opts: { append?: boolean } = {}): Promise<FileSink> {
  let target = path;
  if (opts.append) {
    try {
      const fd = openSync(path, 'r+');
      try {
        const size = fstatSync(fd).size;
        const tail = Buffer.alloc(Math.min(size, 1 << 20));
        readSync(fd, tail, 0, tail.length, size - tail.length);
        const lastNewline = tail.lastIndexOf(0x0a);
        if (size > 0 && lastNewline !== tail.length - 1) ftruncateSync(fd, lastNewline < 0 ? size - tail.length : size - tail.length + lastNewline + 1);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailed(path, e);
    }
  } else {
    target = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  }
  const stream = createWriteStream(target, { flags: opts.append ? 'a' : 'wx' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(writeFailed(path, e)));
  });
  const sink = streamSink(stream);
  const close = () => new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(writeFailed(path, e)) : resolve())));
  return {
    write: (c) => sink.write(c).catch((e: unknown) => Promise.reject(writeFailed(path, e))),
    async commit() {
      await close();
      if (target !== path) {
        try {
          renameSync(target, path);
        } catch (e) {
          rmSync(target, { force: true });
          throw writeFailed(path, e);
        }
      }
    },
    async abort() {
      await close().catch(() => undefined);
      if (target !== path) rmSync(target, { force: true });
    },
  };
}

export { SCAN_SCHEMA, type Reporter, type ScanMeta, type ScanSummary, type Sink } from './types.js';
