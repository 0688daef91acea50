import type { C2paKeyPair, C2paSigner } from '../metadata/cose.js';
import type { Provenance } from './provenance.js';

export type MediaKind = 'image' | 'audio' | 'video' | 'text' | 'pdf';

/** Container formats tamga can recognise from magic bytes (not all have an adapter yet). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'heif' | 'avif' | 'bmp' | 'jxl' | 'svg';
export type AudioFormat = 'mp3' | 'wav' | 'flac' | 'ogg' | 'm4a' | 'aac';
export type VideoFormat = 'mp4' | 'mov' | 'webm' | 'mkv' | 'avi';
export type DocumentFormat = 'pdf' | 'text';
export type Format = ImageFormat | AudioFormat | VideoFormat | DocumentFormat;

export interface SniffResult {
  kind: MediaKind;
  format: Format;
  mime: string;
}

export type Layer = 'visible' | 'metadata' | 'c2pa' | 'watermark' | 'signal';

/**
 * One piece of evidence found in a file. The shape is the stable contract of `detect()` and of
 * `tamga detect --json`: see README "Findings".
 */
export interface Finding {
  layer: Layer;
  /** Exact source, e.g. `xmp:iptc-digital-source-type`, `exif:software`, `png:text`. */
  kind: string;
  value?: unknown;
  /** 0..1: how sure tamga is that the finding is what `kind` says (1 for parsed metadata). */
  confidence: number;
  /** Where in the file, e.g. `jpeg:APP1@2`, `png:iTXt@33`. */
  where?: string;
}

export type Policy = 'kz' | 'eu' | 'cn' | 'ca';

export type VisiblePosition = 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left' | 'bottom' | 'top';

/** What to do when the input already carries a C2PA manifest that our edit would invalidate. */
export type C2paConflict = 'error' | 'strip' | 'ignore';

export interface LabelOptions {
  /** Which policy decides the default layers. Default `kz`. */
  policy?: Policy;
  /** Render a visible disclosure badge (re-encodes the pixels). Default by policy; `false` keeps the lossless metadata-only path. */
  visible?: boolean;
  /** Where the visible badge goes: a corner, or a full-width `top` / `bottom` band. Default `bottom-right`. */
  position?: VisiblePosition;
  /** Cap height of the badge text as a percentage of the image's shortest side (1..50). Default 5 (GB 45438-2025), never below 12 px. */
  size?: number;
  /** Write machine-readable metadata (XMP, EXIF...). Default true. */
  metadata?: boolean;
  /** Disclosure language(s) for text written into metadata, e.g. ['kk', 'ru']. Default by policy. */
  lang?: string[];
  /** Replace the catalogue's disclosure text. */
  disclosureText?: string;
  /** See C2paConflict. Default `error`. */
  onExistingC2pa?: C2paConflict;
  /** Output path when the source is a path; ignored for Buffers. */
  output?: string;
  /** Write over the input (kept intact until the new file is complete and verified). */
  inPlace?: boolean;
  /** Replace an existing output file. Default true for explicit paths. */
  overwrite?: boolean;
  /** Sign a C2PA manifest as the last layer (see C2paLabelOptions). Off unless given. */
  c2pa?: C2paLabelOptions;
  /**
   * Reserve the work against AI training in every layer written: XMP `plus:DataMining` =
   * `DMI-PROHIBITED-AIMLTRAINING`, and, when signing C2PA, `cawg.training-mining` with AI training
   * (generative and other) `notAllowed` (labelling-standards.md §9.7). Default false.
   */
  reserveTraining?: boolean;
  /** Text: where the visible disclosure line goes. Default `start`. */
  textPosition?: 'start' | 'end' | 'both';
  /** Text (JSON answers of LLM APIs): the keys whose string values are the generated text. Default `['content', 'text']`. */
  jsonFields?: string[];
  /**
   * Key of the invisible watermark, for text and images (any secret string, at least 8
   * characters). Without it nothing is watermarked: a documented default key would let anyone
   * forge or strip the mark.
   */
  watermarkKey?: string;
  /** PDF: also put a notice at the top of the first page (besides the stamp on every page). Default false. */
  firstPageNotice?: boolean;
  /** Audio: the audible disclosure written when the visible layer is on (the audio re-encoded with its own codec). */
  audibleCue?: AudibleCueOptions;
  /** Video: how the on-screen badge is written when the visible layer is on (the video re-encoded). */
  onScreen?: OnScreenOptions;
  /** Record the labelled output in this ledger file (SQLite, created if absent): content id, SHA-256, perceptual fingerprint, provider, time. */
  ledger?: string;
}

