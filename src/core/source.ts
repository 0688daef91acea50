import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TamgaError } from './errors.js';

/** What label() and detect() accept: a file path, the bytes, or a readable stream. */
export type Source = string | Uint8Array | Readable;

/**
 * Random access to a source. Format code reads headers and skips payloads through this, so a scan
 * of a large file touches only the bytes it needs (file sources are never read whole for detect).
 */
export interface ByteReader {
  readonly size: number;
  /** A name for messages: the path, or `<buffer>` / `<stream>`. */
  readonly name: string;
  /** The path when the source is a file. */
  readonly path?: string;
  /** Exactly `length` bytes at `offset`; a read past the end is a CORRUPT_INPUT (truncated file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Total bytes fetched from the underlying file (for benchmarks and read-budget tests). */
  readonly bytesRead: number;
  close(): Promise<void>;
}

function truncated(name: string, offset: number, length: number, size: number): TamgaError {
  return new TamgaError('CORRUPT_INPUT', `${name}: truncated: needed bytes ${offset}..${offset + length} of a ${size}-byte file`, {
    offset,
    length,
    size,
  });
}

function checkRange(name: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new TamgaError('CORRUPT_INPUT', `${name}: invalid read of ${length} bytes at ${offset}`, { offset, length });
  }
  if (offset + length > size) throw truncated(name, offset, length, size);
}

export class BufferReader implements ByteReader {
  readonly size: number;
  bytesRead = 0;
  constructor(
    private readonly data: Uint8Array,
    readonly name = '<buffer>',
    readonly path?: string,
  ) {
    this.size = data.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, offset, length, this.size);
    this.bytesRead += length;
    return this.data.subarray(offset, offset + length);
  }
  /** All bytes, without copying. */
  bytes(): Uint8Array {
    return this.data;
  }
  async close(): Promise<void> {}
}

const WINDOW = 16 * 1024;

let fileBytesReadTotal = 0;
/** Bytes all FileReaders of this process have fetched from disk (the scanner sums it for its bytes-per-file figure). */
export function fileBytesRead(): number {
  return fileBytesReadTotal;
}

/**
 * File reader with a read-ahead window: many small header reads cost one syscall per 16 KiB (larger
 * windows read more of each file than its headers need, for no gain in time: bench/scan).
 * With `sync`, it reads through a file descriptor with synchronous calls: a scanner verifying
 * thousands of local files saves the thread-pool round trip of each async call (~100 us on our
 * VMs against microseconds for the syscall), at the price of blocking the event loop per read.
 */
export class FileReader implements ByteReader {
  bytesRead = 0;
  private winStart = 0;
  private win: Uint8Array = new Uint8Array(0);
  private constructor(
    private readonly fh: FileHandle | number,
    readonly size: number,
    readonly path: string,
  ) {}
  get name(): string {
    return this.path;
  }

  static async open(path: string, opts: { sync?: boolean } = {}): Promise<FileReader> {
    let fh: FileHandle | number;
    try {
      fh = opts.sync ? openSync(path, 'r') : await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(e);
      throw new TamgaError('READ_FAILED', `${path}: cannot open: ${why}`, { path, errno: code }, { cause: e });
    }
    try {
      const st = typeof fh === 'number' ? fstatSync(fh) : await fh.stat();
      if (!st.isFile()) throw new TamgaError('READ_FAILED', `${path}: not a regular file`, { path });
      return new FileReader(fh, st.size, path);
    } catch (e) {
      if (typeof fh === 'number') closeSync(fh);
      else await fh.close();
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, offset, length, this.size);
    if (offset >= this.winStart && offset + length <= this.winStart + this.win.length) {
      return this.win.subarray(offset - this.winStart, offset - this.winStart + length);
    }
    if (length > WINDOW / 2) return this.readRaw(offset, length);
    const n = Math.min(WINDOW, this.size - offset);
    // A fresh buffer per window keeps earlier subarrays valid for callers that hold them.
    this.win = await this.readRaw(offset, n);
    this.winStart = offset;
    return this.win.subarray(0, length);
  }

