import busboy from 'busboy';
import { spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { label, resolveLabelOptions } from '../api.js';
import { isTamgaError, TamgaError, type TamgaErrorCode } from '../core/errors.js';
import { WRITABLE_SOURCE_TYPES, type ProvenanceInput } from '../core/provenance.js';
import { SNIFF_BYTES, sniff } from '../core/sniff.js';
import type { C2paLabelOptions, LabelOptions, Policy, VisiblePosition } from '../core/types.js';
import { BADGE_POSITIONS } from '../disclosure/mark.js';
import { resolveC2paSigning } from '../metadata/c2pa.js';
import { COSE_ALGORITHMS, pemCertificates, type C2paSigner, type C2paSigningAlg } from '../metadata/cose.js';
import { checkWatermarkKey } from '../watermark/keys.js';
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
  /** Sign a C2PA manifest on every /label output (unless `c2pa=false`): a PEM pair or a signer (e.g. a KMS). */
  c2pa?: C2paLabelOptions;
  /** When set, every route but GET /health needs `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
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

type ParamType = 'string' | 'boolean' | 'number' | 'list';
interface Param {
  type: ParamType;
  description: string;
  enum?: readonly string[];
}

/**
 * Every parameter each route takes, in the query or as a text field of a multipart form. One table
 * for the checks (an unknown name is a 400: `visble=false` must not silently draw a badge) and for
 * the OpenAPI document at /openapi.json.
 */
const COMMON_PARAMS: Record<string, Param> = {
  name: { type: 'string', description: 'the file name; its extension is kept (some formats are told apart by name) and it names the file in messages' },
  policy: { type: 'string', enum: ['kz', 'eu', 'cn', 'ca'], description: 'which law decides the layers (default kz)' },
  visible: { type: 'boolean', description: 'label: draw the visible disclosure (default by policy); verify: look for visible badges (default true)' },
};
export const LABEL_PARAMS: Record<string, Param> = {
  ...COMMON_PARAMS,
  lang: { type: 'list', description: 'disclosure languages, comma-separated: kk, ru, en, zh' },
  text: { type: 'string', description: 'your own disclosure text' },
  position: { type: 'string', enum: [...BADGE_POSITIONS], description: 'where the badge goes' },
  size: { type: 'number', description: 'badge text height in % of the shortest side (1 to 50)' },
  'reserve-training': { type: 'boolean', description: 'reserve the work against AI training (XMP plus:DataMining; cawg.training-mining when signing)' },
  watermark: { type: 'boolean', description: 'false: no invisible watermark even when the service has a key' },
  c2pa: { type: 'boolean', description: 'false: no C2PA manifest even when the service signs' },
  'source-type': { type: 'string', enum: [...WRITABLE_SOURCE_TYPES], description: 'IPTC digital source type' },
  generator: { type: 'string', description: 'the AI system, e.g. "Stable Diffusion XL/1.0"' },
  provider: { type: 'string', description: 'the operator responsible under the law' },
  model: { type: 'string', description: 'model identifier' },
  'content-id': { type: 'string', description: 'use this content id instead of a new UUID v7' },
  jurisdiction: { type: 'list', description: 'jurisdictions, comma-separated (KZ,EU,CN,US-CA)' },
};
export const VERIFY_PARAMS: Record<string, Param> = {
  ...COMMON_PARAMS,
  deepfake: { type: 'boolean', description: 'the content depicts real persons, places or events (eu policy: a visible disclosure is required)' },
  ocr: { type: 'boolean', description: 'also OCR images for third-party disclosure text (slow)' },
  timeout: { type: 'number', description: 'per-file time limit in ms' },
};

/** The request's parameters (query, then form fields), every name checked against the route's table. */
class Params {
  private readonly values = new Map<string, string>();
  constructor(
    private readonly table: Record<string, Param>,
    private readonly route: string,
  ) {}
  set(name: string, value: string): void {
    if (!(name in this.table)) {
      const known = Object.keys(this.table);
      throw new TamgaError('INVALID_OPTION', `${name}: not a parameter of ${this.route} (it takes ${known.join(', ')})`, { option: name });
    }
    if (this.values.has(name)) throw new TamgaError('INVALID_OPTION', `${name}: given twice`, { option: name });
    const p = this.table[name]!;
    if (p.enum && !p.enum.includes(value)) throw new TamgaError('INVALID_OPTION', `${name}: expected one of ${p.enum.join(', ')}, got ${JSON.stringify(value)}`, { option: name });
    this.values.set(name, value);
  }
  text(name: string): string | undefined {
    return this.values.get(name) || undefined;
  }
  bool(name: string): boolean | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (['1', 'true', 'yes'].includes(v)) return true;
    if (['0', 'false', 'no'].includes(v)) return false;
    throw new TamgaError('INVALID_OPTION', `${name}: expected true or false, got ${JSON.stringify(v)}`, { option: name });
  }
  list(name: string): string[] | undefined {
    return this.values.get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  }
  num(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new TamgaError('INVALID_OPTION', `${name}: expected a number, got ${JSON.stringify(v)}`, { option: name });
    return n;
  }
}

