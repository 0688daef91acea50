import type { LabelMark, Requirement } from './types.js';

/** Every label a machine reads as "AI-generated", whatever the carrier (metadata, signed manifest, watermark). */
export const MACHINE_READABLE: LabelMark[] = ['iptc-ai-source-type', 'tc260-implicit-label', 'tamga-record', 'c2pa-ai-claim', 'watermark'];

export const VISIBLE: LabelMark[] = ['visible-disclosure'];

/** The same requirements for every media kind. */
export function allKinds(reqs: Requirement[]): Record<'image' | 'audio' | 'video' | 'text' | 'pdf', Requirement[]> {
  return { image: reqs, audio: reqs, video: reqs, text: reqs, pdf: reqs };
}
