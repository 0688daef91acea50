import type { EditPlan } from '../core/edit.js';
import type { ByteReader } from '../core/source.js';
import type { Format, ImageFormat } from '../core/types.js';

/**
 * The common shape of every image container module (style.md, after c2pa-rs asset handlers):
 * read the metadata carriers and where they sit, and plan a lossless write that replaces or
 * inserts the XMP carrier while every other byte range is copied verbatim.
 */

/** A metadata carrier in a file: its whole byte range (headers included) and a label for `where`. */
export interface Carrier {
  /** e.g. `jpeg:APP1-XMP`, `png:iTXt`, `webp:XMP`, `tiff:IFD0/700`, `gif:XMP`. */
  name: string;
  offset: number;
  length: number;
}

/** `where` strings in Findings: `name@offset`. */
export const whereOf = (c: Carrier): string => `${c.name}@${c.offset}`;

export interface TextEntry {
  /** PNG keyword (tEXt/zTXt/iTXt), `comment` for JPEG COM / GIF comment extensions. */
  keyword: string;
  text: string;
  carrier: Carrier;
  /** iTXt language tag, when present. */
  lang?: string;
}

export interface ContainerMetadata {
  format: ImageFormat;
  /** The XMP packet (for JPEG with extended XMP, the main packet; see `extendedXmp`). */
  xmp?: { packet: Uint8Array; carrier: Carrier };
  /** JPEG only: reassembled extended XMP (checked against its GUID when complete). */
  extendedXmp?: { packet: Uint8Array; guid: string; carrier: Carrier };
  /** A TIFF-structured EXIF block (JPEG APP1 `Exif\0\0` payload, PNG eXIf, WebP EXIF). For TIFF files, the file itself. */
  exif?: { tiff: Uint8Array; carrier: Carrier } | { fileIsTiff: true; carrier: Carrier };
  /** Text chunks and comments, raw (non-XMP). */
  texts: TextEntry[];
  /** A C2PA manifest store carrier (JPEG APP11 JUMBF, PNG caBX, RIFF C2PA, GIF C2PA_GIF, TIFF 0xCD41). */
  c2pa?: Carrier;
  /** The container's own structure as read() found it, so planWrite() need not walk the file again. */
  layout?: unknown;
}

export interface MetadataWrite {
  /** The complete XMP packet to store (replaces the existing carrier, or is inserted). */
  xmp: Uint8Array;
  /** ASCII/UTF-8 IFD0 tags to set in EXIF (JPEG: the EXIF APP1, created if missing; TIFF: IFD0 of the file). Tag -> text. */
  exifIfd0Text?: Record<number, string>;
  /** Remove the C2PA manifest store (its signature would no longer match after our edit). */
  stripC2pa?: boolean;
}

export interface ImageContainer {
  readonly format: ImageFormat;
  /** Parses the container structure (validating it) and returns its metadata carriers. */
  read(reader: ByteReader): Promise<ContainerMetadata>;
  /** Plans a lossless write; pixels/codestream bytes are copied, never decoded. */
  planWrite(reader: ByteReader, meta: ContainerMetadata, write: MetadataWrite): Promise<EditPlan>;
}

// ---------------------------------------------------------------------------------------------
// Audio and video containers: the same read/planWrite shape, with the text fields these
// containers carry beside (or instead of) XMP.

/** One text field of an audio/video container: ID3 TXXX/COMM/T***, a Vorbis comment, an MP4 ilst item, RIFF INFO. */
export interface AvText {
  /** Finding kind of the raw field, e.g. `id3:txxx`, `id3:comm`, `vorbis:comment`, `mp4:udta`, `riff:info`. */
  kind: string;
  /** Description (TXXX/COMM), field name (Vorbis), atom or freeform name (MP4), INFO id. */
  key: string;
  text: string;
  carrier: Carrier;
  lang?: string;
}

export interface AvMetadata {
  format: Format;
  xmp?: { packet: Uint8Array; carrier: Carrier };
  texts: AvText[];
  /** A C2PA manifest store carrier (RIFF `C2PA`, ID3 GEOB `application/c2pa`, BMFF uuid D8FEC3D6...). */
  c2pa?: Carrier;
}

/** What the audio/video adapter asks a container to write. Containers without an XMP carrier skip `xmp`. */
export interface AvMetadataWrite {
  xmp: Uint8Array;
  /** The disclosure line (ID3 COMM, RIFF ICMT, Vorbis COMMENT, MP4 ©cmt). */
  comment: string;
  /** The disclosure this container carried from an earlier tamga label, replaced rather than kept beside the new one. */
  previousComment?: string;
  /** TC260 generic extension-field JSON (`{"AIGC":{...}}`, labelling-standards.md §4.4). */
  aigc: string;
  /** tamga's record as JSON (the Provenance), for containers that carry no XMP. */
  tamga: string;
  stripC2pa?: boolean;
}

export interface AvContainer {
  readonly formats: readonly Format[];
  /** Reads the metadata carriers from headers only (never the audio/video payload). */
  read(reader: ByteReader, format: Format): Promise<AvMetadata>;
  /** Plans a lossless write: samples and frames are copied byte for byte. */
  planWrite(reader: ByteReader, meta: AvMetadata, write: AvMetadataWrite): Promise<EditPlan>;
}

/** Upper bound on a packet we parse (extended XMP in JPEG can legally be large). */
export const MAX_XMP_BYTES = 32 * 1024 * 1024;