function labelRequest(q: Params, keys: string[], c2pa: C2paLabelOptions | undefined): { provenance: ProvenanceInput; opts: LabelOptions } {
  const provenance: ProvenanceInput = {};
  if (q.text('source-type')) provenance.digitalSourceType = q.text('source-type') as ProvenanceInput['digitalSourceType'];
  if (q.text('generator')) provenance.generator = q.text('generator')!;
  if (q.text('provider')) provenance.provider = q.text('provider')!;
  if (q.text('model')) provenance.model = q.text('model')!;
  if (q.text('content-id')) provenance.contentId = q.text('content-id')!;
  const jurisdictions = q.list('jurisdiction');
  if (jurisdictions?.length) provenance.jurisdictions = jurisdictions;
  const opts: LabelOptions = {};
  if (q.text('policy')) opts.policy = q.text('policy') as Policy;
  const visible = q.bool('visible');
  if (visible !== undefined) opts.visible = visible;
  const lang = q.list('lang');
  if (lang?.length) opts.lang = lang;
  if (q.text('text')) opts.disclosureText = q.text('text')!;
  if (q.text('position')) opts.position = q.text('position') as VisiblePosition;
  const size = q.num('size');
  if (size !== undefined) opts.size = size;
  const reserve = q.bool('reserve-training');
  if (reserve !== undefined) opts.reserveTraining = reserve;
  if (keys[0] && q.bool('watermark') !== false) opts.watermarkKey = keys[0];
  if (c2pa && q.bool('c2pa') !== false) opts.c2pa = c2pa;
  // Checked now, before the upload is read: a bad request costs no body.
  resolveLabelOptions(opts);
  return { provenance, opts };
}

