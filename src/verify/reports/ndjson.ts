import type { FileVerdict } from '../types.js';
import { SCAN_SCHEMA, type Reporter, type ScanMeta, type ScanSummary, type Sink } from './types.js';

/** One JSON object per line: a `header`, a `file` record per file as it finishes, a `summary` (the format --resume reads). */
export function ndjsonReporter(out: Sink, opts: { append?: boolean } = {}): Reporter {
  return {
    async begin(m: ScanMeta) {
      await out.write(
        JSON.stringify({ type: 'header', schema: SCAN_SCHEMA, tool: { name: 'tamga', version: m.version }, policy: m.policy.id, roots: m.roots, startedAt: m.startedAt, ...(opts.append ? { resumed: true } : {}) }) + '\n',
      );
    },
    async file(v: FileVerdict) {
      await out.write(JSON.stringify({ type: 'file', ...v }) + '\n');
    },
    async end(s: ScanSummary) {
      await out.write(JSON.stringify({ type: 'summary', ...s }) + '\n');
    },
  };
}
