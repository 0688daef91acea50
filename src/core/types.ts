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

/** What to do when the input already carries a C2PA manifest that our edit would invalidate. */
export type C2paConflict = 'error' | 'strip' | 'ignore';

export interface LabelOptions {
  /** Which policy decides the default layers. Default `kz`. */
  policy?: Policy;
  /** Render a visible disclosure. The visible layer lands with the disclosure issue; `false` keeps the lossless path. */
  visible?: boolean;
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
}

export interface DetectOptions {
  /** Do not emit raw informational findings (text chunks, comments). Default false. */
  labelsOnly?: boolean;
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
}

export interface DetectResult {
  source: string;
  format?: Format;
  kind?: MediaKind;
  findings: Finding[];
}
