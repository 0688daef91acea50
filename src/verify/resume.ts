import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TamgaError } from '../core/errors.js';
import { VERDICTS, type Verdict } from './types.js';
import { pathKey } from './walk.js';

export interface ResumeState {
  /** Absolute paths that already have a verdict. */
  done: Set<string>;
  /** Their verdicts, counted (so the summary and --fail-on cover the whole scan). */
  counts: Record<Verdict, number>;
}

export const emptyCounts = (): Record<Verdict, number> => Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;

/**
 * Reads an earlier NDJSON report (schema tamga.scan/1). Lines that are not file records (the
 * header, the summary) are skipped, and so is a torn last line left by an interrupted run.
 */
export async function readResumeFile(file: string): Promise<ResumeState> {
  const state: ResumeState = { done: new Set(), counts: emptyCounts() };
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new TamgaError('READ_FAILED', `${file}: cannot read the report to resume from: ${(e as Error).message}`, { path: file }, { cause: e });
  }
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    let rec: { type?: unknown; path?: unknown; verdict?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (rec.type !== 'file' || typeof rec.path !== 'string' || !VERDICTS.includes(rec.verdict as Verdict)) continue;
    const key = pathKey(rec.path);
    if (state.done.has(key)) continue;
    state.done.add(key);
    state.counts[rec.verdict as Verdict]++;
  }
  return state;
}
