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

export type { LabelMark, PolicyDefinition, Requirement, RequirementId } from '../core/policies/types.js';
import type { LabelMark, RequirementId } from '../core/policies/types.js';

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