function verifyRequest(q: Params, keys: string[]): VerifyOptions {
  const opts: VerifyOptions = {};
  if (q.text('policy')) opts.policy = q.text('policy') as Policy;
  for (const name of ['visible', 'deepfake', 'ocr'] as const) {
    const v = q.bool(name);
    if (v !== undefined) opts[name] = v;
  }
  const timeout = q.num('timeout');
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

/** A temp file name that keeps the extension of `name` (some formats are told apart by name). */
function uploadName(name: string | undefined): string {
  const ext = /\.[A-Za-z0-9]{1,5}$/.exec(name ?? '')?.[0] ?? '';
  return `upload${ext}`;
}

/**
 * A multipart/form-data body (curl -F, an HTML form): the one file part goes to `path`, the text
 * fields are parameters like the query's. busboy parses; the size limit counts the file's bytes.
 */
async function receiveForm(req: IncomingMessage, path: string, max: number, params: Params): Promise<{ size: number; filename?: string }> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max + 64 * 1024) throw new HttpError(413, 'INPUT_TOO_LARGE', `request body of ${declared} bytes is over the ${max}-byte limit`, { connection: 'close' });
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    let files = 0;
    let writing: Promise<{ size: number; filename?: string }> | undefined;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(form);
      req.resume();
      reject(e);
    };
    let form: ReturnType<typeof busboy>;
    try {
      form = busboy({ headers: req.headers, limits: { files: 1, fileSize: max, fields: 64, fieldSize: 64 * 1024, parts: 66 } });
    } catch (e) {
      throw new HttpError(400, 'INVALID_OPTION', `multipart body: ${(e as Error).message}`);
    }
    form.on('field', (name, value) => {
      try {
        params.set(name, value);
      } catch (e) {
        fail(e);
      }
    });
    form.on('file', (_field, stream, info) => {
      files++;
      if (files > 1) {
        stream.resume();
        return;
      }
      let size = 0;
      const out = createWriteStream(path);
      stream.on('data', (c: Buffer) => (size += c.length));
      stream.on('limit', () => fail(new HttpError(413, 'INPUT_TOO_LARGE', `the uploaded file is over the ${max}-byte limit`, { connection: 'close' })));
      writing = pipeline(stream, out).then(() => ({ size, ...(info.filename ? { filename: info.filename } : {}) }));
      writing.catch(fail);
    });
    form.on('filesLimit', () => fail(new HttpError(400, 'INVALID_OPTION', 'multipart body: send one file part')));
    form.on('error', (e: Error) => fail(new HttpError(400, 'INVALID_OPTION', `multipart body: ${e.message}`)));
    form.on('close', () => {
      if (settled) return;
      if (!writing) return fail(new HttpError(400, 'INVALID_OPTION', 'multipart body without a file part: send the file as a form field of type file (curl -F file=@photo.jpg)'));
      writing.then((r) => {
        if (settled) return;
        settled = true;
        if (r.size === 0) reject(new HttpError(400, 'INVALID_OPTION', 'the uploaded file is empty'));
        else resolvePromise(r);
      }, fail);
    });
    req.on('aborted', () => fail(new HttpError(400, 'READ_FAILED', 'request aborted')));
    req.pipe(form);
  });
}

const isMultipart = (req: IncomingMessage) => /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');

/** A constant-time comparison of the Authorization header with the configured token. */
function authorised(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** A configured signer command (a KMS, an HSM tool): the to-be-signed bytes on its stdin, the signature on its stdout. */
export function commandSigner(command: readonly string[], certPem: string, alg: C2paSigningAlg = 'es256'): C2paSigner {
  if (!command.length || !command[0]) throw new TamgaError('INVALID_OPTION', 'c2paSignerCommand: expected a command', { option: 'c2paSignerCommand' });
  if (!(alg in COSE_ALGORITHMS)) throw new TamgaError('INVALID_OPTION', `c2paAlg: expected one of ${Object.keys(COSE_ALGORITHMS).join(', ')}`, { option: 'c2paAlg' });
  const certificateChain = pemCertificates(certPem);
  if (!certificateChain.length) throw new TamgaError('INVALID_OPTION', 'c2paCert: no PEM certificate found', { option: 'c2paCert' });
  return {
    alg,
    certificateChain,
    sign: (toBeSigned) =>
      new Promise((resolvePromise, reject) => {
        const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-2000)));
        child.on('error', (e: NodeJS.ErrnoException) => reject(new TamgaError('INVALID_OPTION', `c2paSignerCommand: cannot run ${command[0]} (${e.code ?? e.message})`, { option: 'c2paSignerCommand' })));
        child.on('close', (code) => {
          const sig = Buffer.concat(out);
          if (code === 0 && sig.length) resolvePromise(new Uint8Array(sig));
          else reject(new TamgaError('INVALID_OPTION', `c2paSignerCommand: ${command[0]} ${code === 0 ? 'printed no signature' : `exited ${code}`}${err.trim() ? `: ${err.trim().split('\n').pop()}` : ''}`, { option: 'c2paSignerCommand' }));
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(toBeSigned);
      }),
  };
}

