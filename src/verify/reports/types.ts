import type { FileVerdict, PolicyDefinition, Verdict } from '../types.js';

/** The versioned name of the report schema (README "Scan reports"). Bump on any incompatible change. */
export const SCAN_SCHEMA = 'tamga.scan/1';

export interface ScanMeta {
  policy: PolicyDefinition;
  roots: string[];
  startedAt: string;
  failOn: Verdict[];
  version: string;
}

export interface ScanSummary {
  /** Files with a verdict in this run plus those carried over from `--resume`. */
  files: number;
  verdicts: Record<Verdict, number>;
  /** Of `files`, how many came from the resumed report. */
  resumed: number;
  seconds: number;
  filesPerSecond: number;
  /** Bytes read from disk in this run, and per file verified in this run. */
  bytesRead: number;
  bytesPerFile: number;
  failOn: Verdict[];
  /** True when a verdict in `failOn` occurred: the command exits 1. */
  failed: boolean;
}

/** Where a report goes: `write` resolves when the sink accepts more (back-pressure). */
export interface Sink {
  write(chunk: string): Promise<void>;
}

/** A report format. Reports stream: `file` is called as each file finishes. */
export interface Reporter {
  begin(meta: ScanMeta): Promise<void>;
  file(v: FileVerdict): Promise<void>;
  end(summary: ScanSummary): Promise<void>;
}
