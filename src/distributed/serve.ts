import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { label } from '../api.js';
import { isTamgaError, TamgaError, type TamgaErrorCode } from '../core/errors.js';
import type { ProvenanceInput } from '../core/provenance.js';
import { SNIFF_BYTES, sniff } from '../core/sniff.js';
import type { LabelOptions, Policy, VisiblePosition } from '../core/types.js';
import { verify } from '../verify/index.js';
import type { VerifyOptions } from '../verify/types.js';
import { VERSION } from '../version.js';

export interface ServeOptions {
  /** Default 127.0.0.1: the service is for apps on the same machine unless asked otherwise. */
  host?: string;
  /** 0 picks a free port. Default 8787. */
  port?: number;
  /** Largest request body in bytes (413 past it). Default 100 MiB. */
  maxBodyBytes?: number;
  /** Requests handled at once. Default 2. */
  concurrency?: number;
  /** Requests waiting for a slot; past it the answer is 503 with Retry-After. Default 16. */
  maxQueued?: number;
  /** Watermark keys: tried by /verify; the first one also watermarks /label outputs. */
  watermarkKeys?: string[];
  /** Called with one line per request. */
  log?: (line: string) => void;
}

export interface RunningService {
  server: Server;
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

const STATUS_OF: Partial<Record<TamgaErrorCode, number>> = {
  INVALID_OPTION: 400,
  READ_FAILED: 400,
  INPUT_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  CORRUPT_INPUT: 422,
  UNSAFE_XML: 422,
  ENCRYPTED_INPUT: 422,
  C2PA_CONFLICT: 422,
  UNSUPPORTED_LAYER: 422,
  POLICY_UNMET: 422,
  METADATA_TOO_LARGE: 422,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof HttpError) return sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
  if (isTamgaError(e)) return sendJson(res, STATUS_OF[e.code] ?? 500, { error: { code: e.code, message: e.message } });
  sendJson(res, 500, { error: { code: 'INTERNAL', message: `internal error: ${(e as Error)?.message ?? String(e)}` } });
}

/** Query parameters, each checked here or by label()/verify() which name the option in their errors. */
function bool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new TamgaError('INVALID_OPTION', `${name}: expected true or false, got ${JSON.stringify(v)}`, { option: name });
}
const listParam = (q: URLSearchParams, name: string) => q.get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
function numParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  return v === null ? undefined : Number(v);
}

function labelRequest(q: URLSearchParams, keys: string[]): { provenance: ProvenanceInput; opts: LabelOptions } {
  const provenance: ProvenanceInput = {};
  const text = (k: string) => q.get(k) ?? undefined;
  if (text('source-type')) provenance.digitalSourceType = text('source-type') as ProvenanceInput['digitalSourceType'];
  if (text('generator')) provenance.generator = text('generator')!;
  if (text('provider')) provenance.provider = text('provider')!;
  if (text('model')) provenance.model = text('model')!;
  if (text('content-id')) provenance.contentId = text('content-id')!;
  const jurisdictions = listParam(q, 'jurisdiction');
  if (jurisdictions?.length) provenance.jurisdictions = jurisdictions;
  const opts: LabelOptions = {};
  if (text('policy')) opts.policy = text('policy') as Policy;
  const visible = bool(q, 'visible');
  if (visible !== undefined) opts.visible = visible;
  const lang = listParam(q, 'lang');
  if (lang?.length) opts.lang = lang;
  if (text('text')) opts.disclosureText = text('text')!;
  if (text('position')) opts.position = text('position') as VisiblePosition;
  const size = numParam(q, 'size');
  if (size !== undefined) opts.size = size;
  const reserve = bool(q, 'reserve-training');
  if (reserve !== undefined) opts.reserveTraining = reserve;
  if (keys[0] && bool(q, 'watermark') !== false) opts.watermarkKey = keys[0];
  return { provenance, opts };
}

function verifyRequest(q: URLSearchParams, keys: string[]): VerifyOptions {
  const opts: VerifyOptions = {};
  if (q.get('policy')) opts.policy = q.get('policy') as Policy;
  for (const name of ['visible', 'deepfake', 'ocr'] as const) {
    const v = bool(q, name);
    if (v !== undefined) opts[name] = v;
  }
  const timeout = numParam(q, 'timeout');
  if (timeout !== undefined) opts.timeoutMs = timeout;
  if (keys.length) opts.watermarkKeys = keys;
  return opts;
}

