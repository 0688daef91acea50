import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { TamgaError } from '../core/errors.js';
import { TOOL_ID, VERSION } from '../version.js';
import type { OptOutItem } from './check.js';
import type { OptOutPurpose, OptOutVerdict } from './signals.js';

/**
 * The audit log of opt-out checks: append-only NDJSON, one line per checked work, so an operator
 * can show an auditor that each work was checked, when, by which tool version, and what was found.
 * Lines are only ever appended (O_APPEND, one write per line), never rewritten.
 */

export const OPTOUT_LOG_SCHEMA = 'tamga-optout-log/1';

export interface OptOutLogEntry {
  schema: typeof OPTOUT_LOG_SCHEMA;
  /** When the work was checked (ISO 8601, UTC). */
  checkedAt: string;
  tool: string;
  version: string;
  purpose: OptOutPurpose;
  item: string;
  file: string;
  record?: OptOutItem['record'];
  sha256?: string;
  verdict: OptOutVerdict;
  decisive?: OptOutItem['decisive'];
  signals: OptOutItem['signals'];
  notes?: string[];
  error?: OptOutItem['error'];
}

export function logEntryFor(item: OptOutItem, purpose: OptOutPurpose, checkedAt: Date = new Date()): OptOutLogEntry {
  const e: OptOutLogEntry = {
    schema: OPTOUT_LOG_SCHEMA,
    checkedAt: checkedAt.toISOString(),
    tool: TOOL_ID,
    version: VERSION,
    purpose,
    item: item.item,
    file: item.file,
    verdict: item.verdict,
    signals: item.signals,
  };
  if (item.record) e.record = item.record;
  if (item.sha256) e.sha256 = item.sha256;
  if (item.decisive) e.decisive = item.decisive;
  if (item.notes) e.notes = item.notes;
  if (item.error) e.error = item.error;
  return e;
}

/** An open audit log. `append` writes one line per item; `close` fsyncs so the record survives a crash. */
export class OptOutLog {
  private fd: number | undefined;
  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static open(path: string): OptOutLog {
    try {
      return new OptOutLog(path, openSync(path, 'a', 0o644));
    } catch (e) {
      throw new TamgaError('WRITE_FAILED', `${path}: cannot open the audit log: ${(e as Error).message}`, { path }, { cause: e });
    }
  }

  append(item: OptOutItem, purpose: OptOutPurpose, checkedAt?: Date): void {
    if (this.fd === undefined) throw new TamgaError('WRITE_FAILED', `${this.path}: the audit log is closed`, { path: this.path });
    const line = Buffer.from(JSON.stringify(logEntryFor(item, purpose, checkedAt)) + '\n', 'utf8');
    try {
      for (let off = 0; off < line.length; ) off += writeSync(this.fd, line, off, line.length - off);
    } catch (e) {
      throw new TamgaError('WRITE_FAILED', `${this.path}: audit log write failed: ${(e as Error).message}`, { path: this.path }, { cause: e });
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
