import type { LabelMark, Requirement } from './types.js';

/** Every label a machine reads as "AI-generated", whatever the carrier (metadata, signed manifest, watermark). */
export const MACHINE_READABLE: LabelMark[] = ['iptc-ai-source-type', 'tc260-implicit-label', 'tamga-record', 'c2pa-ai-claim', 'watermark'];

export const VISIBLE: LabelMark[] = ['visible-disclosure'];

/** The same requirements for every media kind. */
export function allKinds(reqs: Requirement[]): Record<'image' | 'audio' | 'video' | 'text' | 'pdf', Requirement[]> {
  return { image: reqs, audio: reqs, video: reqs, text: reqs, pdf: reqs };
}

/** Source-type classes a label declares as synthetic (IPTC terms for AI and for purely algorithmic media). */
export const AI_CLASSES: ReadonlySet<string> = new Set(['ai-generated', 'ai-modified', 'synthetic-non-ml']);

/** SB 942 §22757.3(b) latent disclosure fields. */
export const LATENT_FIELDS = ['provider', 'system', 'time', 'id'] as const;
export type LatentField = (typeof LATENT_FIELDS)[number];
