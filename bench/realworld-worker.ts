/**
 * The child process of bench/realworld.ts: for each file path it receives, runs `detect`, then
 * `label --no-visible` into a temp file, then `detect` on the output, and answers with what
 * happened. The parent kills and restarts this process when a file takes too long or too much
 * memory, so one bad file costs one answer (`hang`/`crash`), not the run.
 */
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import sharp from 'sharp';
import { detect, label, sniff } from '../src/index.js';
import { isTamgaError } from '../src/core/errors.js';

export interface WorkerRequest {
  path: string;
  out: string;
  /** Compare decoded pixels of input and output (images). */
  pixels: boolean;
}

export interface StepResult {
  ok: boolean;
  /** TamgaError code, or INTERNAL for anything else (a crash). */
  code?: string;
  message?: string;
  ms: number;
}

export interface WorkerAnswer {
  path: string;
  format?: string;
  kind?: string;
  detect: StepResult & { findings?: string[] };
  label?: StepResult & { layers?: string[] };
  readBack?: StepResult & { found: boolean; findings?: string[] };
  /** Images: libvips (sharp) decodes the input. */
  inputDecodes?: boolean;
  /** Input and output pixels decode to the same bytes (undefined: not compared / input not decodable). */
  pixelsSame?: boolean;
}

async function step<T>(fn: () => Promise<T>): Promise<{ r: StepResult; v?: T }> {
  const t0 = performance.now();
  try {
    const v = await fn();
    return { r: { ok: true, ms: performance.now() - t0 }, v };
  } catch (e) {
    const code = isTamgaError(e) ? e.code : 'INTERNAL';
    return { r: { ok: false, code, message: String((e as Error)?.stack ?? e).slice(0, 600), ms: performance.now() - t0 } };
  }
}

/** `strict`: libvips' default, which refuses truncated and damaged data (the input-readable check). */
async function pixelHash(path: string, strict = false): Promise<string | undefined> {
  try {
    const { data, info } = await sharp(path, { failOn: strict ? 'warning' : 'none', limitInputPixels: 1e8 }).raw().toBuffer({ resolveWithObject: true });
    const { createHash } = await import('node:crypto');
    return `${info.width}x${info.height}x${info.channels}:${createHash('sha256').update(data).digest('hex')}`;
  } catch {
    return undefined;
  }
}

function head(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4096);
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } finally {
    closeSync(fd);
  }
}

async function handle(req: WorkerRequest): Promise<WorkerAnswer> {
  const d = await step(() => detect(req.path));
  const answer: WorkerAnswer = { path: req.path, detect: { ...d.r, ...(d.v ? { findings: d.v.findings.map((f) => f.kind) } : {}) } };
  const sniffed = sniff(head(req.path), req.path);
  const format = d.v?.format ?? sniffed?.format;
  const kind = d.v?.kind ?? sniffed?.kind;
  if (format) answer.format = format;
  if (kind) answer.kind = kind;
  const inputPixels = req.pixels && kind === 'image' ? await pixelHash(req.path) : undefined;
  if (req.pixels && kind === 'image') answer.inputDecodes = (await pixelHash(req.path, true)) !== undefined;
  rmSync(req.out, { force: true });
  const l = await step(() => label(req.path, {}, { visible: false, output: req.out }));
  answer.label = { ...l.r, ...(l.v ? { layers: l.v.layers } : {}) };
  if (l.v) {
    answer.format ??= l.v.format;
    answer.kind ??= l.v.kind;
    const contentId = l.v.provenance.contentId;
    const b = await step(() => detect(req.out));
    const found = Boolean(b.v?.findings.some((f) => f.kind.endsWith(':tamga') && (f.value as { contentId?: string } | undefined)?.contentId === contentId));
    answer.readBack = { ...b.r, found, ...(b.v ? { findings: b.v.findings.map((f) => f.kind) } : {}) };
    if (inputPixels) answer.pixelsSame = inputPixels === (await pixelHash(req.out));
  }
  return answer;
}

process.on('message', (req: WorkerRequest) => {
  void handle(req).then((a) => process.send!(a));
});
process.send!({ ready: true });