/** The on-screen label of video. */
export interface OnScreenOptions {
  /** Show the badge for the first this many seconds (at least 2, GB 45438 §5.4). Default: the whole duration. */
  seconds?: number;
  /** x264/x265/VP9 constant rate factor of the re-encode. Default 18. */
  crf?: number;
  /** x264/x265 preset. Default `medium`. */
  preset?: string;
}

/** The audible disclosure of audio: tamga's rhythm cue (GB 45438 "short-long-short-short") before the content, or your clip. */
export interface AudibleCueOptions {
  /** A clip to play instead of the rhythm cue (e.g. a spoken disclosure); a file path ffmpeg reads. */
  clip?: string;
  /** Also mix the cue into the content every this many minutes. */
  everyMinutes?: number;
  /** Also put the cue after the end. Default true. */
  atEnd?: boolean;
}

/**
 * C2PA signing: a PEM chain + key (contents, or paths to PEM files), or a signer callback that
 * signs with a KMS/HSM. `reserveTraining` adds `cawg.training-mining` with AI training `notAllowed`.
 */
export type C2paLabelOptions = (C2paKeyPair | { signer: C2paSigner }) & { reserveTraining?: boolean };

export interface DetectOptions {
  /** Do not emit raw informational findings (text chunks, comments). Default false. */
  labelsOnly?: boolean;
  /** Scan the pixels for tamga's visible badges (decodes a downscaled copy). Default true; false reads headers only. */
  visible?: boolean;
  /** Also OCR the image for third-party disclosures ("AI-generated", "Made with AI"...). Needs tesseract.js. Default false. */
  ocr?: boolean;
  /**
   * PEM bundle (contents or a path) of the roots whose signers a C2PA manifest may chain to. Without
   * it no signer is trusted, and an intact manifest reports validationState `untrusted`.
   */
  trustAnchors?: string;
  /**
   * Read a file source with synchronous calls: faster when a scanner verifies many local files
   * (each async fs call costs a thread-pool round trip), but each read blocks the event loop. Default false.
   */
  syncReads?: boolean;
  /** The watermark key to look for in text and images (a tamga watermark is only found with its key). */
  watermarkKey?: string;
  /** More keys to try (with `watermarkKey`): the media is decoded once and each key found gives its own finding, named by `keyFingerprint`. */
  watermarkKeys?: string[];
  /**
   * PDF pages whose text is searched for a disclosure stamp: `all` (default: `pagesWithout` lists
   * every unstamped page) or `first-last`, the pages a stamp on every page is on (what `scan` reads).
   */
  pdfStampPages?: 'all' | 'first-last';
}

export interface LabelResult {
  format: Format;
  kind: MediaKind;
  provenance: Provenance;
  /** Layers written, e.g. ['metadata']. */
  layers: Layer[];
  /** Present when the output was written to a file. */
  output?: string;
  /** Present when the source was a Buffer (or no output path was given for a stream). */
  data?: Uint8Array;
  /** Layers the options or policy asked for that could not be written, and why. */
  skipped?: { layer: Layer; reason: string }[];
  /** Bytes of the output. */
  bytes: number;
  /** With `ledger`: where the output was recorded and its fingerprint method (absent: SHA-256 only). */
  ledger?: { path: string; fingerprint?: string };
}

export interface DetectResult {
  source: string;
  format?: Format;
  kind?: MediaKind;
  findings: Finding[];
}
