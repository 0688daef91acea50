import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { open, opendir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { detect } from '../api.js';
import { TamgaError, isTamgaError, invalidOption } from '../core/errors.js';
import type { DetectOptions, Finding } from '../core/types.js';
import { DatasetPolicy } from './dataset.js';
import { contentType as headerContentType, headerSignals, MAX_HEADER_BLOCK, parseHeaderBlock, type HeaderList } from './headers.js';
import { HTML_HEAD_LIMIT, looksLikeHtml, readHtmlMeta } from './html.js';
import {
  decide,
  OPTOUT_PURPOSES,
  plusDataMiningSignal,
  robotsDirectiveSignals,
  tdmrepSignal,
  trainingMiningSignals,
  type OptOutPurpose,
  type OptOutSignal,
  type OptOutVerdict,
} from './signals.js';
import { isWarcPath, readWarcResponses } from './warc.js';

export interface OptOutOptions {
  /** What the works would be used for; decides which reservations apply. Default `genai-training`. */
  purpose?: OptOutPurpose;
  /**
   * The dataset root for file arguments: its tdmrep.json / robots.txt / ai.txt apply to files below
   * it. A directory argument is its own root.
   */
  root?: string;
  /** Files checked at once. Default 4 (small files are read synchronously, so more in flight gains little: bench/optout.ts). */
  concurrency?: number;
}

export interface OptOutRecordRef {
  offset: number;
  id?: string;
  date?: string;
  payloadDigest?: string;
  status?: number;
}

/** One checked work: a file, or a response record of a WARC. */
export interface OptOutItem {
  /** The work: a file path, or a WARC record's target URI. */
  item: string;
  /** The file it was read from (the WARC for a record). */
  file: string;
  /** For WARC records: where in the WARC, and the crawl's own identifiers. */
  record?: OptOutRecordRef;
  format?: string;
  verdict: OptOutVerdict;
  /** The signal that decided the verdict (the most restrictive applicable one). */
  decisive?: OptOutSignal;
  signals: OptOutSignal[];
  /** SHA-256 (hex) of the file's bytes (for a WARC record: of the WARC file). */
  sha256?: string;
  /** What could not be checked, and why (an unsupported format, a malformed policy file...). */
  notes?: string[];
  /** The file could not be read; the verdict covers only the signals found outside it. */
  error?: { code: string; message: string };
}

const SIDE_HEADERS = '.headers';
/** Works up to this size are read once, hashed and handed to detect() as bytes. */
const READ_WHOLE_BELOW = 16 << 20;
/** Reservations live in metadata and manifests: no pixel scan, no raw informational findings. */
const EMBEDDED_ONLY: DetectOptions = { labelsOnly: true, visible: false };
/** WARC payloads read whole for their embedded metadata (XMP, C2PA) up to this size. */
const WARC_MEDIA_PAYLOAD_LIMIT = 32 << 20;

function checkOptions(opts: OptOutOptions): Required<Pick<OptOutOptions, 'purpose' | 'concurrency'>> & { root?: string } {
  const purpose = opts.purpose ?? 'genai-training';
  if (!OPTOUT_PURPOSES.includes(purpose)) {
    throw invalidOption('purpose', `one of ${OPTOUT_PURPOSES.join(', ')}`, purpose);
  }
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new TamgaError('INVALID_OPTION', 'concurrency: expected an integer from 1 to 256', { option: 'concurrency' });
  }
  if (opts.root !== undefined) {
    if (typeof opts.root !== 'string' || !existsSync(opts.root) || !statSync(opts.root).isDirectory()) {
      throw new TamgaError('INVALID_OPTION', `root: ${String(opts.root)} is not a directory`, { option: 'root' });
    }
    return { purpose, concurrency, root: resolve(opts.root) };
  }
  return { purpose, concurrency };
}

/**
 * A file's SHA-256 and, when it is at most `keepBelow` bytes, its bytes: a work is read once for the
 * hash and the metadata. Small files are read in one synchronous call (a stream costs more than the
 * hashing); larger ones are streamed through the hash.
 */
