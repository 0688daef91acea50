import sharp, { type Metadata, type Sharp } from 'sharp';
import { TamgaError } from '../core/errors.js';
import type { ResolvedLabelOptions } from '../adapters/types.js';
import type { Provenance } from '../core/provenance.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import type { Format } from '../core/types.js';
import { layoutBadge, MIN_TEXT_PX, type BadgeLayout, type BadgeSpec } from './badge.js';
import { disclosureTexts } from './catalogue.js';

/** JPEG/WebP quality of the re-encode: the badge changes pixels, the rest should not visibly. */
export const REENCODE_QUALITY = 95;
/** libvips' own default limit (16383 x 16383): larger inputs are refused before decoding. */
const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

function asInputError(e: unknown, name: string): TamgaError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) return new TamgaError('INPUT_TOO_LARGE', `${name}: image is larger than ${MAX_INPUT_PIXELS} pixels`, { limit: MAX_INPUT_PIXELS });
  return new TamgaError('CORRUPT_INPUT', `${name}: the image data could not be decoded for the visible layer: ${msg}`);
}

/** A WebP file whose image data is VP8L (lossless) and has no lossy VP8 chunk. */
function isLosslessWebp(bytes: Uint8Array): boolean {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1 << 16)).toString('latin1');
  return s.includes('VP8L') && !s.includes('VP8 ');
}

export function encodeAs(img: Sharp, format: Format, bytes: Uint8Array): Sharp {
  switch (format) {
    case 'jpeg':
      // 4:4:4 keeps the thin strokes of the text free of chroma bleeding.
      return img.jpeg({ quality: REENCODE_QUALITY, chromaSubsampling: '4:4:4' });
    case 'png':
      return img.png({ compressionLevel: 6 });
    case 'webp':
      return isLosslessWebp(bytes) ? img.webp({ lossless: true }) : img.webp({ quality: REENCODE_QUALITY, alphaQuality: 100 });
    case 'gif':
      return img.gif({ effort: 7 });
    case 'tiff':
      return img.tiff({ compression: 'lzw' });
    default:
      throw new TamgaError('UNSUPPORTED_FORMAT', `the visible layer cannot re-encode ${format}`, { format });
  }
}

export interface VisibleResult {
  bytes: Uint8Array;
  badge: BadgeLayout;
  frames: number;
}

/**
 * Draws the badge on every frame and re-encodes in the input's format at high quality. The
 * image is turned upright first (EXIF orientation), so the badge lands where a viewer sees the
 * corner; EXIF, ICC and XMP are carried over for the metadata step to merge into.
 */
export async function applyBadge(bytes: Uint8Array, format: Format, spec: BadgeSpec, name = '<buffer>'): Promise<VisibleResult> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (e) {
    throw asInputError(e, name);
  }
  if (format === 'tiff' && (meta.pages ?? 1) > 1) {
    // Re-encoding would keep only the first page; a multi-page document needs each page stamped.
    throw new TamgaError('UNSUPPORTED_FORMAT', `${name}: a multi-page TIFF (${meta.pages} pages) cannot take the visible badge; label it with visible off (--no-visible)`, { format });
  }
  const animated = (format === 'gif' || format === 'webp') && (meta.pages ?? 1) > 1;
  const frames = animated ? meta.pages! : 1;
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height! : meta.width!;
  const frameH = animated ? (meta.pageHeight ?? meta.height!) : swap ? meta.width! : meta.height!;
  const badge = layoutBadge(width, frameH, spec);
  try {
    const overlay = await sharp(Buffer.from(badge.svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const raw = { width: overlay.info.width, height: overlay.info.height, channels: 4 as const };
    const layers = Array.from({ length: frames }, (_, i) => ({ input: overlay.data, raw, left: badge.left, top: i * frameH + badge.top }));
    // Sequential access lets libvips stream a huge image in strips; a rotation needs random access.
    const upright = (meta.orientation ?? 1) === 1;
    let img = sharp(bytes, { animated, limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: upright });
    if (!animated && !upright) img = img.autoOrient();
    img = img.composite(layers).keepMetadata();
    const out = await encodeAs(img, format, bytes).toBuffer();
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.length), badge, frames };
  } catch (e) {
    if (e instanceof TamgaError) throw e;
    throw asInputError(e, name);
  }
}

/** The badge's lines: the caller's own text, or the catalogue's short text in each language. */
export function badgeSpecFor(p: Provenance, opts: ResolvedLabelOptions): BadgeSpec {
  const custom = opts.disclosureText !== undefined;
  return {
    texts: custom ? [{ text: opts.disclosureText! }] : disclosureTexts(p.digitalSourceType, opts.langs, 'short'),
    langs: custom ? [] : opts.langs,
    position: opts.position,
    sizePercent: opts.sizePercent,
    minTextPx: MIN_TEXT_PX,
  };
}

/**
 * The image pipeline's visible step: the re-encoded file as a new reader, on which the metadata
 * step then plans its lossless write as it would on any input.
 */
export async function visibleStep(input: ByteReader, format: Format, p: Provenance, opts: ResolvedLabelOptions): Promise<VisibleResult & { reader: BufferReader }> {
  const bytes = await input.read(0, input.size);
  const r = await applyBadge(bytes, format, badgeSpecFor(p, opts), input.name);
  return { ...r, reader: new BufferReader(r.bytes, input.name, input.path) };
}
