import sharp, { type Metadata } from 'sharp';
import { TamgaError } from '../core/errors.js';
import type { VisiblePosition } from '../core/types.js';
import { asImageInputError, encodeAs, MAX_INPUT_PIXELS } from '../media/codec.js';
import type { Provenance } from '../core/provenance.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import type { Format } from '../core/types.js';
import { layoutBadge, MIN_TEXT_PX, type BadgeLayout, type BadgeSpec } from './badge.js';
import { disclosureTexts, type DisclosureLang } from './catalogue.js';

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
/** Decoded frames stacked top to bottom (`frameHeight` each), as sharp's raw output gives them. */
export interface RawFrames {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  frameHeight: number;
}

/**
 * `markPixels`: a further pixel layer (the watermark) applied to the badged pixels before the one
 * encode, so a file that takes both layers is decoded and encoded once (no second lossy generation).
 */
export async function applyBadge(bytes: Uint8Array, format: Format, spec: BadgeSpec, name = '<buffer>', markPixels?: (frames: RawFrames) => Buffer): Promise<VisibleResult> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (e) {
    throw asImageInputError(e, name, 'the visible layer');
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
    const base = () => {
      const b = sharp(bytes, { animated, limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: upright });
      return !animated && !upright ? b.autoOrient() : b;
    };
    let img = base().composite(layers).keepMetadata();
    if (markPixels) {
      const { data, info } = await img.clone().raw().toBuffer({ resolveWithObject: true });
      const marked = markPixels({ data, width: info.width, height: info.height, channels: info.channels, frameHeight: animated ? frameH : info.height });
      // The marked pixels ('source') replace the decoded ones; the input's metadata travels as in the badge-only path.
      img = base().composite([{ input: marked, raw: { width: info.width, height: info.height, channels: info.channels }, left: 0, top: 0, blend: 'source' }]).keepMetadata();
    }
    const out = await encodeAs(img, format, bytes).toBuffer();
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.length), badge, frames };
  } catch (e) {
    if (e instanceof TamgaError) throw e;
    throw asImageInputError(e, name, 'the visible layer');
  }
}

/** The badge's lines: the caller's own text, or the catalogue's short text in each language. */
/** The options the badge reads (ResolvedLabelOptions' visible-layer part). */
export interface BadgeOptions {
  disclosureText?: string;
  langs: DisclosureLang[];
  position: VisiblePosition;
  sizePercent: number;
}

export function badgeSpecFor(p: Provenance, opts: BadgeOptions): BadgeSpec {
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
export async function visibleStep(input: ByteReader, format: Format, p: Provenance, opts: BadgeOptions, markPixels?: (frames: RawFrames) => Buffer): Promise<VisibleResult & { reader: BufferReader }> {
  const bytes = await input.read(0, input.size);
  const r = await applyBadge(bytes, format, badgeSpecFor(p, opts), input.name, markPixels);
  return { ...r, reader: new BufferReader(r.bytes, input.name, input.path) };
}
