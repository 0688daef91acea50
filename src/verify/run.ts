import { fileBytesRead } from '../core/source.js';
import { VERSION } from '../version.js';
import { verifierBytesRead } from './file.js';
import { scan } from './index.js';
import { policyDefinition } from './policies/index.js';
import type { Reporter, ScanSummary } from './reports/types.js';
import { emptyCounts, type ResumeState } from './resume.js';
import type { FileVerdict, ScanOptions, Verdict } from './types.js';

export interface RunScanOptions extends ScanOptions {
  /** Verdicts that make the scan fail (exit code 1). */
  failOn?: Verdict[];
  /** An earlier report's state: its files are skipped and its verdicts counted. */
  resume?: ResumeState;
  /** Called after each file is reported (progress display). */
  onFile?: (v: FileVerdict) => void;
}

/** Scans, streams every verdict to the reporter, and returns the summary (also given to the reporter). */
export async function runScan(paths: string[], reporter: Reporter, opts: RunScanOptions = {}): Promise<ScanSummary> {
  const policy = policyDefinition(opts.policy ?? 'kz');
  const failOn = opts.failOn ?? [];
  const counts = emptyCounts();
  const resumed = opts.resume;
  if (resumed) for (const [v, n] of Object.entries(resumed.counts)) counts[v as Verdict] += n;
  const started = performance.now();
  const bytesAtStart = fileBytesRead() + verifierBytesRead();
  await reporter.begin({ policy, roots: paths, startedAt: new Date().toISOString(), failOn, version: VERSION });
  let scanned = 0;
  const skip = resumed ? (p: string) => resumed.done.has(p) || Boolean(opts.skip?.(p)) : opts.skip;
  const { failOn: _failOn, resume: _resume, onFile: _onFile, ...scanOpts } = opts;
  for await (const v of scan(paths, { ...scanOpts, ...(skip ? { skip } : {}) })) {
    counts[v.verdict]++;
    scanned++;
    await reporter.file(v);
    opts.onFile?.(v);
  }
  const seconds = (performance.now() - started) / 1000;
  const bytesRead = fileBytesRead() + verifierBytesRead() - bytesAtStart;
  const resumedFiles = resumed ? resumed.done.size : 0;
  const summary: ScanSummary = {
    files: scanned + resumedFiles,
    verdicts: counts,
    resumed: resumedFiles,
    seconds,
    filesPerSecond: seconds > 0 ? scanned / seconds : 0,
    bytesRead,
    bytesPerFile: scanned ? Math.round(bytesRead / scanned) : 0,
    failOn,
    failed: failOn.some((v) => counts[v] > 0),
  };
  await reporter.end(summary);
  return summary;
}

