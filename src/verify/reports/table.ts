import type { Finding } from '../../core/types.js';
import type { FileVerdict } from '../types.js';
import type { Reporter, ScanMeta, ScanSummary, Sink } from './types.js';

const VERDICT_WIDTH = 18;

function evidenceText(v: FileVerdict): string {
  if (v.error) return `${v.error.code}: ${v.error.message}`;
  if (v.problems?.length) return v.problems.join('; ');
  const kinds = [...new Set(v.evidence.map((e: Finding) => e.kind))];
  const named = [...(v.synthetic?.generators ?? []), ...(v.synthetic?.providers ?? []).map((p) => `provider ${p}`)];
  const gens = named.length ? ` (${named.join(', ')})` : '';
  return kinds.length ? `${v.synthetic?.grade ?? ''}: ${kinds.join(', ')}${gens}` : '';
}

/** A terminal table: one row per file as it finishes, then the summary. */
export function tableReporter(out: Sink): Reporter {
  return {
    async begin(m: ScanMeta) {
      await out.write(`tamga scan: policy ${m.policy.id} (${m.policy.title})\n${'verdict'.padEnd(VERDICT_WIDTH)} ${'format'.padEnd(6)} ${'missing'.padEnd(24)} path  [evidence]\n`);
    },
    async file(v: FileVerdict) {
      const missing = v.missing.length ? v.missing.join(',') : '-';
      const ev = evidenceText(v);
      await out.write(`${v.verdict.padEnd(VERDICT_WIDTH)} ${(v.format ?? '-').padEnd(6)} ${missing.padEnd(24)} ${v.path}${ev ? `  [${ev}]` : ''}\n`);
    },
    async end(s: ScanSummary) {
      const counts = Object.entries(s.verdicts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      const resumed = s.resumed ? ` (${s.resumed} from the resumed report)` : '';
      await out.write(
        `\n${s.files} file(s)${resumed}: ${counts || 'none'}\n` +
          `${s.seconds.toFixed(2)} s, ${s.filesPerSecond.toFixed(0)} files/s, ${(s.bytesPerFile / 1024).toFixed(1)} KiB read per file\n` +
          (s.failed ? `FAILED: found ${s.failOn.filter((v) => s.verdicts[v] > 0).join(', ')} (--fail-on ${s.failOn.join(',')})\n` : ''),
      );
    },
  };
}
