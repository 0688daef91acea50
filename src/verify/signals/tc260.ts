import type { Finding } from '../../core/types.js';
import { brief, signal, type SignalDetector } from './types.js';

/**
 * China's implicit label (§4.4, §8.9): TC260 `AIGC` in XMP or a PNG `AIGC` text chunk.
 * `Label` 1 (is AI) is strong; 2 (may be) and 3 (suspected) are the platform's guesses: weak.
 */
export const tc260Detector: SignalDetector = {
  id: 'tc260',
  detect(ctx) {
    const out: Finding[] = [];
    for (const f of ctx.findings) {
      if (!f.kind.endsWith(':tc260-aigc')) continue;
      const v = f.value as Record<string, unknown>;
      const label = v['Label'];
      if (label !== '1' && label !== '2' && label !== '3') continue;
      const producer = brief(v['ContentProducer'], 80);
      out.push(signal('tc260:aigc-label', label === '1' ? 'strong' : 'weak', { label, ...(producer ? { generator: producer } : {}) }, f.where));
    }
    return out;
  },
};
