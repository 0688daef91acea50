import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { concat, latin1 } from '../core/bytes.js';
import { TamgaError } from '../core/errors.js';
import { BufferReader } from '../core/source.js';
import { readFlacBlocks } from '../formats/flac.js';
import { synchsafe } from '../formats/id3.js';
import { readRiffChunks } from '../formats/riff.js';
import { fileUrl, probe, runFfmpeg, type ProbeStream } from '../media/ffmpeg.js';
import { interleave, markedChannels, MAX_PCM_BYTES } from './audio-layer.js';

/**
 * `tamga watermark embed` for audio: only the samples change. The output keeps the input's
 * channels, rate and sample format (a 24-bit or float WAV stays 24-bit or float, a 16-bit FLAC
 * stays 16-bit) and its metadata, tamga's own label included:
 * - WAV in, WAV out: the marked samples are written in the input's own PCM format into its
 *   `data` chunk; every other chunk (LIST, id3, _PMX, c2pa...) is kept byte for byte.
 * - FLAC in, FLAC out: re-encoded at the input's bit depth; every metadata block of the input
 *   except STREAMINFO and SEEKTABLE (which describe the new frames) is carried over.
 * - MP3 in, MP3 out: re-encoded at the input's bit rate; the input's ID3v2 tag (and ID3v1) is
 *   put back as it was.
 * - anything else: re-encoded by the output's extension with ffmpeg's tag mapping (`-map_metadata`).
 */

