import { classifyDigitalSourceType } from '../../core/provenance.js';
import type { Finding } from '../../core/types.js';
import { brief, signal, type SignalDetector } from './types.js';

/**
 * A label is itself a claim of synthetic origin: tamga's XMP record (its digitalSourceType),
 * disclosures on the visible layer (tamga's badge: strong; OCR'd text or other visible kinds: weak,
 * since a photo can show the words "AI-generated"), and tamga's keyed watermark found with the
 * caller's keys (hard, §8.12: only the key holder can embed it; `key` is the key's fingerprint).
 */
export const disclosuresDetector: SignalDetector = {
  id: 'disclosures',
  detect(ctx) {
    const out: Finding[] = [];
    for (const f of ctx.findings) {
      // tamga's record: in XMP, in audio/video tags (`id3:tamga`, `mp4:tamga`...), in text front matter.
      if (f.layer === 'metadata' && f.kind.endsWith(':tamga')) {
        const p = f.value as { digitalSourceType?: string; generator?: { name?: string } };
        const c = classifyDigitalSourceType(p.digitalSourceType ?? '');
        const generator = brief(p.generator?.name, 80);
        if (c.class === 'ai-generated' || c.class === 'ai-modified') out.push(signal('tamga:record', 'strong', { term: c.term, ...(generator ? { generator } : {}) }, f.where));
      } else if (f.layer === 'watermark' && f.kind.startsWith('watermark:tamga')) {
        const key = (f.value as { key?: unknown } | undefined)?.key;
        out.push(signal('tamga:watermark', 'hard', { source: f.kind, ...(typeof key === 'string' ? { key } : {}) }, f.where));
      } else if (f.layer === 'visible') {
        out.push(signal('visible:ai-disclosure', f.kind === 'visible:tamga-badge' ? 'strong' : 'weak', { source: f.kind }, f.where));
      }
    }
    return out;
  },
};