/** The OpenAPI 3.1 description of the service, from the same parameter tables the handler checks. */
export function openApiDocument(opts: { token?: boolean } = {}): Record<string, unknown> {
  const schemaOf = (p: Param) =>
    p.type === 'boolean' ? { type: 'boolean' } : p.type === 'number' ? { type: 'number' } : p.enum ? { type: 'string', enum: p.enum } : p.type === 'list' ? { type: 'string', description: 'comma-separated' } : { type: 'string' };
  const parameters = (table: Record<string, Param>) => Object.entries(table).map(([name, p]) => ({ name, in: 'query', required: false, description: p.description, schema: schemaOf(p) }));
  const formSchema = (table: Record<string, Param>) => ({
    type: 'object',
    required: ['file'],
    properties: { file: { type: 'string', format: 'binary', description: 'the file' }, ...Object.fromEntries(Object.entries(table).map(([name, p]) => [name, { ...schemaOf(p), description: p.description }])) },
  });
  const body = (table: Record<string, Param>) => ({
    required: true,
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'multipart/form-data': { schema: formSchema(table) } },
  });
  const error = { description: 'an error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const errors = Object.fromEntries(['400', '401', '413', '415', '422', '503', '500'].map((c) => [c, error]));
  const security = opts.token ? [{ bearer: [] }] : [];
  return {
    openapi: '3.1.0',
    info: { title: 'tamga serve', version: VERSION, description: 'Label AI-generated media and verify labels over HTTP. Errors are { error: { code, message } }.' },
    paths: {
      '/label': {
        post: {
          summary: 'label a file: the labelled file comes back',
          parameters: parameters(LABEL_PARAMS),
          requestBody: body(LABEL_PARAMS),
          security,
          responses: {
            '200': {
              description: 'the labelled file, with the Content-Type of its format',
              headers: Object.fromEntries(['X-Tamga-Format', 'X-Tamga-Kind', 'X-Tamga-Layers', 'X-Tamga-Content-Id', 'X-Tamga-Skipped'].map((h) => [h, { schema: { type: 'string' } }])),
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            },
            ...errors,
          },
        },
      },
      '/verify': {
        post: {
          summary: "verify a file's labels against a policy",
          parameters: parameters(VERIFY_PARAMS),
          requestBody: body(VERIFY_PARAMS),
          security,
          responses: { '200': { description: 'the FileVerdict (schema tamga.scan/1)', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors },
        },
      },
      '/health': { get: { summary: 'load and version', security: [], responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string' }, version: { type: 'string' }, running: { type: 'integer' }, queued: { type: 'integer' } } } } } } } } },
      '/openapi.json': { get: { summary: 'this document', security, responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
    components: {
      schemas: { Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } } },
      ...(opts.token ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}),
    },
  };
}

/** A TamgaError whose message names `name` instead of the request's temp directory. */
function withoutTempPaths(e: unknown, dir: string, name: string): unknown {
  if (!isTamgaError(e) || !e.message.includes(dir)) return e;
  const fix = (t: string) => t.split(join(dir, `labelled-${uploadName(name)}`)).join(name).split(join(dir, uploadName(name))).join(name).split(dir).join(name);
  return new TamgaError(e.code, fix(e.message), JSON.parse(fix(JSON.stringify(e.details ?? {}))) as Record<string, unknown>);
}

/**
 * `tamga serve`: the labeller and the verifier over HTTP for apps not written in Node.
 * POST /label (body: the file, or a multipart form with a file part) answers the labelled file;
 * POST /verify answers the FileVerdict; GET /health the load; GET /openapi.json the API. Every
 * request's files live in a temp directory removed when the response ends. Errors are JSON
 * `{ error: { code, message } }`, never a crash, and never name a temp file.
 */
export async function startService(opts: ServeOptions = {}): Promise<RunningService> {
  const maxBody = opts.maxBodyBytes ?? 100 * 1024 * 1024;
  const slots = new Slots(opts.concurrency ?? 2, opts.maxQueued ?? 16);
  const keys = opts.watermarkKeys ?? [];
  for (const k of keys) checkWatermarkKey(k, 'watermarkKeys');
  // The key is parsed once here: a bad pair stops the service from starting, not each request.
  const c2pa: C2paLabelOptions | undefined = opts.c2pa ? { signer: resolveC2paSigning(opts.c2pa).signer } : undefined;
  if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length < 16)) throw new TamgaError('INVALID_OPTION', 'token: expected at least 16 characters', { option: 'token' });
  const log = opts.log;
  const openapi = JSON.stringify(openApiDocument({ token: Boolean(opts.token) }));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /health') return sendJson(res, 200, { status: 'ok', version: VERSION, ...slots.stats });
    if (opts.token && !authorised(req, opts.token)) throw new HttpError(401, 'UNAUTHORIZED', 'send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
    if (route === 'GET /openapi.json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(openapi) });
      res.end(openapi);
      return;
    }
    if (url.pathname !== '/label' && url.pathname !== '/verify') throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}: POST /label, POST /verify, GET /health, GET /openapi.json`);
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${url.pathname} takes POST with the file as the body`, { allow: 'POST' });
    const params = new Params(url.pathname === '/label' ? LABEL_PARAMS : VERIFY_PARAMS, `POST ${url.pathname}`);
    for (const [k, v] of url.searchParams) params.set(k, v);
    const multipart = isMultipart(req);
    // Options are checked before the body is read, so a bad request costs no upload (a form's own
    // fields are checked as they arrive, and the options again once they are all in).
    if (!multipart) void (url.pathname === '/label' ? labelRequest(params, keys, c2pa) : verifyRequest(params, keys));
    const release = await slots.acquire();
    if (!release) throw new HttpError(503, 'BUSY', 'too many requests in progress; retry later', { 'retry-after': '1', connection: 'close' });
    const dir = await mkdtemp(join(tmpdir(), 'tamga-serve-'));
    let name = params.text('name') ?? 'upload';
    try {
      // The extension of ?name= is known now; a form's file name only once its part arrives.
      let input = join(dir, uploadName(params.text('name')));
      if (multipart) {
        const form = await receiveForm(req, input, maxBody, params);
        if (!params.text('name') && form.filename) {
          name = basename(form.filename);
          const named = join(dir, uploadName(name));
          if (named !== input) await rename(input, named);
          input = named;
        }
      } else {
        await receiveBody(req, input, maxBody);
      }
      try {
        if (url.pathname === '/verify') {
          const v = await verify(input, verifyRequest(params, keys));
          const fix = (t: string) => t.split(input).join(name).split(dir).join(name);
          return sendJson(res, 200, { ...v, path: name, ...(v.error ? { error: { ...v.error, message: fix(v.error.message) } } : {}) });
        }
        const { provenance, opts: labelOpts } = labelRequest(params, keys, c2pa);
        const output = join(dir, `labelled-${uploadName(name)}`);
        const r = await label(input, provenance, { ...labelOpts, output });
        const head = Buffer.alloc(SNIFF_BYTES);
        const fh = await open(output, 'r');
        await fh.read(head, 0, SNIFF_BYTES, 0).finally(() => fh.close());
        const mime = sniff(head, output)?.mime ?? 'application/octet-stream';
        res.writeHead(200, {
          // Text formats (HTML, Markdown, JSON, plain) are UTF-8, as tamga reads and writes them.
          'content-type': r.kind === 'text' && !/charset=/i.test(mime) ? `${mime}; charset=utf-8` : mime,
          'content-length': (await stat(output)).size,
          'x-tamga-format': r.format,
          'x-tamga-kind': r.kind,
          'x-tamga-layers': r.layers.join(','),
          'x-tamga-content-id': r.provenance.contentId,
          ...(r.skipped?.length ? { 'x-tamga-skipped': r.skipped.map((s) => s.layer).join(',') } : {}),
        });
        await pipeline(createReadStream(output), res);
      } catch (e) {
        throw withoutTempPaths(e, dir, name);
      }
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