/** A counting semaphore with a bounded waiting line: past it, callers are refused at once. */
class Slots {
  private running = 0;
  private waiting: (() => void)[] = [];
  constructor(
    private readonly size: number,
    private readonly maxQueued: number,
  ) {}
  get stats() {
    return { running: this.running, queued: this.waiting.length };
  }
  /** Resolves to a release function, or undefined when the line is full. */
  async acquire(): Promise<(() => void) | undefined> {
    if (this.running >= this.size) {
      if (this.waiting.length >= this.maxQueued) return undefined;
      await new Promise<void>((r) => this.waiting.push(r));
    } else this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}

/** The request body into `path`, refused with 413 past `max` bytes (the rest of the upload is not read). */
async function receiveBody(req: IncomingMessage, path: string, max: number): Promise<number> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) throw new HttpError(413, 'INPUT_TOO_LARGE', `request body of ${declared} bytes is over the ${max}-byte limit`, { connection: 'close' });
  const size = await new Promise<number>((resolve, reject) => {
    const out = createWriteStream(path);
    let received = 0;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      req.unpipe(out);
      req.pause();
      out.destroy();
      reject(e);
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > max) fail(new HttpError(413, 'INPUT_TOO_LARGE', `request body is over the ${max}-byte limit`, { connection: 'close' }));
    });
    req.on('error', (e) => fail(new HttpError(400, 'READ_FAILED', `request body not received: ${e.message}`)));
    req.on('aborted', () => fail(new HttpError(400, 'READ_FAILED', 'request aborted')));
    out.on('error', (e) => fail(e));
    out.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve(received);
    });
    req.pipe(out);
  });
  if (size === 0) throw new HttpError(400, 'INVALID_OPTION', 'empty request body: send the file as the body');
  return size;
}

/** A temp file name that keeps the extension of `?name=` (some formats are told apart by name). */
function uploadName(q: URLSearchParams): string {
  const ext = /\.[A-Za-z0-9]{1,5}$/.exec(q.get('name') ?? '')?.[0] ?? '';
  return `upload${ext}`;
}

/**
 * `tamga serve`: the labeller and the verifier over HTTP for apps not written in Node.
 * POST /label (body: the file) answers the labelled file; POST /verify answers the FileVerdict;
 * GET /health answers the load. Every request's files live in a temp directory removed when the
 * response ends. Errors are JSON `{ error: { code, message } }`, never a crash.
 */
export async function startService(opts: ServeOptions = {}): Promise<RunningService> {
  const maxBody = opts.maxBodyBytes ?? 100 * 1024 * 1024;
  const slots = new Slots(opts.concurrency ?? 2, opts.maxQueued ?? 16);
  const keys = opts.watermarkKeys ?? [];
  const log = opts.log;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /health') return sendJson(res, 200, { status: 'ok', version: VERSION, ...slots.stats });
    if (url.pathname !== '/label' && url.pathname !== '/verify') throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}: POST /label, POST /verify, GET /health`);
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${url.pathname} takes POST with the file as the body`, { allow: 'POST' });
    // Options are checked before the body is read, so a bad request costs no upload.
    const labelReq = url.pathname === '/label' ? labelRequest(url.searchParams, keys) : undefined;
    const verifyReq = url.pathname === '/verify' ? verifyRequest(url.searchParams, keys) : undefined;
    const release = await slots.acquire();
    if (!release) throw new HttpError(503, 'BUSY', 'too many requests in progress; retry later', { 'retry-after': '1', connection: 'close' });
    const dir = await mkdtemp(join(tmpdir(), 'tamga-serve-'));
    try {
      const input = join(dir, uploadName(url.searchParams));
      await receiveBody(req, input, maxBody);
      if (verifyReq) {
        const v = await verify(input, verifyReq);
        const name = url.searchParams.get('name') ?? 'upload';
        const fix = (s: string) => s.split(input).join(name);
        return sendJson(res, 200, { ...v, path: name, ...(v.error ? { error: { ...v.error, message: fix(v.error.message) } } : {}) });
      }
      const output = join(dir, `labelled-${uploadName(url.searchParams)}`);
      const r = await label(input, labelReq!.provenance, { ...labelReq!.opts, output });
      const head = Buffer.alloc(SNIFF_BYTES);
      const fh = await open(output, 'r');
      await fh.read(head, 0, SNIFF_BYTES, 0).finally(() => fh.close());
      res.writeHead(200, {
        'content-type': sniff(head, output)?.mime ?? 'application/octet-stream',
        'content-length': (await stat(output)).size,
        'x-tamga-format': r.format,
        'x-tamga-kind': r.kind,
        'x-tamga-layers': r.layers.join(','),
        'x-tamga-content-id': r.provenance.contentId,
        ...(r.skipped?.length ? { 'x-tamga-skipped': r.skipped.map((s) => s.layer).join(',') } : {}),
      });
      await pipeline(createReadStream(output), res);
    } finally {
      release();
      await rm(dir, { recursive: true, force: true });
    }
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    handle(req, res)
      .catch((e: unknown) => sendError(res, e))
      .finally(() => log?.(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - started).toFixed(0)} ms`));
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8787, opts.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    server,
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
