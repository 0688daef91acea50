import { isTamgaError } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Parses a comma-separated option value; repeatable options accumulate. */
export const list = (v: string, prev: string[] = []): string[] => prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));

/** Commander accumulator for a repeatable option whose values may contain commas (keys). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Every watermark key a command was given (each repeat of its key options) plus $TAMGA_WATERMARK_KEY, each once. */
export function cliWatermarkKeys(...given: (readonly string[] | undefined)[]): string[] {
  const env = process.env['TAMGA_WATERMARK_KEY'];
  return [...new Set([...given.flatMap((g) => g ?? []), ...(env ? [env] : [])])];
}

/** Errors go to stdout as JSON with --json (so a pipeline parses one stream), else to stderr. Returns the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (isTamgaError(e)) {
    if (json) console.log(JSON.stringify({ error: e.toJSON() }, null, 2));
    else console.error(`tamga: ${e.message} [${e.code}]`);
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) console.log(JSON.stringify({ error: { name: 'InternalError', code: 'INTERNAL', message: String(e instanceof Error ? e.message : e) } }, null, 2));
  console.error(`tamga: internal error (please report with the input file): ${msg}`);
  return EXIT.INTERNAL;
}

/** One finding as a table row for the terminal. */
export function formatFinding(f: Finding): string {
  let v: string;
  if (f.kind === 'xmp:iptc-digital-source-type') v = (f.value as { uri: string }).uri;
  else if (typeof f.value === 'string') v = f.value;
  else v = JSON.stringify(f.value);
  if (v && v.length > 120) v = v.slice(0, 117) + '...';
  const conf = f.confidence < 1 ? ` (confidence ${f.confidence})` : '';
  return `  ${f.layer.padEnd(9)} ${f.kind.padEnd(32)} ${v ?? ''}${conf}${f.where ? `  [${f.where}]` : ''}`;
}
