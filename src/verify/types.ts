import type { TamgaErrorCode } from '../core/errors.js';
import type { Finding, Format, MediaKind, Policy } from '../core/types.js';

/** The verdict vocabulary of architecture.md ("Findings and verdicts"): one per scanned file. */
export const VERDICTS = ['labelled', 'partially-labelled', 'unlabelled', 'not-synthetic', 'invalid', 'error'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Evidence grades of labelling-standards.md §8.12. */
export type Grade = 'hard' | 'strong' | 'weak';
export const GRADES: readonly Grade[] = ['hard', 'strong', 'weak'];
/** A signal finding's confidence encodes its grade, so `confidence` orders evidence across kinds. */
export const GRADE_CONFIDENCE: Record<Grade, number> = { hard: 1, strong: 0.8, weak: 0.4 };

/** The value of every finding a signal detector emits (layer `signal`). */
export interface SignalValue {
  grade: Grade;
  /** The AI system the evidence names, when it names one (e.g. `AUTOMATIC1111`, `ComfyUI`, `OpenAI`). */
  generator?: string;
  /** The organisation responsible for the content (TC260 `ContentProducer`), kept apart from the AI system. */
  provider?: string;
  [detail: string]: unknown;
}

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

export interface RequirementResult {
  id: RequirementId;
  required: boolean;
  satisfied: boolean;
  /** The marks found that satisfy it. */
  by: LabelMark[];
  /** For `latent`: the SB 942 fields no carrier supplies. */
  missingFields?: string[];
}

export interface VerdictError {
  /** A TamgaError code, `TIMEOUT` (the per-file time limit passed) or `INTERNAL` (a bug: please report it). */
  code: TamgaErrorCode | 'TIMEOUT' | 'INTERNAL';
  message: string;
}

/** One file's result: the contract of `verify()` and of every scan report (schema `tamga.scan/1`). */
export interface FileVerdict {
  path: string;
  verdict: Verdict;
  policy: Policy;
  kind?: MediaKind;
  format?: Format;
  /** The strongest evidence of AI generation, or null when there is none. */
  synthetic: { grade: Grade; generators: string[]; providers?: string[] } | null;
  /** Required layers (requirement ids) that are absent; empty unless the verdict is partially-labelled or unlabelled. */
  missing: RequirementId[];
  requirements: RequirementResult[];
  /** Signal findings: the evidence of synthetic origin, strongest first. */
  evidence: Finding[];
  /** Findings on the label layers (visible, metadata, c2pa, watermark). */
  labels: Finding[];
  /** Why a label is broken (verdict `invalid`). */
  problems?: string[];
  /** Why the file could not be verified (verdict `error`). */
  error?: VerdictError;
}

export interface VerifyOptions {
  /** Which law's requirements decide labelled vs partially-labelled. Default `kz`. */
  policy?: Policy;
  /** The content resembles real persons, objects, places or events (EU Art. 50(4)): the `eu` policy then requires a visible disclosure. */
  deepfake?: boolean;
  /** Weakest evidence grade that makes a file count as synthetic. Default `weak`. */
  minGrade?: Grade;
  /** Per-file time limit in ms (verdict `error`, code TIMEOUT). Default 30000. */
  timeoutMs?: number;
  /** Look for tamga's visible badges in the pixels (decodes a downscaled copy). Default true; false reads headers only. */
  visible?: boolean;
  /** Also OCR images for third-party disclosure text (slow). Default false. */
  ocr?: boolean;
  /** PEM bundle (contents or a path) of trusted C2PA roots; without it intact manifests are `untrusted`. */
  trustAnchors?: string;
  /** The key of tamga's invisible watermark: a watermark found with it is a label (watermark layer) and hard evidence. */
  watermarkKey?: string;
  /** More watermark keys (with `watermarkKey`): a mark under any of them counts; the finding names the key by `keyFingerprint`, never the key. */
  watermarkKeys?: string[];
  /** A ledger file (`label --ledger`): files matching an entry, exactly or perceptually, are synthetic (`ledger-match` evidence). Opened read-only, once per scan. */
  ledger?: string;
}

export interface ScanOptions extends VerifyOptions {
  /** Files verified at once. Default 16. */
  concurrency?: number;
  /**
   * Worker threads that verify files beside the main thread: a number (0 = all in the main thread)
   * or `auto` (one per core, at most 8). The first files of a scan are verified in the main thread, so a
   * small scan never starts them. Default 0.
   */
  workers?: number | 'auto';
  /** Only files matching one of these globs (relative to the root; a pattern without `/` matches the base name). */
  include?: string[];
  /** Skip files and directories matching one of these globs. */
  exclude?: string[];
  /** Paths already verified (e.g. read from an earlier NDJSON report): skipped. */
  skip?: (absolutePath: string) => boolean;
}
