import { classifyDigitalSourceType } from '../../core/provenance.js';
import type { Finding } from '../../core/types.js';
import { brief, signal, type SignalDetector } from './types.js';

/**
 * Unsigned IPTC claims in XMP (§1, §8.12 "strong"): a DigitalSourceType whose term means
 * generative AI (trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, compositeSynthetic),
 * weak for the ambiguous ones (composite, virtualRecording), and IPTC 2025.1 `AISystemUsed`.
 * `algorithmicMedia` (procedural, no trained model) is not evidence of AI.
 */
export const iptcDetector: SignalDetector = {
  id: 'iptc',
  detect(ctx) {
    const out: Finding[] = [];
    for (const f of ctx.findings) {
      if (f.kind === 'xmp:iptc-digital-source-type') {
        const v = f.value as ReturnType<typeof classifyDigitalSourceType>;
        if (v.class === 'ai-generated' || v.class === 'ai-modified') out.push(signal('xmp:ai-digital-source-type', 'strong', { term: v.term, class: v.class }, f.where));
        else if (v.class === 'possibly-ai') out.push(signal('xmp:ai-digital-source-type', 'weak', { term: v.term, class: v.class }, f.where));
      }
      if (f.kind === 'xmp:iptc-ai-system') {
        const v = f.value as { name?: string; version?: string };
        const name = brief(v.name, 80);
        if (name) out.push(signal('xmp:ai-system-used', 'strong', { generator: name, ...(v.version ? { version: brief(v.version, 40) } : {}) }, f.where));
      }
    }
    return out satisfies Finding[];
  },
};
