import type { EditPlan } from '../core/edit.js';
import type { Provenance } from '../core/provenance.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding, Format, LabelOptions, Layer, MediaKind } from '../core/types.js';
import type { DisclosureLang } from '../disclosure/catalogue.js';
import type { C2paSignOptions } from '../metadata/c2pa.js';

/**
 * LabelOptions after validation and policy defaults: the same fields (derived, so a new option is
 * declared once), with defaults filled in, the C2PA signer resolved, and what the pipeline needs to
 * know about what the caller set.
 */
export type ResolvedLabelOptions = Required<Pick<LabelOptions, 'policy' | 'visible' | 'metadata' | 'position' | 'onExistingC2pa' | 'textPosition' | 'jsonFields' | 'firstPageNotice'>> &
  Pick<LabelOptions, 'disclosureText' | 'reserveTraining' | 'watermarkKey' | 'audibleCue' | 'onScreen'> & {
    /** The caller named the policy: the pipeline then refuses a label that policy's verifier would not rate `labelled`. */
    policyNamed: boolean;
    /** The layer switches the caller set (absent: the policy's default). */
    explicit: Pick<LabelOptions, 'visible' | 'metadata'>;
    /** LabelOptions.lang, checked (default by policy). */
    langs: DisclosureLang[];
    /** LabelOptions.size. */
    sizePercent: number;
    /** Sign C2PA as the last step (signer resolved from the PEM files or the caller's callback). */
    c2pa?: C2paSignOptions;
  };

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