  private async readRaw(offset: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const bytesRead = typeof this.fh === 'number' ? readSync(this.fh, buf, done, length - done, offset + done) : (await this.fh.read(buf, done, length - done, offset + done)).bytesRead;
        if (bytesRead === 0) throw truncated(this.path, offset, length, this.size);
        done += bytesRead;
      }
    } catch (e) {
      if (e instanceof TamgaError) throw e;
      throw new TamgaError('READ_FAILED', `${this.path}: read failed: ${String(e)}`, { path: this.path }, { cause: e });
    }
    this.bytesRead += length;
    fileBytesReadTotal += length;
    return buf;
  }

  async close(): Promise<void> {
    if (typeof this.fh === 'number') closeSync(this.fh);
    else await this.fh.close().catch(() => undefined);
  }
}

/** Streams are not seekable: they are buffered up to this many bytes. */
export const MAX_STREAM_BYTES = 1 << 30;

async function readStream(stream: Readable, limit: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      total += b.length;
      if (total > limit) {
        stream.destroy();
        throw new TamgaError('INPUT_TOO_LARGE', `<stream>: more than ${limit} bytes; pass a file path for large inputs`, { limit });
      }
      parts.push(b);
    }
  } catch (e) {
    if (e instanceof TamgaError) throw e;
    throw new TamgaError('READ_FAILED', `<stream>: read failed: ${String(e)}`, {}, { cause: e });
  }
  return Buffer.concat(parts, total);
}

/**
 * Reads a whole file with synchronous calls when it is at most `limit` bytes, else returns
 * undefined (the caller streams it). For small files, three syscalls cost microseconds, while the
 * async equivalents each cost a thread-pool round trip (measured ~100 us here): see bench/.
 */
function readSmallFileSync(path: string, limit: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
    throw new TamgaError('READ_FAILED', `${path}: cannot open: ${why}`, { path, errno: code }, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new TamgaError('READ_FAILED', `${path}: cannot open: is a directory`, { path, errno: 'EISDIR' });
    if (!st.isFile()) throw new TamgaError('READ_FAILED', `${path}: not a regular file`, { path });
    if (st.size > limit) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      const n = readSync(fd, buf, done, st.size - done, done);
      if (n === 0) throw new TamgaError('READ_FAILED', `${path}: file shrank while being read`, { path });
      done += n;
    }
    return buf;
  } catch (e) {
    if (e instanceof TamgaError) throw e;
    throw new TamgaError('READ_FAILED', `${path}: read failed: ${String(e)}`, { path }, { cause: e });
  } finally {
    closeSync(fd);
  }
}

export function describeSource(source: Source): string {
  return typeof source === 'string' ? source : source instanceof Uint8Array ? '<buffer>' : '<stream>';
}

export interface OpenOptions {
  maxStreamBytes?: number;
  /**
   * Read a file this small whole, in one call. Labelling needs every byte anyway, and one read
   * beats many windowed ones; detection leaves it unset so it reads headers only.
   */
  wholeFileBelow?: number;
  /** Read files with synchronous calls (see FileReader). */
  syncReads?: boolean;
}

export async function openSource(source: Source, opts: OpenOptions = {}): Promise<ByteReader> {
  if (typeof source === 'string') {
    if (opts.wholeFileBelow !== undefined) {
      const whole = readSmallFileSync(source, opts.wholeFileBelow);
      if (whole) return new BufferReader(whole, source, source);
    }
    return FileReader.open(source, { sync: Boolean(opts.syncReads) });
  }
  if (source instanceof Uint8Array) return new BufferReader(source);
  if (source && typeof (source as Readable).pipe === 'function') {
    return new BufferReader(await readStream(source, opts.maxStreamBytes ?? MAX_STREAM_BYTES), '<stream>');
  }
  throw new TamgaError('INVALID_OPTION', 'source: expected a file path, a Buffer/Uint8Array or a readable stream', { option: 'source' });
}

/** Runs `fn` with an open reader and always closes it. */
export async function withReader<T>(source: Source, fn: (r: ByteReader) => Promise<T>): Promise<T> {
  const r = await openSource(source);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}
