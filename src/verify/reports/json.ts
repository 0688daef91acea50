import type { FileVerdict } from '../types.js';
import { SCAN_SCHEMA, type Reporter, type ScanMeta, type ScanSummary, type Sink } from './types.js';

/**
 * One JSON document, schema `tamga.scan/1`: `{ schema, tool, policy, roots, startedAt, files: [...], summary }`.
 * Written as files finish (the array is streamed), so a large scan never holds its report in memory.
 */
export function jsonReporter(out: Sink): Reporter {
  let first = true;
  return {
    async begin(m: ScanMeta) {
      const head = { schema: SCAN_SCHEMA, tool: { name: 'tamga', version: m.version }, policy: m.policy.id, roots: m.roots, startedAt: m.startedAt };
      await out.write(JSON.stringify(head, null, 2).replace(/\n}$/, ',\n  "files": ['));
    },
    async file(v: FileVerdict) {
      const body = JSON.stringify(v, null, 2).replace(/\n/g, '\n    ');
      await out.write(`${first ? '' : ','}\n    ${body}`);
      first = false;
    },
    async end(s: ScanSummary) {
      await out.write(`${first ? '' : '\n  '}],\n  "summary": ${JSON.stringify(s, null, 2).replace(/\n/g, '\n  ')}\n}\n`);
    },
  };
}
