import type { MediaKind, Policy } from '../types.js';

/**
 * Kinds of label a policy can accept, derived from findings by `labelMarks()` (marks.ts).
 * Policies name these, never raw finding kinds, so a new carrier only changes marks.ts.
 */
export type LabelMark =
  /** Any finding on the visible layer: tamga's badge, OCR'd disclosure text, a page stamp, a disclosure line. */
  | 'visible-disclosure'
  /** XMP `Iptc4xmpExt:DigitalSourceType` with an AI or synthetic term (unsigned). */
  | 'iptc-ai-source-type'
  /** TC260 `AIGC` with `Label` 1 (XMP or a text chunk). */
  | 'tc260-implicit-label'
  /** TC260 `AIGC` with `Label` 1 and the producer's fields of GB 45438 Appendix E (`ContentProducer`, `ProduceID`). */
  | 'tc260-implicit-label-complete'
  /** tamga's own XMP record. */
  | 'tamga-record'
  /** A C2PA manifest with intact hashes and signature whose actions declare an AI source type (credential may be untrusted or rejected). */
  | 'c2pa-ai-claim'
  /** The same, with a signing credential that validates (validation state not `invalid`): signed provenance. */
  | 'c2pa-signed-ai-claim'
  /** A keyed invisible watermark read back (watermark layer). */
  | 'watermark'
  /** SB 942 latent disclosure: provider, system, time and unique id in one machine-readable carrier. */
  | 'latent-disclosure';

export type RequirementId = 'visible' | 'machine-readable' | 'detectable' | 'explicit' | 'implicit' | 'latent' | 'manifest';

export interface Requirement {
  id: RequirementId;
  /** What the law asks, in one line (shown in reports and the README table). */
  description: string;
  /** Any one of these marks satisfies the requirement. */
  accepts: LabelMark[];
  /** Offered to the user but not mandatory (SB 942's manifest disclosure): reported, never missing. */
  optional?: boolean;
  /** Required only for content the caller flags (`deepfake`: EU AI Act Art. 50(4)). */
  when?: 'deepfake';
}

/** A policy as data: per media kind, the layers a law requires and which labels it accepts for each. */
export interface PolicyDefinition {
  id: Policy;
  title: string;
  /** Citation of the provision the requirements come from. */
  law: string;
  requirements: Record<MediaKind, Requirement[]>;
}

