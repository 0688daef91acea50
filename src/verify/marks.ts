import { classifyDigitalSourceType } from '../core/provenance.js';
import type { Finding } from '../core/types.js';
import { c2paAiSourceTypes, c2paIntegrityFailures, type C2paManifestValue } from './signals/c2pa.js';
import type { LabelMark } from './types.js';
import { AI_CLASSES, LATENT_FIELDS, type LatentField } from '../core/policies/shared.js';

export { AI_CLASSES, LATENT_FIELDS, type LatentField } from '../core/policies/shared.js';

/** Marks by which a machine reads a file as AI-generated (the machine-readable label layer). */
export const MACHINE_READABLE_AI_MARKS = ['iptc-ai-source-type', 'tc260-implicit-label', 'tamga-record', 'c2pa-ai-claim'] as const satisfies readonly LabelMark[];


export interface LabelMarks {
  /** Each mark present, with the findings that carry it. */
  marks: Map<LabelMark, Finding[]>;
  /** Latent disclosure fields no carrier supplies (empty when `latent-disclosure` is present). */
  latentMissing: LatentField[];
}

const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '' && v !== 'unknown';

/**
 * Which labels a file carries, in the vocabulary policies accept (types.ts LabelMark). A label that
 * declares algorithmicMedia still counts as a label (the file says it is synthetic); whether the
 * file counts as AI-generated is the signals' business.
 */
export function labelMarks(findings: readonly Finding[]): LabelMarks {
  const marks = new Map<LabelMark, Finding[]>();
  const add = (m: LabelMark, f: Finding) => marks.set(m, [...(marks.get(m) ?? []), f]);
  const latent = new Set<LatentField>();
  for (const f of findings) {
    if (f.layer === 'visible') add('visible-disclosure', f);
    if (f.layer === 'watermark' && f.kind !== 'watermark:sd-dwtdct') add('watermark', f);
    if (f.kind === 'xmp:iptc-digital-source-type' && AI_CLASSES.has((f.value as { class: string }).class)) add('iptc-ai-source-type', f);
    if (f.kind === 'xmp:iptc-ai-system' && nonEmpty((f.value as { name?: string }).name)) latent.add('system');
    if (f.kind.endsWith(':tc260-aigc')) {
      const v = f.value as Record<string, unknown>;
      if (v['Label'] === '1') {
        add('tc260-implicit-label', f);
        if (nonEmpty(v['ContentProducer']) && nonEmpty(v['ProduceID'])) add('tc260-implicit-label-complete', f);
        if (nonEmpty(v['ContentProducer'])) latent.add('provider');
        if (nonEmpty(v['ProduceID'])) latent.add('id');
      }
    }
    if (f.layer === 'metadata' && f.kind.endsWith(':tamga')) {
      const p = f.value as { digitalSourceType?: string; provider?: string; generator?: { name?: string }; createdAt?: string; contentId?: string };
      if (AI_CLASSES.has(classifyDigitalSourceType(p.digitalSourceType ?? '').class)) {
        add('tamga-record', f);
        if (nonEmpty(p.provider)) latent.add('provider');
        if (nonEmpty(p.generator?.name)) latent.add('system');
        if (nonEmpty(p.createdAt)) latent.add('time');
        if (nonEmpty(p.contentId)) latent.add('id');
      }
    }
    if (f.kind === 'c2pa:manifest') {
      const v = f.value as C2paManifestValue;
      if (c2paIntegrityFailures(v).length > 0 || c2paAiSourceTypes(v).length === 0) continue;
      add('c2pa-ai-claim', f);
      if (v.validationState !== 'invalid') add('c2pa-signed-ai-claim', f);
      // The active manifest's label is a unique URN and the claim signature carries a time; signer and generator are provider and system.
      if (nonEmpty(v.signedAt)) latent.add('time');
      if (nonEmpty(v.activeManifest)) latent.add('id');
      if (nonEmpty(v.signer?.subject) || nonEmpty(v.signer?.issuer)) latent.add('provider');
      if (nonEmpty(v.claimGenerator)) latent.add('system');
    }
  }
  const declaresAi = MACHINE_READABLE_AI_MARKS.some((m) => marks.has(m));
  const latentMissing = LATENT_FIELDS.filter((k) => !latent.has(k));
  if (declaresAi && latentMissing.length === 0) {
    marks.set('latent-disclosure', findings.filter((f) => (f.layer === 'metadata' && f.kind.endsWith(':tamga')) || f.kind === 'c2pa:manifest' || f.kind.endsWith(':tc260-aigc') || f.kind === 'xmp:iptc-ai-system'));
  }
  return { marks, latentMissing: declaresAi ? latentMissing : [...LATENT_FIELDS] };
}
