import { stat } from 'node:fs/promises';
import sharp from 'sharp';

/** Longest side of a report thumbnail, in CSS pixels. */
export const THUMBNAIL_SIZE = 96;
/** Files larger than this are never opened for a thumbnail (the scan itself may read only their headers). */
export const THUMBNAIL_MAX_FILE_BYTES = 32 * 1024 * 1024;
/** Images above this many pixels are refused before decoding (a 16k x 16k decompression bomb is 268 M). */
const THUMBNAIL_MAX_PIXELS = 50_000_000;
/** An encoded thumbnail above this is dropped: the report stays small whatever the images are. */
export const THUMBNAIL_MAX_BYTES = 16 * 1024;
const THUMBNAIL_TIMEOUT_SECONDS = 3;

/**
 * A small WebP of an image file as a `data:` URI with its size, or undefined when the file is not a readable
 * image, is too large, or takes too long: a report row never fails for want of a thumbnail.
 * JPEG's shrink-on-load keeps large photos cheap; other formats decode whole (hence the bounds).
 */
export async function thumbnailOf(path: string): Promise<{ uri: string; width: number; height: number } | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size === 0 || s.size > THUMBNAIL_MAX_FILE_BYTES) return undefined;
    const webp = await sharp(path, { limitInputPixels: THUMBNAIL_MAX_PIXELS, pages: 1, failOn: 'none' })
      .timeout({ seconds: THUMBNAIL_TIMEOUT_SECONDS })
      .autoOrient()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 60, effort: 2 })
      .toBuffer({ resolveWithObject: true });
    if (webp.data.length > THUMBNAIL_MAX_BYTES) return undefined;
    return { uri: `data:image/webp;base64,${webp.data.toString('base64')}`, width: webp.info.width, height: webp.info.height };
  } catch {
    return undefined;
  }
}
