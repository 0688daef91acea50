import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/core/source.js';
import { TamgaError } from '../../src/core/errors.js';
import { readRiffChunks } from '../../src/formats/riff.js';
import { probe } from '../../src/media/ffmpeg.js';
import { detectWatermarkFile, embedWatermarkFile } from '../../src/watermark/file.js';

const FFMPEG = process.env.FFMPEG_PATH ?? ffmpegInstaller.path;
const KEY = 'audio-file-key-0123';
const PAYLOAD = Buffer.from('0123456789abcdef', 'hex');
const dir = mkdtempSync(join(tmpdir(), 'tamga-wm-audio-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args], { maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}
/** 12 s of a stereo chord over pink noise; `right` 'silent' makes the right channel digital silence. */
function source(name: string, codec: string[], right: 'music' | 'silent' = 'music', seconds = 12): string {
  const path = join(dir, name);
  const r = right === 'silent' ? '[2]volume=0[r]' : '[2]anull[r]';
  ffmpeg([
    '-f', 'lavfi', '-i', `sine=f=220:d=${seconds}`, '-f', 'lavfi', '-i', `anoisesrc=c=pink:a=0.1:d=${seconds}`, '-f', 'lavfi', '-i', `sine=f=330:d=${seconds}`,
    '-filter_complex', `[0][1]amix=inputs=2[l];${r};[l][r]join=inputs=2:channel_layout=stereo`, '-ar', '44100',
    '-metadata', 'title=Field recording', '-metadata', 'comment=keep me', ...codec, '-y', path,
  ]);
  return path;
}
/** A RIFF chunk to append to a WAV (and fix the RIFF size), as a label would add. */
function withChunk(path: string, id: string, body: Buffer): void {
  const b = readFileSync(path);
  const chunk = Buffer.alloc(8 + body.length + (body.length & 1));
  chunk.write(id, 0, 'latin1');
  chunk.writeUInt32LE(body.length, 4);
  body.copy(chunk, 8);
  const out = Buffer.concat([b, chunk]);
  out.writeUInt32LE(out.length - 8, 4);
  writeFileSync(path, out);
}
const stream = async (p: string) => (await probe(p)).streams.find((s) => s.codec_type === 'audio')!;
const detected = async (p: string) => Buffer.from((await detectWatermarkFile(p, KEY))?.payload ?? []).toString('hex');

describe('watermark embed on audio files keeps format and metadata', () => {
  it.each([
    ['24-bit', ['-c:a', 'pcm_s24le'], 'pcm_s24le'],
    ['32-bit float', ['-c:a', 'pcm_f32le'], 'pcm_f32le'],
    ['16-bit', ['-c:a', 'pcm_s16le'], 'pcm_s16le'],
  ])('%s WAV: same sample format, every chunk but the samples byte for byte (tamga label included), mark found', async (_n, codec, expected) => {
    const input = source(`in-${expected}.wav`, codec);
    withChunk(input, '_PMX', Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"><tamga>label</tamga></x:xmpmeta>'));
    const output = join(dir, `out-${expected}.wav`);
    await embedWatermarkFile(input, output, KEY, PAYLOAD);
    expect((await stream(output)).codec_name).toBe(expected);
    const a = readFileSync(input);
    const b = readFileSync(output);
    expect(b.length).toBe(a.length);
    const ca = await readRiffChunks(new BufferReader(a), 'wav');
    const cb = await readRiffChunks(new BufferReader(b), 'wav');
    expect(cb.chunks.map((c) => c.id)).toEqual(ca.chunks.map((c) => c.id));
    for (const c of ca.chunks) {
      const same = a.subarray(c.offset, c.end).equals(b.subarray(c.offset, c.end));
      expect(same, c.id).toBe(c.id !== 'data');
    }
    expect(await detected(output)).toBe(PAYLOAD.toString('hex'));
  }, 60_000);

  it.each(['wav', 'flac', 'mp3'])("%s: tamga's own metadata label survives `watermark embed`", async (ext) => {
    const { detect, label } = await import('../../src/api.js');
    const codec = ext === 'wav' ? ['-c:a', 'pcm_s24le'] : ext === 'flac' ? ['-c:a', 'flac'] : ['-c:a', 'libmp3lame', '-b:a', '192k'];
    const input = source(`plain.${ext}`, codec);
    const labelled = join(dir, `labelled.${ext}`);
    await label(input, { contentId: `label-${ext}` }, { output: labelled, visible: false });
    const kinds = async (p: string) => (await detect(p)).findings.filter((f) => f.layer === 'metadata').map((f) => f.kind).sort();
    const before = await kinds(labelled);
    expect(before.some((k) => k.endsWith(':tamga'))).toBe(true);
    const output = join(dir, `labelled-marked.${ext}`);
    await embedWatermarkFile(labelled, output, KEY, PAYLOAD);
    expect(await kinds(output)).toEqual(before);
    expect(await detected(output)).toBe(PAYLOAD.toString('hex'));
  }, 60_000);

  it('16-bit FLAC stays 16-bit and keeps its Vorbis comments', async () => {
    const input = source('in16.flac', ['-c:a', 'flac', '-sample_fmt', 's16']);
    const output = join(dir, 'out16.flac');
    await embedWatermarkFile(input, output, KEY, PAYLOAD);
    const s = await stream(output);
    expect(s.sample_fmt).toBe('s16');
    const tags = (await probe(output)).format.tags ?? {};
    expect(tags.title ?? tags.TITLE).toBe('Field recording');
    expect(tags.comment ?? tags.COMMENT).toBe('keep me');
    expect(await detected(output)).toBe(PAYLOAD.toString('hex'));
  }, 60_000);

  it('24-bit FLAC stays 24-bit', async () => {
    const input = source('in24.flac', ['-c:a', 'flac', '-sample_fmt', 's32']);
    const output = join(dir, 'out24.flac');
    await embedWatermarkFile(input, output, KEY, PAYLOAD);
    expect(Number((await stream(output)).bits_per_raw_sample)).toBe(24);
  }, 60_000);

  it('MP3 keeps its ID3v2 tag byte for byte', async () => {
    const input = source('in.mp3', ['-c:a', 'libmp3lame', '-b:a', '192k', '-id3v2_version', '3']);
    const output = join(dir, 'out.mp3');
    await embedWatermarkFile(input, output, KEY, PAYLOAD);
    const a = readFileSync(input);
    const size = 10 + ((a[6]! << 21) | (a[7]! << 14) | (a[8]! << 7) | a[9]!);
    expect(readFileSync(output).subarray(0, size).equals(a.subarray(0, size))).toBe(true);
    expect(Number((await stream(output)).bit_rate)).toBeGreaterThanOrEqual(190_000);
    expect(await detected(output)).toBe(PAYLOAD.toString('hex'));
  }, 60_000);

  it('a digitally silent channel stays silent', async () => {
    const input = source('half.wav', ['-c:a', 'pcm_s16le'], 'silent');
    const output = join(dir, 'half-out.wav');
    await embedWatermarkFile(input, output, KEY, PAYLOAD);
    const pcm = ffmpeg(['-i', output, '-f', 's16le', 'pipe:1']);
    let right = 0;
    let left = 0;
    for (let i = 0; i < pcm.length; i += 4) {
      left += Math.abs(pcm.readInt16LE(i));
      right += Math.abs(pcm.readInt16LE(i + 2));
    }
    expect(left).toBeGreaterThan(0);
    expect(right).toBe(0);
  }, 60_000);

  it('audio shorter than one block is refused with a TamgaError, and no output is written', async () => {
    const input = source('short.wav', ['-c:a', 'pcm_s16le'], 'music', 3);
    const output = join(dir, 'short-out.wav');
    const err = await embedWatermarkFile(input, output, KEY, PAYLOAD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TamgaError);
    expect((err as TamgaError).code).toBe('UNSUPPORTED_FORMAT');
    expect((err as TamgaError).message).toMatch(/short\.wav: the audio lasts 3\.00 s, shorter than one 4\.86 s block/);
    expect(existsSync(output)).toBe(false);
  }, 60_000);

  it('label with a watermark key refuses audio shorter than one block too, naming the file', async () => {
    const { label } = await import('../../src/api.js');
    const input = source('short-label.wav', ['-c:a', 'pcm_s16le'], 'music', 3);
    const output = join(dir, 'short-label-out.wav');
    const err = await label(input, { contentId: 'short' }, { output, visible: false, watermarkKey: KEY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TamgaError);
    expect((err as TamgaError).message).toContain('short-label.wav: the audio lasts 3.00 s');
    expect((err as TamgaError).message.split('short-label.wav').length).toBe(2);
    expect(existsSync(output)).toBe(false);
  }, 60_000);
});
