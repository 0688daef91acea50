import type { EditPlan } from '../core/edit.js';
import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, Layer, MediaKind, Policy, C2paConflict } from '../core/types.js';
import type { DisclosureLang } from '../disclosure/catalogue.js';

/** LabelOptions after validation and policy defaults. */
export interface ResolvedLabelOptions {
  policy: Policy;
  visible: boolean;
  metadata: boolean;
  langs: DisclosureLang[];
  disclosureText?: string;
  onExistingC2pa: C2paConflict;
}

export interface AdapterLabelOutput {
  /** How to produce the output from the input (lossless edits copy input ranges). */
  plan: EditPlan;
  layers: Layer[];
  /** Layers the options asked for that this adapter could not write, with why. */
  skipped: { layer: Layer; reason: string }[];
}

/**
 * One media kind (architecture.md, "Layout"). The entry points open and sniff the source once and
 * hand the adapter a ByteReader, so adapters never re-open or re-sniff.
 */
export interface MediaAdapter {
  readonly kind: MediaKind;
  readonly formats: readonly Format[];
  label(input: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<AdapterLabelOutput>;
  detect(input: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]>;
}
