/**
 * bench/realworld: `detect` and `label --no-visible` over every file of a folder of other
 * projects' test files (Pillow Tests/images, exiftool t/images, pdf.js test/pdfs,
 * music-metadata test/samples, mp4parse-rust tests...), each output checked with independent
 * readers: exiftool -validate (warnings before/after), qpdf --check and pdfinfo for PDFs, ffmpeg
 * demuxing every packet for audio/video, libvips (sharp) pixels for images.
 *
 * Run: npx tsx bench/realworld.ts <folder> [--timeout 60] [--out /tmp/realworld] [--limit N]
 *      npx tsx bench/realworld.ts <folder> --speed   (default `tamga scan` against `exiftool -json -r -q`, same run)
 * Prints the counts (ok / clean error / crash / hang / damaged / label not found / new warnings /
 * readable-but-refused / unsupported) and writes every file's record to <out>/results.ndjson.
 * The files are not part of the repository: fetch them (see fixtures/SOURCES.md) under /tmp.
 */
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { ffmpegPath, ffprobePath } from '../src/media/ffmpeg.js';
import type { WorkerAnswer, WorkerRequest } from './realworld-worker.js';

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : def;
};
const ROOT = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
if (!ROOT) {
  console.error('usage: tsx bench/realworld.ts <folder> [--timeout 60] [--out /tmp/realworld] [--limit N]');
  process.exit(2);
}
const TIMEOUT_MS = Number(opt('--timeout', '60')) * 1000;
const OUT = resolve(opt('--out', '/tmp/realworld'));
const LIMIT = Number(opt('--limit', '0'));
/** A child past this resident size is killed: the file counts as a crash (unbounded memory). */
const MAX_RSS_BYTES = Number(opt('--max-rss-mb', '3072')) * 2 ** 20;
const TOOL_TIMEOUT_MS = 60_000;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && statSync(p).size > 0) out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------------------ the tamga child

class Child {
  private proc: ChildProcess | undefined;
  private ready: Promise<void> | undefined;

