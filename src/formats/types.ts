import type { EditPlan } from '../core/edit.js';
import type { ByteReader } from '../core/source.js';
import type { ImageFormat } from '../core/types.js';

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
