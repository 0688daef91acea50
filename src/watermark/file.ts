import { rename, unlink } from 'node:fs/promises';
import { extname } from 'node:path';
import { writeBytesAtomically, tempPathFor } from '../core/edit.js';
import { TamgaError } from '../core/errors.js';
import { SNIFF_BYTES, sniff } from '../core/sniff.js';
import { FileReader, type ByteReader } from '../core/source.js';
import type { Finding, SniffResult } from '../core/types.js';
import { runFfmpeg } from '../media/ffmpeg.js';
import { DETECT_RATE, detectAudioWatermark, type AudioDetectOptions } from './audio.js';
import { watermarkAudioFileBytes } from './audio-file.js';
import { embedImageWatermarkBytes, keyFingerprint, watermarkFindings } from './image-layer.js';
import { WATERMARK_ID_BYTES } from './payload.js';
import { detectVideoWatermark, embedVideoWatermark } from './video.js';

/**
 * Watermark a file or read one, whatever its medium: the entry points of `tamga watermark
 * embed|detect`, which robustness harnesses call with an explicit payload and key.
 */

export function parsePayloadHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) throw new TamgaError('INVALID_OPTION', `payload: expected ${WATERMARK_ID_BYTES * 2} hex digits (a 64-bit id), got ${JSON.stringify(hex)}`, { option: 'payload' });
  return Buffer.from(hex, 'hex');
}

export function checkKeyText(key: string): string {
  if (typeof key !== 'string' || key.length < 8 || key.length > 1024) throw new TamgaError('INVALID_OPTION', 'key: expected a secret of 8 to 1024 characters (e.g. 32 hex digits)', { option: 'key' });
  return key;
}

async function sniffFile(path: string): Promise<{ reader: ByteReader; kind: SniffResult }> {
  const reader = await FileReader.open(path);
  const s = reader.size ? sniff(await reader.read(0, Math.min(SNIFF_BYTES, reader.size)), path) : undefined;
  if (!s) {
    await reader.close();
    throw new TamgaError('UNSUPPORTED_FORMAT', `${path}: not a media format tamga recognises`);
  }
  return { reader, kind: s };
}

/** Embeds `payload` under `key` into `input`, writing `output` through a temp file and a rename. */
export async function embedWatermarkFile(input: string, output: string, key: string, payload: Uint8Array): Promise<{ kind: string; format: string }> {
  checkKeyText(key);
  const { reader, kind } = await sniffFile(input);
  try {
    if (kind.kind === 'image') {
      const bytes = await embedImageWatermarkBytes(reader, kind.format, payload, key);
      await writeBytesAtomically(output, bytes);
      return { kind: kind.kind, format: kind.format };
    }
    if (kind.kind === 'audio') {
      await writeBytesAtomically(output, await watermarkAudioFileBytes(input, kind.format, output, payload, key));
      return { kind: kind.kind, format: kind.format };
    }
    const tmp = tempPathFor(output) + extname(output);
    try {
      if (kind.kind === 'video') {
        await embedVideoWatermark(input, tmp, payload, key);
      } else {
        throw new TamgaError('UNSUPPORTED_FORMAT', `${input}: ${kind.kind} has no pixel or sample watermark (text is watermarked by label with a watermarkKey)`);
      }
      await rename(tmp, output);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return { kind: kind.kind, format: kind.format };
  } finally {
    await reader.close();
  }
}

/** The payload found under `key`, or undefined. */
export async function detectWatermarkFile(input: string, key: string, opts: AudioDetectOptions = {}): Promise<{ payload: Uint8Array; pValue: number; speed?: number } | undefined> {
  checkKeyText(key);
  const { reader, kind } = await sniffFile(input);
  try {
    if (kind.kind === 'image') {
      const [hit] = await watermarkFindings(reader, [key]);
      return hit ? { payload: Buffer.from((hit.value as { id: string }).id, 'hex'), pValue: (hit.value as { pValue: number }).pValue } : undefined;
    }
    if (kind.kind === 'video' || kind.kind === 'audio') {
      const [hit] = await avWatermarkFindings(input, kind.kind, [key], opts);
      const v = hit?.value as { id: string; pValue: number; speed?: number } | undefined;
      return v ? { payload: Buffer.from(v.id, 'hex'), pValue: v.pValue, ...(v.speed !== undefined ? { speed: v.speed } : {}) } : undefined;
    }
    throw new TamgaError('UNSUPPORTED_FORMAT', `${input}: ${kind.kind} has no pixel or sample watermark`);
  } finally {
    await reader.close();
  }
}

/**
 * `watermark:tamga` findings for an audio or video file, one per key found: the samples or the
 * sampled frames are decoded once and every key is tried on them.
 */
export async function avWatermarkFindings(path: string, kind: 'audio' | 'video', keys: readonly string[], opts: AudioDetectOptions = {}): Promise<Finding[]> {
  if (!keys.length) return [];
  const hits = new Map<string, { payload: Uint8Array; pValue: number; speed?: number }>();
  if (kind === 'video') for (const [key, hit] of await detectVideoWatermark(path, keys)) hits.set(key, hit);
  else {
    const { stdout } = await runFfmpeg(['-i', path, '-map', '0:a:0', '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1']);
    const mono = new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
    for (const key of keys) {
      const hit = detectAudioWatermark(mono, key, opts);
      if (hit) hits.set(key, hit);
    }
  }
  return keys.flatMap((key): Finding[] => {
    const hit = hits.get(key);
    if (!hit) return [];
    return [{ layer: 'watermark', kind: 'watermark:tamga', value: { id: Buffer.from(hit.payload).toString('hex'), key: keyFingerprint(key), pValue: hit.pValue, ...(hit.speed !== undefined && hit.speed !== 1 ? { speed: hit.speed } : {}) }, confidence: 1 - hit.pValue, where: kind === 'video' ? 'frames' : 'samples' }];
  });
}
