import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { brotliDecompressSync, constants as zlibConstants, createGunzip, gunzipSync, inflateSync } from 'node:zlib';
import { TamgaError } from '../core/errors.js';
import { MAX_HEADER_BLOCK, type HeaderList } from './headers.js';

/**
 * WARC input (ISO 28500: WARC/1.0 and 1.1, plain, gzipped per record or as a whole): the records a
 * crawl saved, with their HTTP response headers and the start of their payload. Web crawls are how
 * training sets are built, so each response is checked as its own work.
 *
 * A small streaming reader of our own: warcio (tried first) hangs on a truncated record, and a
 * crawl file cut short by a failed transfer is common. Every length is bounded; a structural
 * defect is CORRUPT_INPUT at a byte offset; payloads are skipped unless the caller asks for them.
 */

export interface WarcResponse {
  /** Byte offset of the record in the uncompressed WARC stream. */
  offset: number;
  /** `response` or `resource`. */
  type: string;
  targetUri: string;
  recordId?: string;
  date?: string;
  /** `WARC-Payload-Digest`, e.g. `sha1:...`: identifies the work in the audit log. */
  payloadDigest?: string;
  status?: number;
  /** The HTTP response headers (none for a `resource` record). */
  headers: HeaderList;
  /** Media type of the payload (HTTP Content-Type, or the record's for `resource`), lower-cased. */
  contentType?: string;
  /** The payload with transfer and content codings removed, at most the requested bytes. */
  payload: Uint8Array;
  /** True when the payload is longer than what `payload` holds. */
  payloadTruncated: boolean;
}

/** A WARC by name (`.warc`, `.warc.gz`) or, with `sniff`, by its first bytes (`WARC/1.`). */
export function isWarcPath(path: string, sniff = false): boolean {
  if (/\.warc(\.gz)?$/i.test(path)) return true;
  if (!sniff) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(6);
    readSync(fd, head, 0, 6, 0);
    return head.toString('latin1') === 'WARC/1';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const MAX_LINE = 64 * 1024;
const MAX_HEADER_LINES = 1000;

/** Pull reader over a byte stream: lines, exact reads and skips, with the position kept. */
class StreamCursor {
  pos = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;
  constructor(
    stream: Readable,
    private readonly name: string,
  ) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw new TamgaError('CORRUPT_INPUT', `${this.name}: cannot decompress near byte ${this.pos + this.buffered}: ${(e as Error).message}`, { offset: this.pos + this.buffered }, { cause: e });
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    if (r.value.length) {
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
    return true;
  }

  private take(n: number): Buffer {
    const head = this.chunks.length === 1 || this.chunks[0]!.length >= n ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (head !== this.chunks[0]) this.chunks = [head];
    const out = head.subarray(0, n);
    if (n === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    this.pos += n;
    return out;
  }

  /** A line without its CRLF/LF, or undefined at the end of the stream. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const joined = this.chunks.length > 1 ? Buffer.concat(this.chunks) : this.chunks[0];
      if (joined) this.chunks = [joined];
      const nl = joined ? joined.indexOf(0x0a) : -1;
      if (nl >= 0) {
        const raw = this.take(nl + 1);
        return raw.toString('latin1', 0, raw.length - (raw.length >= 2 && raw[raw.length - 2] === 0x0d ? 2 : 1));
      }
      if (this.buffered > MAX_LINE) throw new TamgaError('CORRUPT_INPUT', `${this.name}: header line longer than ${MAX_LINE} bytes at byte ${this.pos}`, { offset: this.pos });
      if (!(await this.fill())) {
        if (this.buffered === 0) return undefined;
        return this.take(this.buffered).toString('latin1');
      }
    }
  }

  /** Up to `keep` of the next `n` bytes; the rest is skipped. A short stream is a truncated record. */
  async read(n: number, keep: number): Promise<Buffer> {
    const kept: Buffer[] = [];
    let left = n;
    let room = keep;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) {
        throw new TamgaError('CORRUPT_INPUT', `${this.name}: truncated: a record block needs ${left} more bytes at byte ${this.pos}`, { offset: this.pos });
      }
      const b = this.take(Math.min(left, this.chunks[0]!.length));
      left -= b.length;
      if (room > 0) {
        kept.push(b.subarray(0, room));
        room -= Math.min(room, b.length);
      }
    }
    return Buffer.concat(kept);
  }
}