/** PCM codecs ffmpeg can also write as a headerless stream of the same name (`-f s24le`). */
const RAW_PCM = new Set(['pcm_u8', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_f64le']);

function extFormat(path: string): string {
  return extname(path).toLowerCase().replace(/^\./, '').replace('aac', 'm4a').replace('opus', 'ogg');
}

/** Bits per sample of the input's stream (integer PCM, FLAC, ALAC), or 'float', or undefined for a lossy codec. */
function inputDepth(s: ProbeStream): number | 'float' | undefined {
  const codec = s.codec_name ?? '';
  if (/^pcm_f/.test(codec)) return 'float';
  const bits = Number(s.bits_per_raw_sample) || Number(s.bits_per_sample) || (codec.startsWith('pcm_') ? Number(/(\d+)/.exec(codec)?.[1]) : 0);
  return bits > 0 ? bits : undefined;
}

function pcmCodecFor(depth: number | 'float' | undefined): string {
  if (depth === 'float') return 'pcm_f32le';
  if (depth === undefined || depth <= 16) return depth !== undefined && depth <= 8 ? 'pcm_u8' : 'pcm_s16le';
  return depth <= 24 ? 'pcm_s24le' : 'pcm_s32le';
}

/** Encoder arguments for `output` keeping the input stream's depth (lossless) or a high bit rate (lossy). */
function encoderFor(output: string, s: ProbeStream): string[] {
  const depth = inputDepth(s);
  const bitRate = Number(s.bit_rate);
  const rate = (fallback: string) => (Number.isFinite(bitRate) && bitRate > 0 ? String(Math.max(bitRate, 64000)) : fallback);
  switch (extFormat(output)) {
    case 'wav':
      return ['-c:a', RAW_PCM.has(s.codec_name ?? '') ? s.codec_name! : pcmCodecFor(depth)];
    case 'flac':
      // FLAC has no float samples: float input is kept at 24 bits.
      return depth === 'float' || (depth ?? 16) > 16 ? ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24'] : ['-c:a', 'flac', '-sample_fmt', 's16'];
    case 'mp3':
      return ['-c:a', 'libmp3lame', '-b:a', rate('256k')];
    case 'm4a':
      return ['-c:a', 'aac', '-b:a', rate('256k')];
    case 'ogg':
      return ['-c:a', 'libopus', '-b:a', rate('192k')];
    default:
      throw new TamgaError('INVALID_OPTION', `output: no audio encoder for ${extname(output) || 'a file without extension'} (use .wav, .flac, .mp3, .m4a, .ogg)`, { option: 'output' });
  }
}

const MUXER: Record<string, string> = { wav: 'wav', flac: 'flac', mp3: 'mp3', m4a: 'ipod', ogg: 'ogg' };

/** The ID3v2 tag at the start of `b` (header, frames, footer), or an empty array. */
function leadingId3(b: Uint8Array): Uint8Array {
  if (b.length < 10 || latin1(b.subarray(0, 3)) !== 'ID3') return b.subarray(0, 0);
  const size = 10 + synchsafe(b, 6) + (b[5]! & 0x10 ? 10 : 0);
  return b.subarray(0, Math.min(size, b.length));
}

/** The 128-byte ID3v1 tag at the end of `b`, or an empty array. */
function trailingId3v1(b: Uint8Array): Uint8Array {
  return b.length >= 128 && latin1(b.subarray(b.length - 128, b.length - 125)) === 'TAG' ? b.subarray(b.length - 128) : b.subarray(0, 0);
}

/** WAV: the input's bytes with the `data` chunk's payload replaced by `samples` (same length, same format). */
async function spliceWavData(original: Uint8Array, samples: Uint8Array, name: string): Promise<Uint8Array> {
  const riff = await readRiffChunks(new BufferReader(original, name), 'wav', { lenient: true });
  const data = riff.chunks.find((c) => c.id === 'data');
  if (!data || data.size !== samples.length) throw new TamgaError('CORRUPT_INPUT', `${name}: the WAV data chunk (${data?.size ?? 0} bytes) does not match its decoded samples (${samples.length} bytes)`);
  const out = Uint8Array.from(original);
  out.set(samples, data.dataOffset);
  return out;
}

/** FLAC: `encoded`'s STREAMINFO and frames, with every other metadata block taken from `original`. */
async function carryFlacBlocks(original: Uint8Array, encoded: Uint8Array, name: string): Promise<Uint8Array> {
  const src = await readFlacBlocks(new BufferReader(original, name));
  const enc = await readFlacBlocks(new BufferReader(encoded, 'encoded FLAC'));
  const streamInfo = enc.blocks[0]!;
  const kept = [streamInfo, ...src.blocks.filter((b) => b.type !== 0 && b.type !== 3)];
  // A leading ID3v2 tag of the original (readFlacBlocks' `start`) is kept in front of `fLaC`.
  const parts: Uint8Array[] = [original.subarray(0, src.start), encoded.subarray(enc.start, enc.start + 4)];
  kept.forEach((b, i) => {
    const from = b === streamInfo ? encoded : original;
    const block = Uint8Array.from(from.subarray(b.offset, b.offset + 4 + b.length));
    block[0] = (i === kept.length - 1 ? 0x80 : 0) | b.type;
    parts.push(block);
  });
  parts.push(encoded.subarray(enc.audioStart));
  return concat(parts);
}

/** Reads `input`, marks its samples under `key` and returns the bytes of `output` (see the module note). */
export async function watermarkAudioFileBytes(input: string, inputFormat: string, output: string, payload: Uint8Array, key: string): Promise<Uint8Array> {
  const info = await probe(input);
  const stream = info.streams.find((s) => s.codec_type === 'audio');
  if (!stream) throw new TamgaError('CORRUPT_INPUT', `${input}: no audio stream`, { path: input });
  const rate = Number(stream.sample_rate);
  const n = stream.channels ?? 0;
  if (!(rate > 0) || !(n > 0)) throw new TamgaError('CORRUPT_INPUT', `${input}: audio stream without a sample rate or channel count`, { path: input });
  const duration = Number(stream.duration ?? info.format.duration);
  if (Number.isFinite(duration) && duration * rate * n * 4 > MAX_PCM_BYTES) throw new TamgaError('INPUT_TOO_LARGE', `${input}: audio too long to watermark in memory (${Math.round(duration)} s)`, { limit: MAX_PCM_BYTES });
  const pcm = interleave(await markedChannels(input, n, rate, payload, key));
  const stdin = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const rawIn = ['-f', 'f32le', '-ar', String(rate), '-ac', String(n), '-i', 'pipe:0'];
  const outFormat = extFormat(output);
  const original = outFormat === inputFormat && ['wav', 'flac', 'mp3'].includes(outFormat) ? new Uint8Array(await readFile(input)) : undefined;
  if (original && outFormat === 'wav' && RAW_PCM.has(stream.codec_name ?? '')) {
    const codec = stream.codec_name!;
    const { stdout } = await runFfmpeg([...rawIn, '-c:a', codec, '-f', codec.slice(4), 'pipe:1'], { stdin });
    return spliceWavData(original, stdout, input);
  }
  const encoder = encoderFor(output, stream);
  const muxer = MUXER[outFormat]!;
  if (original && outFormat === 'flac') {
    const { stdout } = await runFfmpeg([...rawIn, '-map_metadata', '-1', ...encoder, '-f', muxer, 'pipe:1'], { stdin });
    return carryFlacBlocks(original, stdout, input);
  }
  if (original && outFormat === 'mp3') {
    const { stdout } = await runFfmpeg([...rawIn, '-map_metadata', '-1', ...encoder, '-id3v2_version', '0', '-write_xing', '1', '-f', muxer, 'pipe:1'], { stdin });
    return concat([leadingId3(original), stdout, trailingId3v1(original)]);
  }
  // A container change: ffmpeg maps what tags it can from the input (the second input here).
  const { stdout } = await runFfmpeg([...rawIn, '-i', fileUrl(input), '-map', '0:a', '-map_metadata', '1', ...encoder, '-f', muxer, 'pipe:1'], { stdin });
  return stdout;
}