  private start(): Promise<void> {
    const proc = fork(resolve(import.meta.dirname, 'realworld-worker.ts'), [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    this.proc = proc;
    return new Promise((res, rej) => {
      proc.once('message', () => res());
      proc.once('exit', (c) => rej(new Error(`worker exited ${c} at start`)));
    });
  }

  kill(): void {
    this.proc?.kill('SIGKILL');
    this.proc = undefined;
    this.ready = undefined;
  }

  async run(req: WorkerRequest): Promise<WorkerAnswer | { failure: 'hang' | 'crash'; detail: string }> {
    this.ready ??= this.start();
    await this.ready;
    const proc = this.proc!;
    return new Promise((res) => {
      let done = false;
      const finish = (v: WorkerAnswer | { failure: 'hang' | 'crash'; detail: string }, kill: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        if (kill) this.kill();
        res(v);
      };
      const onMessage = (m: WorkerAnswer) => finish(m, false);
      const onExit = (code: number | null, signal: string | null) => finish({ failure: 'crash', detail: `worker died (${code ?? signal})` }, true);
      const timer = setTimeout(() => finish({ failure: 'hang', detail: `no answer in ${TIMEOUT_MS} ms` }, true), TIMEOUT_MS);
      const poll = setInterval(() => {
        try {
          const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
          if (rss > MAX_RSS_BYTES) finish({ failure: 'crash', detail: `resident memory above ${MAX_RSS_BYTES / 2 ** 20} MiB` }, true);
        } catch {
          /* exited */
        }
      }, 250);
      proc.on('message', onMessage);
      proc.on('exit', onExit);
      proc.send(req);
    });
  }
}

// ------------------------------------------------------------------------ independent readers

function run(cmd: string, args: string[], timeoutMs = TOOL_TIMEOUT_MS): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'latin1', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** exiftool in -stay_open mode: one Perl process for the whole run. */
class Exiftool {
  private proc = spawn('exiftool', ['-stay_open', 'True', '-@', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  private buf = '';
  private errBuf = '';
  private waiter: ((s: string) => void) | undefined;

  constructor() {
    this.proc.stdout.setEncoding('latin1');
    this.proc.stderr.setEncoding('latin1');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      const i = this.buf.indexOf('{ready}\n');
      if (i >= 0 && this.waiter) {
        const out = this.buf.slice(0, i) + this.errBuf;
        this.buf = this.buf.slice(i + 8);
        this.errBuf = '';
        const w = this.waiter;
        this.waiter = undefined;
        w(out);
      }
    });
    this.proc.stderr.on('data', (d: string) => (this.errBuf += d));
  }

  /** Warning and Error lines of `exiftool -validate -warning -a` (file names removed). */
  async problems(path: string): Promise<string[]> {
    const out = await new Promise<string>((res) => {
      this.waiter = res;
      this.proc.stdin.write(['-validate', '-warning', '-error', '-a', '-G1', '-s', path, '-execute', ''].join('\n'));
    });
    return out
      .split('\n')
      .filter((l) => /\b(Warning|Error)\b/.test(l) && !/\bValidate\b/.test(l))
      .map((l) => l.split(path).join('<file>').replace(/\s+/g, ' ').trim())
      // Counts and offsets that move with the label are not new problems.
      .map((l) => l.replace(/\d+/g, '#'))
      .filter(Boolean);
  }

  close(): void {
    this.proc.stdin.write('-stay_open\nFalse\n');
  }
}

function pdfReaders(path: string): { ok: boolean; detail: string } {
  const q = run('qpdf', ['--check', path]);
  const p = run('pdfinfo', [path]);
  // qpdf: 0 = fine, 3 = warnings (it repaired something), 2 = errors.
  const ok = (q.code === 0 || q.code === 3) && p.code === 0;
  return { ok, detail: `qpdf ${q.code}${q.code === 2 ? `: ${q.out.split('\n').slice(-3).join(' ')}${q.err.slice(0, 200)}` : ''}; pdfinfo ${p.code}${p.code ? `: ${p.err.slice(0, 200)}` : ''}` };
}

function avReaders(path: string): { ok: boolean; detail: string; errors: string[] } {
  const probe = run(ffprobePath(), ['-v', 'error', '-show_format', '-show_streams', `file:${path}`]);
  const demux = run(ffmpegPath(), ['-v', 'error', '-nostdin', '-i', `file:${path}`, '-map', '0', '-c', 'copy', '-f', 'null', '-']);
  const errors = [...probe.err.split('\n'), ...demux.err.split('\n')].map((l) => l.split(path).join('<file>').replace(/0x[0-9a-f]+/g, '#').replace(/\d+/g, '#').trim()).filter(Boolean);
  return { ok: probe.code === 0 && demux.code === 0 && errors.length === 0, detail: `ffprobe ${probe.code}, ffmpeg ${demux.code}: ${errors.slice(0, 3).join(' | ')}`, errors };
}

// -------------------------------------------------------------------------------------- main

type Outcome = 'ok' | 'clean-error' | 'unsupported' | 'crash' | 'hang' | 'damaged' | 'label-not-found' | 'new-warnings' | 'readable-but-refused';

interface Record_ {
  path: string;
  outcomes: Outcome[];
  detail: string[];
  answer?: WorkerAnswer;
}

async function main(): Promise<void> {
  let files = walk(resolve(ROOT!)).sort();
  if (LIMIT) files = files.slice(0, LIMIT);
  mkdirSync(OUT, { recursive: true });
  const results = join(OUT, 'results.ndjson');
  writeFileSync(results, '');
  const child = new Child();
  const exif = new Exiftool();
  const counts = new Map<Outcome, number>();
  const t0 = performance.now();
  for (const [i, path] of files.entries()) {
    const out = join(OUT, `out-${createHash('sha1').update(path).digest('hex').slice(0, 12)}${extname(path)}`);
    const a = await child.run({ path, out, pixels: true });
    const rec: Record_ = { path, outcomes: [], detail: [] };
    if ('failure' in a) {
      rec.outcomes.push(a.failure);
      rec.detail.push(a.detail);
    } else {
      rec.answer = a;
      const steps = [a.detect, a.label, a.readBack].filter(Boolean);
      if (steps.some((s) => s!.code === 'INTERNAL')) {
        rec.outcomes.push('crash');
        rec.detail.push(...steps.filter((s) => s!.code === 'INTERNAL').map((s) => s!.message!));
      }
      // Does an independent reader open the input?
      let inputOk: boolean | undefined;
      let inputAv: ReturnType<typeof avReaders> | undefined;
      if (a.kind === 'pdf') {
        const r = pdfReaders(path);
        inputOk = r.ok;
        rec.detail.push(`input: ${r.detail}`);
      } else if (a.kind === 'audio' || a.kind === 'video') {
        inputAv = avReaders(path);
        inputOk = inputAv.ok;
        if (!inputOk) rec.detail.push(`input: ${inputAv.detail}`);
      } else if (a.kind === 'image') inputOk = a.inputDecodes;

      const refusal = (s: WorkerAnswer['detect'] | undefined) => s && !s.ok && (s.code === 'CORRUPT_INPUT' || s.code === 'INPUT_TOO_LARGE' || s.code === 'METADATA_TOO_LARGE');
      if (a.label && !a.label.ok) {
        if (a.label.code === 'UNSUPPORTED_FORMAT' && !a.kind) rec.outcomes.push('unsupported');
        else if (a.label.code !== 'INTERNAL') {
          rec.outcomes.push(refusal(a.label) && inputOk ? 'readable-but-refused' : 'clean-error');
          rec.detail.push(`label: ${a.label.code}: ${a.label.message?.split('\n')[0]}`);
        }
      } else if (!a.detect.ok && refusal(a.detect) && inputOk) {
        rec.outcomes.push('readable-but-refused');
        rec.detail.push(`detect: ${a.detect.code}: ${a.detect.message?.split('\n')[0]}`);
      }
      if (a.label?.ok) {
        if (!a.readBack?.found) {
          rec.outcomes.push('label-not-found');
          rec.detail.push(`read back: ${a.readBack?.ok ? `findings ${a.readBack.findings?.join(',')}` : `${a.readBack?.code}: ${a.readBack?.message?.split('\n')[0]}`}`);
        }
        if (a.pixelsSame === false) {
          rec.outcomes.push('damaged');
          rec.detail.push('output pixels differ from the input');
        }
        if (a.kind === 'pdf') {
          const r = pdfReaders(out);
          if (inputOk && !r.ok) {
            rec.outcomes.push('damaged');
            rec.detail.push(`output: ${r.detail}`);
          }
        } else if (a.kind === 'audio' || a.kind === 'video') {
          const r = avReaders(out);
          const before = new Set(inputAv?.errors ?? []);
          const fresh = r.errors.filter((e) => !before.has(e.replace('out-', '')));
          if ((inputOk && !r.ok) || fresh.length) {
            rec.outcomes.push('damaged');
            rec.detail.push(`output: ${r.detail}`);
          }
        }
        const [before, after] = [await exif.problems(path), await exif.problems(out)];
        const seen = new Set(before);
        const fresh = after.filter((w) => !seen.has(w));
        if (fresh.length) {
          rec.outcomes.push('new-warnings');
          rec.detail.push(`exiftool: ${fresh.join(' | ')}`);
        }
      }
      if (!rec.outcomes.length) rec.outcomes.push(a.label?.ok || !a.detect.ok ? 'ok' : 'clean-error');
    }
    rmSync(out, { force: true });
    for (const o of new Set(rec.outcomes)) counts.set(o, (counts.get(o) ?? 0) + 1);
    appendFileSync(results, JSON.stringify(rec) + '\n');
    if (rec.outcomes.some((o) => o !== 'ok' && o !== 'clean-error' && o !== 'unsupported')) console.log(`${rec.outcomes.join(',')}\t${path}\t${rec.detail.join(' ; ').slice(0, 400)}`);
    if ((i + 1) % 100 === 0) console.error(`[${i + 1}/${files.length}] ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  child.kill();
  exif.close();
  const order: Outcome[] = ['ok', 'clean-error', 'unsupported', 'crash', 'hang', 'damaged', 'label-not-found', 'new-warnings', 'readable-but-refused'];
  console.log(`\n${files.length} files in ${((performance.now() - t0) / 1000).toFixed(0)} s (${ROOT})`);
  console.log(order.map((o) => `${o}: ${counts.get(o) ?? 0}`).join(' / '));
}

/** `tamga scan` (default options: page text and pixels read) against exiftool over the same folder, one after the other. */
function speed(): void {
  const timed = (cmd: string, args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    if (r.status !== 0 && cmd !== 'exiftool') throw new Error(`${cmd} failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const files = walk(resolve(ROOT!)).length;
  const tamga = timed(process.execPath, [resolve(import.meta.dirname, '..', 'bin', 'tamga.js'), 'scan', resolve(ROOT!), '--format', 'ndjson', '-o', join(OUT, 'scan.ndjson'), '--fail-on', 'none']);
  const exif = timed('exiftool', ['-json', '-r', '-q', resolve(ROOT!)]);
  console.log(`${files} files: tamga scan ${tamga.toFixed(1)} s (${(files / tamga).toFixed(1)} files/s), exiftool -json -r -q ${exif.toFixed(1)} s (${(files / exif).toFixed(1)} files/s): ${(exif / tamga).toFixed(2)}x exiftool`);
}

if (argv.includes('--speed')) {
  mkdirSync(OUT, { recursive: true });
  speed();
} else await main();
