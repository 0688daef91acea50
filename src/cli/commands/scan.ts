import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { TamgaError } from '../../core/errors.js';
import { ledgerReader } from '../../ledger/index.js';
import type { Policy } from '../../core/types.js';
import { fileSink, REPORT_FORMATS, reporterFor, streamSink, type ReportFormat } from '../../verify/reports/index.js';
import type { ScanSummary } from '../../verify/reports/types.js';
import { readResumeFile, type ResumeState } from '../../verify/resume.js';
import { runScan } from '../../verify/run.js';
import { VERDICTS, type Verdict } from '../../verify/types.js';
import { pathKey, walk } from '../../verify/walk.js';
import { checkWatermarkKey } from '../../watermark/keys.js';
import { EXIT } from '../exit-codes.js';
import { cliWatermarkKeys, collect, deprecatedAliases, isQuiet, list, note, reportError, say } from '../output.js';
import type { QueueScanCliOptions } from './queue-scan.js';

interface ScanCliOptions {
  policy: string;
  format?: string;
  json?: boolean;
  output?: string;
  failOn?: string[];
  concurrency: string;
  workers: string;
  include?: string[];
  exclude?: string[];
  resume?: string;
  timeout: string;
  deepfake?: boolean;
  visible: boolean;
  ocr?: boolean;
  trustAnchors?: string;
  watermarkKey?: string[];
  ledger?: string;
  progress: boolean;
}

