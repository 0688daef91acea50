import { TamgaError } from '../core/errors.js';
import { audioReencoding } from '../media/cue.js';
import { fileUrl, runFfmpeg } from '../media/ffmpeg.js';
import { embedAudioWatermark } from './audio.js';
import { watermarkIdOf } from './payload.js';

/** Decoded float PCM above this is refused: the mark is computed over the whole signal in memory. */
export const MAX_PCM_BYTES = 1 << 30;

/**
 * The audio pipeline's watermark step: decodes `input`, adds the content id's mark under `key`
 * and re-encodes with the input's own codec (and bit rate), keeping its tags for the metadata step.
 */
export async function addAudioWatermark(input: string, format: string, output: string, contentId: string, key: string): Promise<void> {
  const { stream, encoder, muxer } = await audioReencoding(input, format);
  const n = stream.channels;
  if (stream.duration * stream.rate * n * 4 > MAX_PCM_BYTES) {
    throw new TamgaError('INPUT_TOO_LARGE', `${input}: audio too long to watermark in memory (${Math.round(stream.duration)} s)`, { limit: MAX_PCM_BYTES });
  }
  const marked = await markedChannels(input, n, stream.rate, watermarkIdOf(contentId), key);
  const all = interleave(marked);
  await runFfmpeg(
    ['-y', '-f', 'f32le', '-ar', String(stream.rate), '-ac', String(n), '-i', 'pipe:0', '-i', fileUrl(input), '-map', '0:a', '-map_metadata', '1', ...encoder, '-f', muxer, fileUrl(output)],
    { stdin: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) },
  );
}

/** The first audio stream of `path` decoded and marked; a refusal (too short) names the file. */
export async function markedChannels(path: string, n: number, rate: number, id: Uint8Array, key: string): Promise<Float32Array[]> {
  const channels = await decodeChannels(path, n, rate);
  try {
    return embedAudioWatermark(channels, rate, id, key);
  } catch (e) {
    if (e instanceof TamgaError && e.code === 'UNSUPPORTED_FORMAT') throw new TamgaError(e.code, `${path}: ${e.message.replace(/^audio watermark: /, '')}`, e.details);
    throw e;
  }
}

/** The first audio stream of `path` decoded to `n` float channels at `rate`. */
export async function decodeChannels(path: string, n: number, rate: number): Promise<Float32Array[]> {
  const { stdout } = await runFfmpeg(['-i', fileUrl(path), '-map', '0:a:0', '-f', 'f32le', '-ac', String(n), '-ar', String(rate), 'pipe:1']);
  const all = new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
  const frames = Math.floor(all.length / n);
  return Array.from({ length: n }, (_, c) => {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = all[i * n + c]!;
    return ch;
  });
}

/** Planar channels to interleaved samples (what ffmpeg's f32le input expects). */
export function interleave(channels: readonly Float32Array[]): Float32Array {
  const n = channels.length;
  const out = new Float32Array(channels[0]!.length * n);
  for (let c = 0; c < n; c++) for (let i = 0; i < channels[c]!.length; i++) out[i * n + c] = channels[c]![i]!;
  return out;
}