async function readAndHash(path: string, keepBelow: number): Promise<{ sha256: string; bytes?: Buffer }> {
  const hash = createHash('sha256');
  try {
    if (statSync(path).size <= Math.max(keepBelow, 1 << 20)) {
      const bytes = readFileSync(path);
      const sha256 = hash.update(bytes).digest('hex');
      return bytes.length <= keepBelow ? { sha256, bytes } : { sha256 };
    }
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    return { sha256: hash.digest('hex') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new TamgaError('READ_FAILED', `${path}: cannot read: ${why}`, { path, errno: code }, { cause: e });
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  return (await readAndHash(path, 0)).sha256;
}

/** The first `n` bytes of a file (fewer if it is shorter). */
async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** C2PA findings carry the training-mining assertion(s) as a body, a list of bodies or `{label, data}` pairs. */
function trainingMiningBodies(value: unknown): { label?: string; body: unknown }[] {
  const tm = value && typeof value === 'object' ? (value as { trainingMining?: unknown }).trainingMining : undefined;
  if (tm === undefined || tm === null) return [];
  const list = Array.isArray(tm) ? tm : [tm];
  return list.map((t) => {
    if (t && typeof t === 'object' && 'data' in t && 'label' in t) return { label: String((t as { label: unknown }).label), body: (t as { data: unknown }).data };
    if (t && typeof t === 'object' && 'label' in t && 'entries' in t) return { label: String((t as { label: unknown }).label), body: t };
    return { body: t };
  });
}

/** Signals in a file's own metadata, from detect()'s findings. */
export function signalsFromFindings(findings: readonly Finding[], purpose: OptOutPurpose, file: string): OptOutSignal[] {
  const out: OptOutSignal[] = [];
  for (const f of findings) {
    const where = f.where ? `${file}#${f.where}` : file;
    if (f.kind === 'xmp:plus-data-mining') {
      const v = f.value as { value: string; otherConstraints?: string };
      out.push(plusDataMiningSignal(purpose, v.value, where, v.otherConstraints));
    } else if (f.kind === 'c2pa:manifest') {
      const intact = (f.value as { validationState?: string } | undefined)?.validationState !== 'invalid';
      for (const { label, body } of trainingMiningBodies(f.value)) out.push(...trainingMiningSignals(purpose, body, where, label, intact));
    }
  }
  return out;
}

/** Signals in an HTML document's head: TDMRep meta and robots noai/noimageai. */
export function signalsFromHtml(html: string, purpose: OptOutPurpose, where: string): OptOutSignal[] {
  const metas = readHtmlMeta(html);
  const out: OptOutSignal[] = [];
  const policy = metas.find((m) => m.name === 'tdm-policy')?.content;
  for (const m of metas) {
    const at = `${where}#html:meta@${m.offset}`;
    if (m.name === 'tdm-reservation') out.push(tdmrepSignal(purpose, 'tdmrep:html-meta', m.content, policy, at));
    // The document is text: noimageai is recorded but does not apply to it.
    else if (m.name === 'robots') out.push(...robotsDirectiveSignals(purpose, 'robots-meta', m.content, false, at));
  }
  return out;
}

/** A TamgaError as a result field, its message naming the file (detect() was handed the bytes, so it says `<buffer>` or nothing). */
function errorOf(e: unknown, file?: string): { code: string; message: string } {
  if (!isTamgaError(e)) throw e;
  if (!file || e.message.includes(file)) return { code: e.code, message: e.message };
  return { code: e.code, message: e.message.startsWith('<buffer>') ? file + e.message.slice('<buffer>'.length) : `${file}: ${e.message}` };
}

function finish(item: Omit<OptOutItem, 'verdict'>): OptOutItem {
  const { verdict, decisive } = decide(item.signals);
  const out: OptOutItem = { item: item.item, file: item.file, verdict, signals: item.signals };
  if (item.record) out.record = item.record;
  if (item.format) out.format = item.format;
  if (decisive) out.decisive = decisive;
  if (item.sha256) out.sha256 = item.sha256;
  if (item.notes?.length) out.notes = item.notes;
  if (item.error) out.error = item.error;
  return out;
}

async function readSidecarHeaders(file: string): Promise<HeaderList | undefined> {
  try {
    return parseHeaderBlock((await readHead(file + SIDE_HEADERS, MAX_HEADER_BLOCK)).toString('latin1'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TamgaError('READ_FAILED', `${file}${SIDE_HEADERS}: ${(e as Error).message}`, { path: file + SIDE_HEADERS });
  }
}

async function checkFile(file: string, dataset: DatasetPolicy | undefined, purpose: OptOutPurpose, hasSidecar: boolean): Promise<OptOutItem> {
  const signals: OptOutSignal[] = [];
  const notes: string[] = [...(dataset?.notes ?? [])];
  let format: string | undefined;
  let error: OptOutItem['error'];
  let sha256: string | undefined;
  try {
    const read = await readAndHash(file, READ_WHOLE_BELOW);
    sha256 = read.sha256;
    let isImage = false;
    let textKind = false;
    let unsupported: string | undefined;
    try {
      const r = await detect(read.bytes ?? file, EMBEDDED_ONLY);
      format = r.format;
      isImage = r.kind === 'image';
      textKind = r.kind === 'text';
      signals.push(...signalsFromFindings(r.findings, purpose, file));
    } catch (e) {
      if (!isTamgaError(e) || e.code !== 'UNSUPPORTED_FORMAT') throw e;
      textKind = true;
      unsupported = errorOf(e, file).message;
    }
    // HTML meta is read here whether or not an adapter handled the text.
    const text = textKind ? (read.bytes ? read.bytes.subarray(0, HTML_HEAD_LIMIT) : await readHead(file, HTML_HEAD_LIMIT)).toString('utf8') : undefined;
    if (text !== undefined && looksLikeHtml(text)) {
      format = 'html';
      signals.push(...signalsFromHtml(text, purpose, file));
    } else if (unsupported) {
      // A format with no opt-out carrier tamga reads is said, not hidden.
      notes.push(`embedded metadata not read: ${unsupported}`);
    }
    const headers = hasSidecar ? await readSidecarHeaders(file) : undefined;
    if (headers) signals.push(...headerSignals(purpose, headers, isImage || headerContentType(headers)?.startsWith('image/') === true, file + SIDE_HEADERS));
  } catch (e) {
    error = errorOf(e, file);
  }
  if (dataset) signals.push(...dataset.signalsFor(file, purpose));
  return finish({ item: file, file, signals, notes, ...(format ? { format } : {}), ...(sha256 ? { sha256 } : {}), ...(error ? { error } : {}) });
}

async function* checkWarc(file: string, purpose: OptOutPurpose): AsyncGenerator<OptOutItem> {
  let sha256: string;
  try {
    sha256 = await sha256OfFile(file);
  } catch (e) {
    yield finish({ item: file, file, signals: [], error: errorOf(e, file) });
    return;
  }
  const limitFor = (ct: string | undefined) => (ct === 'text/html' || ct === 'application/xhtml+xml' ? HTML_HEAD_LIMIT : ct?.startsWith('image/') ? WARC_MEDIA_PAYLOAD_LIMIT : 0);
  try {
    for await (const rec of readWarcResponses(file, limitFor)) {
      const where = `${file}@${rec.offset}`;
      const ct = rec.contentType;
      const isImage = ct?.startsWith('image/') === true;
      const signals = headerSignals(purpose, rec.headers, isImage, where);
      const notes: string[] = [];
      let format: string | undefined;
      if (ct === 'text/html' || ct === 'application/xhtml+xml') {
        format = 'html';
        signals.push(...signalsFromHtml(Buffer.from(rec.payload).toString('utf8'), purpose, where));
      } else if (isImage && !rec.payloadTruncated && rec.payload.length) {
        try {
          const r = await detect(rec.payload, EMBEDDED_ONLY);
          format = r.format;
          signals.push(...signalsFromFindings(r.findings, purpose, where));
        } catch (e) {
          notes.push(`embedded metadata not read: ${errorOf(e).message}`);
        }
      } else if (isImage && rec.payloadTruncated) {
        notes.push(`embedded metadata not read: payload larger than ${WARC_MEDIA_PAYLOAD_LIMIT} bytes`);
      }
      const record: OptOutRecordRef = { offset: rec.offset };
      if (rec.recordId) record.id = rec.recordId;
      if (rec.date) record.date = rec.date;
      if (rec.payloadDigest) record.payloadDigest = rec.payloadDigest;
      if (rec.status !== undefined) record.status = rec.status;
      yield finish({ item: rec.targetUri || where, file, record, signals, notes, sha256, ...(format ? { format } : {}) });
    }
  } catch (e) {
    yield finish({ item: file, file, signals: [], sha256, error: errorOf(e) });
  }
}

interface WorkUnit {
  file: string;
  dataset?: DatasetPolicy;
  /** Named on the command line: sniffed for WARC by content too, not only by name. */
  explicit?: boolean;
  /** A `<file>.headers` sidecar sits beside it (known from the directory listing). */
  sidecar?: boolean;
}

/** Files below a directory in a stable (sorted) order, skipping the root's policy files and header sidecars. */
async function* walk(dir: string, dataset: DatasetPolicy): AsyncGenerator<WorkUnit> {
  const entries: { name: string; dir: boolean }[] = [];
  for await (const d of await opendir(dir)) {
    if (d.isDirectory()) entries.push({ name: d.name, dir: true });
    else if (d.isFile()) entries.push({ name: d.name, dir: false });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.dir) {
      yield* walk(path, dataset);
      continue;
    }
    if (dataset.isPolicyFile(path)) continue;
    if (e.name.endsWith(SIDE_HEADERS) && names.has(e.name.slice(0, -SIDE_HEADERS.length))) continue;
    yield { file: path, dataset, sidecar: names.has(e.name + SIDE_HEADERS) };
  }
}

async function* units(paths: readonly string[], root: string | undefined): AsyncGenerator<WorkUnit> {
  const rootPolicy = root ? new DatasetPolicy(root) : undefined;
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      yield { file: p, explicit: true };
      continue;
    }
    if (st.isDirectory()) {
      const abs = resolve(p);
      const dataset = rootPolicy && isBelow(rootPolicy.root, abs) ? rootPolicy : new DatasetPolicy(abs);
      for await (const u of walk(abs, dataset)) yield { ...u, file: join(p, relative(abs, u.file)) };
    } else {
      yield rootPolicy && isBelow(rootPolicy.root, resolve(p)) ? { file: p, dataset: rootPolicy, explicit: true } : { file: p, explicit: true };
    }
  }
}

const isBelow = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** Results of `fn` over `source` in source order, at most `n` in flight. */
async function* mapOrdered<T, R>(source: AsyncIterable<T>, n: number, fn: (t: T) => AsyncIterable<R>): AsyncGenerator<R> {
  const pending: Promise<R[]>[] = [];
  const collect = async (t: T) => {
    const out: R[] = [];
    for await (const r of fn(t)) out.push(r);
    return out;
  };
  for await (const t of source) {
    const p = collect(t);
    // Awaited in order below; this only keeps a later failure from being reported as unhandled first.
    p.catch(() => undefined);
    pending.push(p);
    if (pending.length >= n) yield* await pending.shift()!;
  }
  while (pending.length) yield* await pending.shift()!;
}

/**
 * Checks works for machine-readable training-data reservations, one result at a time (a directory
 * of millions of files is never held in memory). Paths are files, directories (walked; each is a
 * dataset root) or WARC files (one result per response record).
 */
export async function* iterateOptOut(paths: string | readonly string[], opts: OptOutOptions = {}): AsyncGenerator<OptOutItem> {
  const { purpose, concurrency, root } = checkOptions(opts);
  const list = typeof paths === 'string' ? [paths] : paths;
  if (!list.length) throw new TamgaError('INVALID_OPTION', 'paths: give at least one file or directory', { option: 'paths' });
  yield* mapOrdered(units(list, root), concurrency, (u) => {
    if (isWarcPath(u.file, u.explicit === true)) return checkWarc(u.file, purpose);
    return (async function* () {
      yield await checkFile(u.file, u.dataset, purpose, u.sidecar ?? existsSync(u.file + SIDE_HEADERS));
    })();
  });
}

/** As iterateOptOut, collected: `checkOptOut('dataset/')` -> one result per work. */
export async function checkOptOut(paths: string | readonly string[], opts: OptOutOptions = {}): Promise<OptOutItem[]> {
  const out: OptOutItem[] = [];
  for await (const item of iterateOptOut(paths, opts)) out.push(item);
  return out;
}

export interface OptOutSummary {
  total: number;
  reserved: number;
  allowed: number;
  unknown: number;
  /** Works that could not be read (their verdict covers only the signals found outside them). */
  errors: number;
  /** Which signal decided, per source, over the works with a verdict other than unknown. */
  decidedBy: Partial<Record<OptOutSignal['source'], number>>;
}

export const emptySummary = (): OptOutSummary => ({ total: 0, reserved: 0, allowed: 0, unknown: 0, errors: 0, decidedBy: {} });

export function addToSummary(s: OptOutSummary, item: OptOutItem): OptOutSummary {
  s.total++;
  s[item.verdict]++;
  if (item.error) s.errors++;
  if (item.decisive) s.decidedBy[item.decisive.source] = (s.decidedBy[item.decisive.source] ?? 0) + 1;
  return s;
}