function parseHeaderLines(lines: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length) {
      out[out.length - 1]![1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

const header = (h: HeaderList, name: string) => h.find(([n]) => n.toLowerCase() === name)?.[1];

/** Removes chunked transfer coding from what we have of a body (a cut-off last chunk is kept as far as it goes). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < body.length) {
    const nl = body.indexOf(0x0a, i);
    if (nl < 0) break;
    const size = parseInt(body.toString('latin1', i, nl).split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size <= 0) break;
    parts.push(body.subarray(nl + 1, Math.min(body.length, nl + 1 + size)));
    i = nl + 1 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Removes a content coding from what we have of a body; a cut-off stream decodes as far as it goes. */
function decode(body: Buffer, coding: string | undefined): Buffer {
  const c = coding?.trim().toLowerCase();
  if (!c || c === 'identity' || !body.length) return body;
  const partial = { finishFlush: zlibConstants.Z_SYNC_FLUSH };
  try {
    if (c === 'gzip' || c === 'x-gzip') return gunzipSync(body, partial);
    if (c === 'deflate') return inflateSync(body, partial);
    if (c === 'br') return brotliDecompressSync(body, { finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH });
  } catch {
    // An undecodable payload has no readable meta; the headers still count.
  }
  return Buffer.alloc(0);
}

/**
 * The response and resource records of a WARC, in file order. `payloadLimit(contentType)` says how
 * many payload bytes to keep (0: skip it): encoded payloads keep that many raw bytes and decode them.
 */
export async function* readWarcResponses(path: string, payloadLimit: (contentType: string | undefined) => number): AsyncGenerator<WarcResponse> {
  const gz = (() => {
    const fd = openSync(path, 'r');
    try {
      const magic = Buffer.alloc(2);
      return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    } finally {
      closeSync(fd);
    }
  })();
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  // Node's gunzip reads concatenated members, so per-record and whole-file gzip read the same.
  const stream = gz ? file.pipe(createGunzip()) : file;
  file.on('error', (e) => stream.destroy(e));
  const cur = new StreamCursor(stream, path);
  try {
    for (;;) {
      let offset = cur.pos;
      let first = await cur.line();
      while (first === '') {
        offset = cur.pos;
        first = await cur.line();
      }
      if (first === undefined) return;
      if (!/^WARC\/1\.\d$/.test(first)) {
        throw new TamgaError('CORRUPT_INPUT', `${path}: expected a WARC/1.x record at byte ${offset}, found ${JSON.stringify(first.slice(0, 40))}`, { offset });
      }
      const lines: string[] = [];
      for (;;) {
        const l = await cur.line();
        if (l === undefined) throw new TamgaError('CORRUPT_INPUT', `${path}: truncated WARC header at byte ${cur.pos}`, { offset: cur.pos });
        if (l === '') break;
        if (lines.push(l) > MAX_HEADER_LINES) throw new TamgaError('CORRUPT_INPUT', `${path}: more than ${MAX_HEADER_LINES} WARC header lines at byte ${offset}`, { offset });
      }
      const warc = parseHeaderLines(lines);
      const lengthText = header(warc, 'content-length') ?? '';
      const length = /^\d{1,15}$/.test(lengthText) ? Number(lengthText) : NaN;
      if (!Number.isSafeInteger(length)) throw new TamgaError('CORRUPT_INPUT', `${path}: record at byte ${offset} has no valid Content-Length`, { offset });
      const type = (header(warc, 'warc-type') ?? '').toLowerCase();
      const isHttp = /^application\/http/i.test(header(warc, 'content-type') ?? '');
      if ((type !== 'response' && type !== 'resource') || (type === 'response' && !isHttp)) {
        await cur.read(length, 0);
        continue;
      }
      const response: WarcResponse = { offset, type, targetUri: header(warc, 'warc-target-uri') ?? '', headers: [], payload: Buffer.alloc(0), payloadTruncated: false };
      let bodyLength = length;
      if (type === 'response') {
        // The HTTP head is read line by line from the block, bounded by the block and by MAX_HEADER_BLOCK.
        const start = cur.pos;
        const status = await cur.line();
        const httpLines: string[] = [];
        for (;;) {
          if (cur.pos - start > Math.min(length, MAX_HEADER_BLOCK)) throw new TamgaError('CORRUPT_INPUT', `${path}: HTTP head of the record at byte ${offset} overruns its block`, { offset });
          const l = await cur.line();
          if (l === undefined) throw new TamgaError('CORRUPT_INPUT', `${path}: truncated HTTP head in the record at byte ${offset}`, { offset });
          if (l === '') break;
          httpLines.push(l);
        }
        if (cur.pos - start > length) throw new TamgaError('CORRUPT_INPUT', `${path}: HTTP head of the record at byte ${offset} overruns its block`, { offset });
        response.headers = parseHeaderLines(httpLines);
        const code = Number(/^HTTP\/[\d.]+\s+(\d{3})/.exec(status ?? '')?.[1]);
        if (code) response.status = code;
        bodyLength = length - (cur.pos - start);
      }
      const ct = (type === 'response' ? header(response.headers, 'content-type') : header(warc, 'content-type'))?.split(';')[0]?.trim().toLowerCase();
      if (ct) response.contentType = ct;
      const limit = payloadLimit(ct);
      const raw = await cur.read(bodyLength, limit);
      const chunked = /chunked/i.test(header(response.headers, 'transfer-encoding') ?? '');
      const payload = decode(chunked ? dechunk(raw) : raw, header(response.headers, 'content-encoding'));
      response.payload = payload.length > limit ? payload.subarray(0, limit) : payload;
      response.payloadTruncated = raw.length < bodyLength || payload.length > limit;
      for (const [key, name] of [['recordId', 'warc-record-id'], ['date', 'warc-date'], ['payloadDigest', 'warc-payload-digest']] as const) {
        const v = header(warc, name);
        if (v) response[key] = v;
      }
      yield response;
    }
  } finally {
    stream.destroy();
    file.destroy();
  }
}
