import { fileUrl, runFfmpeg } from '../media/ffmpeg.js';
import { dctHash64, hamming64, isFlat } from './fingerprint-image.js';

/**
 * Video fingerprint: one image hash (fingerprint-image.ts's DCT hash) per second of the first
 * video stream, from frames ffmpeg scales to 32x32 grey itself (so only 1 KiB per sample crosses
 * the pipe). Flat frames (black, fades) are dropped: they match every other flat frame.
 * A copy is matched when most of its sampled frames have a close frame in the entry.
 */

export const VIDEO_FINGERPRINT_METHOD = 'video-dct64-1fps/1';
/** Samples kept: the first two minutes at one frame per second. */
export const MAX_VIDEO_SAMPLES = 120;
const SIDE = 32;

export async function videoFingerprint(path: string): Promise<bigint[]> {
  const { stdout } = await runFfmpeg([
    '-i', fileUrl(path), '-map', '0:v:0', '-an', '-sn',
    '-vf', `fps=1,scale=${SIDE}:${SIDE}:flags=area,format=gray`,
    '-frames:v', String(MAX_VIDEO_SAMPLES), '-f', 'rawvideo', 'pipe:1',
  ]);
  const size = SIDE * SIDE;
  const out: bigint[] = [];
  for (let at = 0; at + size <= stdout.length; at += size) {
    const frame = stdout.subarray(at, at + size);
    if (!isFlat(frame)) out.push(dctHash64(frame));
  }
  return out;
}

/** How many of the query's frames have a frame in the entry within `maxDistance` bits. */
export function videoFramesMatched(query: readonly bigint[], entry: readonly bigint[], maxDistance: number): { matched: number; meanDistance: number } {
  let matched = 0;
  let sum = 0;
  for (const q of query) {
    let best = 65;
    for (const e of entry) {
      const d = hamming64(q, e);
      if (d < best) best = d;
      if (d === 0) break;
    }
    if (best <= maxDistance) (matched++, (sum += best));
  }
  return { matched, meanDistance: matched ? sum / matched : 0 };
}

export function hashesToBytes(hashes: readonly bigint[]): Uint8Array {
  const b = Buffer.alloc(hashes.length * 8);
  hashes.forEach((h, i) => b.writeBigUInt64BE(h, i * 8));
  return b;
}

export function hashesFromBytes(b: Uint8Array): bigint[] {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.byteLength >>> 3 }, (_, i) => buf.readBigUInt64BE(i * 8));
}