function usage(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

/** Repeatable option values, kept whole (a key may contain commas). */

function positiveInt(option: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw usage(option, `expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function parseFailOn(values: string[]): Verdict[] {
  if (values.length === 1 && values[0] === 'none') return [];
  for (const v of values) if (!VERDICTS.includes(v as Verdict)) throw usage('fail-on', `expected verdicts among ${VERDICTS.join(', ')} (or none), got ${JSON.stringify(v)}`);
  return values as Verdict[];
}

/** A bar on stderr only when it is a terminal and the report is not being printed to that terminal. */
function progressBar(o: ScanCliOptions, paths: string[], resume: ResumeState | undefined): { tick: () => void; stop: () => void } | undefined {
  if (!o.progress || isQuiet() || !process.stderr.isTTY || (!o.output && process.stdout.isTTY)) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'scanning [{bar}] {value}/{total} files | {speed} files/s | eta {eta_formatted}', hideCursor: true, etaBuffer: 200 },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let done = 0;
  let total = 0;
  let counting = true;
  bar.start(1, 0, { speed: '0' });
  // The total comes from a second, counting-only walk (readdir only), so the scan itself stays streaming.
  void (async () => {
    for await (const e of walk(paths, { ...(o.include ? { include: o.include } : {}), ...(o.exclude ? { exclude: o.exclude } : {}) })) {
      if (resume?.done.has(pathKey(e.path))) continue;
      total++;
      if (total % 500 === 0) bar.setTotal(Math.max(total, done));
    }
    counting = false;
    bar.setTotal(Math.max(total, done));
  })().catch(() => (counting = false));
  return {
    tick() {
      done++;
      if (!counting || done % 20 === 0) bar.update(done, { speed: (done / ((performance.now() - started) / 1000)).toFixed(0) });
      if (done > total) bar.setTotal(done);
    },
    stop: () => bar.stop(),
  };
}

async function scanCommand(paths: string[], o: ScanCliOptions): Promise<number> {
  const format = (o.json ? 'json' : (o.format ?? 'table')) as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw usage('format', `expected one of ${REPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
  if (o.json && o.format && o.format !== 'json') throw usage('json', `--json is --format json; it conflicts with --format ${o.format}`);
  const failOn = parseFailOn(o.failOn?.length ? o.failOn : DEFAULT_FAIL_ON);
  const concurrency = positiveInt('concurrency', o.concurrency);
  const workers = o.workers === 'auto' ? 'auto' : o.workers === '0' ? 0 : positiveInt('workers', o.workers);
  const timeoutMs = positiveInt('timeout', o.timeout);
  // Every key given is tried (each --watermark-key, and the deprecated --key); the environment adds one.
  const watermarkKeys = cliWatermarkKeys(o.watermarkKey);
  for (const k of watermarkKeys) checkWatermarkKey(k, 'watermarkKey');
  // A path that is not there is the caller's mistake, not a file's verdict: the scan still reports
  // it (verdict error) but exits 3, whatever --fail-on says.
  const missing = paths.filter((p) => !existsSync(p));
  const resume = o.resume ? await readResumeFile(o.resume) : undefined;
  // Opened before the report starts, so a bad ledger is one error, not a broken report (the scan reuses it).
  if (o.ledger) ledgerReader(o.ledger);
  // Resuming into the report being resumed continues it: NDJSON is appended to, not replaced.
  const append = Boolean(o.resume && o.output && format === 'ndjson' && resolve(o.resume) === resolve(o.output));
  const sink = o.output ? await fileSink(o.output, { append }) : undefined;
  const bar = progressBar(o, paths, resume);
  try {
    const summary = await runScan(paths, reporterFor(format, sink ?? streamSink(process.stdout), { append }), {
      policy: o.policy as Policy,
      failOn,
      concurrency,
      workers,
      timeoutMs,
      ...(o.include ? { include: o.include } : {}),
      ...(o.exclude ? { exclude: o.exclude } : {}),
      visible: o.visible,
      ...(o.deepfake ? { deepfake: true } : {}),
      ...(o.ocr ? { ocr: true } : {}),
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
      ...(watermarkKeys.length ? { watermarkKeys } : {}),
      ...(o.ledger ? { ledger: o.ledger } : {}),
      ...(resume ? { resume } : {}),
      ...(bar ? { onFile: bar.tick } : {}),
    });
    bar?.stop();
    await sink?.commit();
    if (o.output) say(`${summaryLine(summary)}; ${format} report written to ${o.output}`);
    for (const p of missing) note(`${p}: no such file or directory`);
    if (missing.length) return EXIT.INPUT;
    return summary.failed ? EXIT.CHECK_FAILED : EXIT.OK;
  } catch (e) {
    bar?.stop();
    await sink?.abort();
    throw e;
  }
}

/** Unreadable and corrupt files (verdict error) fail a scan unless --fail-on says otherwise. */
export const DEFAULT_FAIL_ON: Verdict[] = ['unlabelled', 'partially-labelled', 'invalid', 'error'];

function summaryLine(s: ScanSummary): string {
  const counts = VERDICTS.filter((v) => s.verdicts[v]).map((v) => `${v} ${s.verdicts[v]}`);
  return `${s.files} file(s): ${counts.join(', ') || 'none'}${s.failed ? ` (fails --fail-on ${s.failOn.join(',')})` : ''}`;
}

export function registerScanCommand(program: Command): void {
  const cmd = program
    .command('scan')
    .description('verify every file under the paths against a policy: labelled, partially-labelled, unlabelled, not-synthetic, invalid or error')
    .argument('<paths...>', 'files and directories to scan')
    .option('--policy <p>', 'kz, eu, cn or ca: which layers are required', 'kz')
    .option('--format <f>', `report format: ${REPORT_FORMATS.join(', ')} (default table)`)
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write the report to a file (temp file, renamed when complete)')
    .option('--fail-on <verdicts>', `exit 1 if any file gets one of these verdicts (comma-separated, or none; default ${DEFAULT_FAIL_ON.join(',')})`, list)
    .option('--concurrency <n>', 'files verified at once', '16')
    .option('--workers <n>', 'worker threads verifying beside the main thread: a number, 0 (main thread only) or auto (one per core but one); started only past the first 48 files', 'auto')
    .option('--include <glob>', 'only files matching (repeatable; a pattern without / matches the base name)', list)
    .option('--exclude <glob>', 'skip files and directories matching (repeatable)', list)
    .option('--resume <ndjson>', 'skip the files an earlier NDJSON report already has (append to it with -o <same file>)')
    .option('--timeout <ms>', 'per-file time limit', '30000')
    .option('--deepfake', 'the content depicts real persons, places or events: the eu policy then requires a visible disclosure')
    .option('--no-visible', 'do not decode pixels to look for visible badges (headers only; faster)')
    .option('--ocr', 'also OCR images for third-party disclosure text (slow)')
    .option('--trust-anchors <pem>', 'PEM bundle of trusted C2PA roots')
    .option('--watermark-key <key>', "look for tamga's invisible watermark made with this key (repeatable; $TAMGA_WATERMARK_KEY adds one)", collect)
    .option('--ledger <file>', 'recognise copies (exact, re-encoded, resized, reflowed) of outputs recorded with `label --ledger`')
    .option('--no-progress', 'never show a progress bar')
    .option('--queue <redis-url>', 'distributed: queue the files on this Redis (redis://HOST:PORT/DB) for `tamga worker`s instead of verifying here')
    .option('--job <name>', 'distributed: the name of the queued scan (for `tamga report --job`)')
    .option('--follow', 'distributed: after queueing, wait and show progress until the workers are done')
    .option('--batch-size <n>', 'distributed: files per queued job (default 64)')
    .option('--attempts <n>', 'distributed: attempts per batch before it is dead-lettered (default 5)')
    .action(async (paths: string[], o: ScanCliOptions & Partial<QueueScanCliOptions>) => {
      if (o.queue) {
        // The queue client (bullmq, ioredis) is loaded only for a queued scan, not at every start-up.
        const { queueScanCommand } = await import('./queue-scan.js');
        process.exitCode = await queueScanCommand(paths, o as QueueScanCliOptions).catch((e) => reportError(e, Boolean(o.json)));
        return;
      }
      process.exitCode = await scanCommand(paths, o).catch((e) => reportError(e, Boolean(o.json) || o.format === 'json'));
    });
  deprecatedAliases(cmd, [{ flags: '--key <key>', from: 'key', to: 'watermarkKey', toFlag: '--watermark-key', apiOption: 'watermarkKey', repeatable: true }]);
}
