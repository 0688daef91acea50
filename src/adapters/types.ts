import type { EditPlan } from '../core/edit.js';
import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { AudibleCueOptions, OnScreenOptions, DetectOptions, Finding, Format, Layer, MediaKind, Policy, C2paConflict, VisiblePosition } from '../core/types.js';
import type { DisclosureLang } from '../disclosure/catalogue.js';
import type { C2paSignOptions } from '../metadata/c2pa.js';

/** LabelOptions after validation and policy defaults. */
export interface ResolvedLabelOptions {
  policy: Policy;
  visible: boolean;
  metadata: boolean;
  langs: DisclosureLang[];
  disclosureText?: string;
  /** Visible badge placement and size (LabelOptions.position / size with defaults). */
  position: VisiblePosition;
  sizePercent: number;
  onExistingC2pa: C2paConflict;
  /** Sign C2PA as the last step (signer resolved from the PEM files or the caller's callback). */
  c2pa?: C2paSignOptions;
  /** LabelOptions.reserveTraining: write the training-data reservation in every layer that has one. */
  reserveTraining?: boolean;
  /** Text: where the disclosure line goes (default start). */
  textPosition?: 'start' | 'end' | 'both';
  /** Text (JSON): keys whose string values are the generated text (default content, text). */
  jsonFields?: string[];
  /** The key of the invisible watermark (text, images); none = no watermark. */
  watermarkKey?: string;
  /** PDF: also put a notice at the top of the first page. */
  firstPageNotice?: boolean;
  /** Audio: how the audible disclosure is written (LabelOptions.audibleCue, checked). */
  audibleCue?: AudibleCueOptions;
  /** Video: how the on-screen badge is written (LabelOptions.onScreen, checked). */
  onScreen?: OnScreenOptions;
}

export interface AdapterLabelOutput {
  /** How to produce the output from the input (lossless edits copy input ranges). */
  plan: EditPlan;
  layers: Layer[];
  /** Layers the options asked for that this adapter could not write, with why. */
  skipped: { layer: Layer; reason: string }[];
  /**
   * The bytes `plan` copies from when it is not the input: a streaming transform of a large
   * input (text) writes its result to an unlinked temp file and hands it over here; the entry
   * point closes it.
   */
  from?: ByteReader;
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
