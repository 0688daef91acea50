import type { EditPlan } from '../core/edit.js';
import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { AudibleCueOptions, OnScreenOptions, DetectOptions, Finding, Format, Layer, MediaKind, Policy, C2paConflict, VisiblePosition } from '../core/types.js';
import type { DisclosureLang } from '../disclosure/catalogue.js';
import type { C2paSignOptions } from '../metadata/c2pa.js';

/** LabelOptions after validation and policy defaults. */
export interface ResolvedLabelOptions {
  policy: Policy;
  /** The caller named the policy: the pipeline then refuses a label that policy's verifier would not rate `labelled`. */
  policyNamed: boolean;
  /** The layer switches the caller set (absent: the policy's default). */
  explicit: { visible?: boolean; metadata?: boolean };
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

/** The layers a caller can ask `label()` for (`signal` is read-only evidence). */
export type WritableLayer = Exclude<Layer, 'signal'>;
/** The layers that re-encode the media: written in one pass, before the lossless ones. */
export type ReencodeLayer = Extract<WritableLayer, 'visible' | 'watermark'>;

/** Bytes a step produced: a plan over `from` (or over the step's input when absent). */
export interface StepOutput {
  plan: EditPlan;
  /** The reader `plan` copies from when it is not the step's input (the pipeline closes it). */
  from?: ByteReader;
}

/**
 * What one medium offers the label pipeline (src/api/pipeline.ts) for one input. The adapter says
 * what the input can carry and supplies the steps; the pipeline alone decides the order, the C2PA
 * conflict, what an explicit request that cannot be met does, and what goes into `skipped`.
 */
export interface LabelSteps {
  /** Where a C2PA manifest already sits in the input (e.g. `jpeg:APP11@2`); absent when there is none. */
  existingC2pa?: string;
  /** Layers this input cannot carry, each with why. */
  cannot: Partial<Record<WritableLayer, string>>;
  /**
   * The re-encoding layers in one decode -> visible -> watermark -> encode pass (`layers` is a
   * non-empty subset of visible, watermark). Returns the re-encoded file.
   */
  reencode?(input: ByteReader, layers: ReadonlySet<ReencodeLayer>): Promise<ByteReader>;
  /** The lossless metadata layer over `input` (the original or the re-encoded file). */
  metadata?(input: ByteReader, stripC2pa: boolean): Promise<StepOutput>;
  /** Media whose layers are one edit (text's streaming pass, PDF's incremental update): every layer but C2PA at once. */
  combined?(input: ByteReader, layers: ReadonlySet<Exclude<WritableLayer, 'c2pa'>>, stripC2pa: boolean): Promise<StepOutput>;
}

/**
 * The result of the pipeline, handed to the writer: how to produce the output from `from` (or
 * the input), the layers written and the ones skipped.
 */
export interface AdapterLabelOutput extends StepOutput {
  layers: Layer[];
  /** Layers the policy's defaults asked for that this input cannot carry, with why. */
  skipped: { layer: Layer; reason: string }[];
}

/**
 * One media kind (architecture.md, "Layout"). The entry points open and sniff the source once and
 * hand the adapter a ByteReader, so adapters never re-open or re-sniff.
 */
export interface MediaAdapter {
  readonly kind: MediaKind;
  readonly formats: readonly Format[];
  /** The steps that label this input; nothing is written until the pipeline runs them. */
  prepare(input: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<LabelSteps>;
  detect(input: ByteReader, format: Format, opts: DetectOptions): Promise<Finding[]>;
}
