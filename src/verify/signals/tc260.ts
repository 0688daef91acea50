import type { Finding } from '../../core/types.js';
import { brief, signal, type SignalDetector } from './types.js';

/**
 * China's implicit label (§4.4, §8.9): TC260 `AIGC` in XMP or a PNG `AIGC` text chunk.
 * `Label` 1 (is AI) is strong; 2 (may be) and 3 (suspected) are the platform's guesses: weak.
 */
/** A TC260 element value as text: %XX sequences decoded as UTF-8; a value that does not decode stays as written. */
export function decodeTc260Value(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const tc260Detector: SignalDetector = {
  id: 'tc260',
  detect(ctx) {
    const out: Finding[] = [];
    for (const f of ctx.findings) {
      if (!f.kind.endsWith(':tc260-aigc')) continue;
      const v = f.value as Record<string, unknown>;
      const label = v['Label'];
      if (label !== '1' && label !== '2' && label !== '3') continue;
      // GB 45438 Appendix E(j) writes non-ASCII and `%` as %XX UTF-8 bytes; the producer is the
      // provider (an organisation), not the AI system, and tamga writes `unknown` when none was given.
      const producer = brief(typeof v['ContentProducer'] === 'string' ? decodeTc260Value(v['ContentProducer']) : undefined, 80);
      out.push(signal('tc260:aigc-label', label === '1' ? 'strong' : 'weak', { label, ...(producer && producer !== 'unknown' ? { provider: producer } : {}) }, f.where));
    }
    return out;
  },
};
