import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { TamgaError } from '../core/errors.js';
import { BufferReader, type ByteReader } from '../core/source.js';
import type { Finding, Format } from '../core/types.js';
import { encodeAs } from '../disclosure/apply.js';
import { detectImageWatermark, embedImageWatermark, MIN_WATERMARK_SIDE, type RawImage } from './image.js';
import { watermarkIdOf } from './payload.js';

/** libvips' default pixel limit: larger inputs are refused before decoding (decompression bombs). */
const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;
/** Detection works at a 256 px short side; decoding at up to 4x that keeps shrink-on-load cheap. */
const DETECT_SHORT_SIDE = 1024;

function decodeError(e: unknown, name: string): TamgaError {
  if (e instanceof TamgaError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) return new TamgaError('INPUT_TOO_LARGE', `${name}: image is larger than ${MAX_INPUT_PIXELS} pixels`, { limit: MAX_INPUT_PIXELS });
  return new TamgaError('CORRUPT_INPUT', `${name}: the image data could not be decoded for the watermark: ${msg}`);
}

/** A short public fingerprint of a key, so findings can say which key matched without revealing it. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(`tamga/watermark-key\0${key}`).digest('hex').slice(0, 12);
}

/**
 * Embeds the 8-byte `id` under `key` in every frame and re-encodes in the input's format (high
 * quality), keeping EXIF/ICC/XMP. Returns `skipped` with the reason for GIFs (a 256-colour palette
 * erases the mark) and for images too small to carry it.
 */
async function markImage(input: ByteReader, format: Format, id: Uint8Array, key: string): Promise<{ bytes: Uint8Array } | { skipped: string }> {
  if (format === 'gif') return { skipped: "GIF's 256-colour palette cannot carry the luminance watermark" };
  const bytes = await input.read(0, input.size);
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    const animated = format === 'webp' && (meta.pages ?? 1) > 1;
    const base = sharp(bytes, { animated, limitInputPixels: MAX_INPUT_PIXELS });
    const upright = animated ? base : base.autoOrient();
    const { data, info } = await upright.clone().raw().toBuffer({ resolveWithObject: true });
    const frameH = animated ? (meta.pageHeight ?? info.height) : info.height;
    const frames = animated ? Math.round(info.height / frameH) : 1;
    if (Math.min(info.width, frameH) < MIN_WATERMARK_SIDE) return { skipped: `the image is smaller than ${MIN_WATERMARK_SIDE} px on its short side` };
    const frameBytes = info.width * frameH * info.channels;
    const marked = Buffer.alloc(data.length);
    for (let f = 0; f < frames; f++) {
      const frame: RawImage = { data: data.subarray(f * frameBytes, (f + 1) * frameBytes), width: info.width, height: frameH, channels: info.channels };
      marked.set(embedImageWatermark(frame, id, key), f * frameBytes);
    }
    // Composite the marked pixels over the original ('source' replaces them), so the original's
    // metadata travels with keepMetadata exactly as in the visible step.
    const composited = upright
      .composite([{ input: marked, raw: { width: info.width, height: info.height, channels: info.channels }, left: 0, top: 0, blend: 'source' }]);
    // Compositing always yields sRGB with alpha: drop the alpha again when the input had none,
    // and go back to one grey channel for a grey input, so the output has the input's channels.
    const flat = meta.hasAlpha ? composited : composited.removeAlpha();
    const img = ((meta.channels ?? 3) <= 2 ? flat.toColourspace('b-w') : flat).keepMetadata();
    const out = await encodeAs(img, format, bytes).toBuffer();
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.length) };
  } catch (e) {
    throw decodeError(e, input.name);
  }
}

/** The image pipeline's watermark step: the content id's mark, as a new reader for the metadata step. */
export async function watermarkImageStep(input: ByteReader, format: Format, contentId: string, key: string): Promise<{ reader: BufferReader } | { skipped: string }> {
  const r = await markImage(input, format, watermarkIdOf(contentId), key);
  return 'skipped' in r ? r : { reader: new BufferReader(r.bytes, input.name, input.path) };
}

/** Embeds an explicit 8-byte payload (`tamga watermark embed`); an image that cannot carry it is an error. */
export async function embedImageWatermarkBytes(input: ByteReader, format: Format, payload: Uint8Array, key: string): Promise<Uint8Array> {
  const r = await markImage(input, format, payload, key);
  if ('skipped' in r) throw new TamgaError('UNSUPPORTED_FORMAT', `${input.name}: cannot watermark: ${r.skipped}`);
  return r.bytes;
}

/** Looks for tamga's watermark under each key, on a downscaled decode of the first frame. */
export async function watermarkFindings(reader: ByteReader, keys: readonly string[]): Promise<Finding[]> {
  if (!keys.length) return [];
  const bytes = await reader.read(0, reader.size);
  let image: RawImage;
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    const short = Math.min(meta.width ?? 0, meta.pageHeight ?? meta.height ?? 0);
    let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, pages: 1 }).autoOrient();
    if (short > DETECT_SHORT_SIDE) {
      const scale = DETECT_SHORT_SIDE / short;
      pipeline = pipeline.resize(Math.round((meta.width ?? 0) * scale), Math.round((meta.pageHeight ?? meta.height ?? 0) * scale), { fit: 'fill' });
    }
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    image = { data, width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    throw decodeError(e, reader.name);
  }
  const out: Finding[] = [];
  for (const key of keys) {
    const hit = detectImageWatermark(image, key);
    if (!hit) continue;
    out.push({
      layer: 'watermark',
      kind: 'watermark:tamga',
      value: { id: Buffer.from(hit.payload).toString('hex'), key: keyFingerprint(key), pValue: hit.pValue, syncZ: Number(hit.syncZ.toFixed(2)), scale: Number(hit.scale.toFixed(3)) },
      confidence: 1 - hit.pValue,
      where: 'pixels',
    });
  }
  return out;
}
