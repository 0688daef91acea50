import type { Sharp } from 'sharp';
import { TamgaError } from '../core/errors.js';
import type { Format } from '../core/types.js';
import { probe, type ProbeData } from './ffmpeg.js';

/**
 * How tamga re-encodes media when a layer changes pixels or samples: the image encoder settings
 * and decode limits (sharp), and the audio encoder that keeps the input's codec (ffmpeg). The
 * visible layer and the watermark both re-encode through here.
 */

/** JPEG/WebP quality of the re-encode: the badge changes pixels, the rest should not visibly. */
export const REENCODE_QUALITY = 95;
/** libvips' own default limit (16383 x 16383): larger inputs are refused before decoding. */
export const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

/** A decode failure as the caller's error: over the pixel limit, or data sharp cannot decode (`what` needed it). */
export function asImageInputError(e: unknown, name: string, what: string): TamgaError {
  if (e instanceof TamgaError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) return new TamgaError('INPUT_TOO_LARGE', `${name}: image is larger than ${MAX_INPUT_PIXELS} pixels`, { limit: MAX_INPUT_PIXELS });
  return new TamgaError('CORRUPT_INPUT', `${name}: the image data could not be decoded for ${what}: ${msg}`);
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

/** Encoder per input codec: the cued file keeps the codec (and, for lossy ones, the bit rate). */
const ENCODERS: Record<string, (s: ProbeStreamInfo) => string[]> = {
  mp3: (s) => ['-c:a', 'libmp3lame', '-b:a', s.bitRate ? String(s.bitRate) : '192k'],
  aac: (s) => ['-c:a', 'aac', '-b:a', s.bitRate ? String(s.bitRate) : '192k'],
  alac: () => ['-c:a', 'alac'],
  flac: () => ['-c:a', 'flac'],
  opus: (s) => ['-c:a', 'libopus', '-b:a', s.bitRate ? String(s.bitRate) : '128k'],
  vorbis: () => ['-c:a', 'libvorbis', '-q:a', '6'],
};
/** Codecs each container may hold for the cue path; PCM is matched by prefix. */
const CONTAINER_CODECS: Record<string, readonly string[]> = { mp3: ['mp3'], m4a: ['aac', 'alac'], flac: ['flac'], ogg: ['opus', 'vorbis', 'flac'], wav: ['pcm_'] };

function encoderFor(format: string, s: ProbeStreamInfo): string[] {
  const allowed = CONTAINER_CODECS[format] ?? [];
  const ok = allowed.some((c) => (c.endsWith('_') ? s.codec.startsWith(c) : s.codec === c));
  // A PCM codec is written as itself; anything else (a FLAC stream behind an ID3 tag, ADPCM in WAV) is not re-encoded silently.
  if (!ok) throw new TamgaError('UNSUPPORTED_FORMAT', `a ${format} file holding ${s.codec || 'an unknown codec'} audio is not re-encoded by tamga`, { format, codec: s.codec });
  return s.codec.startsWith('pcm_') ? ['-c:a', s.codec] : ENCODERS[s.codec]!(s);
}
export const AUDIO_MUXERS: Record<string, string> = { mp3: 'mp3', m4a: 'ipod', flac: 'flac', wav: 'wav', ogg: 'ogg' };

export interface ProbeStreamInfo {
  codec: string;
  rate: number;
  channels: number;
  duration: number;
  bitRate?: number;
}

export function audioStreamOf(p: ProbeData, name: string): ProbeStreamInfo {
  const s = p.streams.find((x) => x.codec_type === 'audio');
  if (!s) throw new TamgaError('CORRUPT_INPUT', `${name}: no audio stream`, {});
  const duration = Number(s.duration ?? p.format.duration);
  const rate = Number(s.sample_rate);
  if (!Number.isFinite(duration) || duration <= 0 || !rate) throw new TamgaError('CORRUPT_INPUT', `${name}: audio stream without a duration or sample rate`, {});
  const bitRate = Number(s.bit_rate);
  return { codec: s.codec_name ?? '', rate, channels: s.channels ?? 2, duration, ...(Number.isFinite(bitRate) && bitRate > 0 ? { bitRate } : {}) };
}

/** How tamga re-encodes an audio file: its stream, the encoder arguments that keep its codec, and the muxer. */
export async function audioReencoding(input: string, format: string): Promise<{ stream: ProbeStreamInfo; encoder: string[]; muxer: string }> {
  const muxer = AUDIO_MUXERS[format];
  if (!muxer) throw new TamgaError('UNSUPPORTED_FORMAT', `${format} is not an audio format tamga re-encodes`, { format });
  const stream = audioStreamOf(await probe(input), input);
  return { stream, encoder: encoderFor(format, stream), muxer };
}


/** Interleaved float samples (ffmpeg's f32le) as `n` planar channels. */
export function planarOf(all: Float32Array, n: number): Float32Array[] {
  const frames = Math.floor(all.length / n);
  return Array.from({ length: n }, (_, c) => {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = all[i * n + c]!;
    return ch;
  });
}

/** Planar channels as interleaved float samples (ffmpeg's f32le input). */
export function interleavedOf(channels: readonly Float32Array[]): Float32Array {
  const n = channels.length;
  const frames = channels[0]?.length ?? 0;
  const out = new Float32Array(frames * n);
  for (let c = 0; c < n; c++) {
    const ch = channels[c]!;
    for (let i = 0; i < frames; i++) out[i * n + c] = ch[i]!;
  }
  return out;
}

/** Decoded float PCM above this is refused where a layer needs the whole signal in memory. */
export const MAX_PCM_BYTES = 1 << 30;
