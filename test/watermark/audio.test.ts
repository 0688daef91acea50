import { spawnSync } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { beforeAll, describe, expect, it } from 'vitest';
import { DETECT_RATE, detectAudioWatermark, embedAudioWatermark, MIN_AUDIO_SECONDS } from '../../src/watermark/audio.js';
import { TamgaError } from '../../src/core/errors.js';
import { corpusFile, hasCorpus } from '../helpers.js';

const FFMPEG = process.env.FFMPEG_PATH ?? ffmpegInstaller.path;
const ID = Uint8Array.from([0x01, 0x9a, 0xb0, 0xc4, 0x5f, 0x3e, 0x7d, 0x21]);
const KEY = 'audio-key';
const RATE = 44100;

/** Runs ffmpeg (arguments as an array, no shell) with `input` on stdin; returns stdout. */
function ffmpeg(args: string[], input?: Buffer): Buffer {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args], { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}
const planar = (interleaved: Float32Array, ch: number) => Array.from({ length: ch }, (_, c) => Float32Array.from({ length: interleaved.length / ch }, (_, i) => interleaved[i * ch + c]!));
const interleave = (chs: Float32Array[]) => {
  const out = new Float32Array(chs[0]!.length * chs.length);
  chs.forEach((c, k) => c.forEach((v, i) => (out[i * chs.length + k] = v)));
  return out;
};
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const toBuf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Encodes stereo float PCM with `codecArgs`, then decodes to mono 16 kHz floats for the detector. */
function throughCodec(pcm: Float32Array, codecArgs: string[], format: string, pre: string[] = []): Float32Array {
  const coded = ffmpeg(['-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', 'pipe:0', ...pre, ...codecArgs, '-f', format, 'pipe:1'], toBuf(pcm));
  return f32(ffmpeg(['-i', 'pipe:0', '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1'], coded));
}

let original: Float32Array;
let marked: Float32Array;
beforeAll(() => {
  // 24 s of music-like material: a chord with vibrato over pink noise, in stereo.
  const src = ffmpeg([
    '-f', 'lavfi', '-i', 'sine=f=220:d=24', '-f', 'lavfi', '-i', 'sine=f=277:d=24', '-f', 'lavfi', '-i', 'anoisesrc=c=pink:a=0.08:d=24',
    '-filter_complex', '[0][1][2]amix=inputs=3,vibrato=f=5,aformat=channel_layouts=stereo', '-ar', String(RATE), '-f', 'f32le', 'pipe:1',
  ]);
  original = f32(src);
  marked = interleave(embedAudioWatermark(planar(original, 2), RATE, ID, KEY));
}, 60_000);

const hex = (d: ReturnType<typeof detectAudioWatermark>) => (d ? Buffer.from(d.payload).toString('hex') : undefined);
const ID_HEX = Buffer.from(ID).toString('hex');

describe('audio watermark', () => {
  it('carries the id at -30 dB under the signal; nothing under a wrong key or in the original', () => {
    const mono = throughCodec(marked, ['-c:a', 'pcm_f32le'], 'wav');
    const d = detectAudioWatermark(mono, KEY);
    expect(hex(d)).toBe(ID_HEX);
    expect(d!.pValue).toBeLessThan(1e-6);
    for (let k = 0; k < 5; k++) expect(detectAudioWatermark(mono, `wrong-${k}`)).toBeUndefined();
    expect(detectAudioWatermark(throughCodec(original, ['-c:a', 'pcm_f32le'], 'wav'), KEY)).toBeUndefined();
    let sig = 0;
    let noise = 0;
    for (let i = 0; i < original.length; i++) {
      sig += original[i]! ** 2;
      noise += (marked[i]! - original[i]!) ** 2;
    }
    expect(10 * Math.log10(sig / noise)).toBeGreaterThan(30);
  });

  it.each([
    ['MP3 64 kbps', ['-c:a', 'libmp3lame', '-b:a', '64k'], 'mp3', []],
    ['AAC 96 kbps', ['-c:a', 'aac', '-b:a', '96k'], 'adts', []],
    ['resampled to 22.05 kHz', ['-ar', '22050', '-c:a', 'pcm_s16le'], 'wav', []],
    ['volume halved', ['-c:a', 'pcm_s16le'], 'wav', ['-af', 'volume=0.5']],
    ['first 3.3 s cut', ['-c:a', 'pcm_s16le'], 'wav', ['-ss', '3.3']],
  ] as const)('survives %s', (_name, codec, format, pre) => {
    expect(hex(detectAudioWatermark(throughCodec(marked, [...codec], format, [...pre]), KEY))).toBe(ID_HEX);
  });

  it.skipIf(!hasCorpus)('no false positives on real recordings in the corpus', () => {
    for (const f of ['c2pa/sample1-signed.wav', 'c2pa/cicadas-unsigned.mp3']) {
      const mono = f32(ffmpeg(['-i', corpusFile(f), '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1']));
      expect(detectAudioWatermark(mono, KEY), f).toBeUndefined();
    }
  });

  it('too short for a block: no answer rather than a guess', () => {
    expect(detectAudioWatermark(new Float32Array(DETECT_RATE * 3), KEY)).toBeUndefined();
  });

  it('refuses to mark audio shorter than one block (it could never be found) with a TamgaError', () => {
    const short = planar(original.subarray(0, Math.floor(RATE * (MIN_AUDIO_SECONDS - 0.1)) * 2), 2);
    expect(() => embedAudioWatermark(short, RATE, ID, KEY)).toThrow(TamgaError);
    expect(() => embedAudioWatermark(short, RATE, ID, KEY)).toThrow(/shorter than one .* block/);
    // One block is enough, and is found.
    const one = planar(original.subarray(0, Math.ceil(RATE * (MIN_AUDIO_SECONDS + 0.2)) * 2), 2);
    expect(hex(detectAudioWatermark(throughCodec(interleave(embedAudioWatermark(one, RATE, ID, KEY)), ['-c:a', 'pcm_f32le'], 'wav'), KEY))).toBe(ID_HEX);
  });

  it('a digitally silent channel, and digital silence inside a channel, stay bit-for-bit silent', () => {
    const [left] = planar(original, 2);
    const gapped = Float32Array.from(left!);
    gapped.fill(0, RATE * 5, RATE * 7);
    const [l, r] = embedAudioWatermark([gapped, new Float32Array(left!.length)], RATE, ID, KEY);
    expect(r!.every((v) => v === 0)).toBe(true);
    expect(l!.subarray(RATE * 5 + 2048, RATE * 7 - 2048).every((v) => v === 0)).toBe(true);
    expect(l!.some((v, i) => v !== gapped[i])).toBe(true);
  });

  const edit = (fn: (x: Float32Array) => Float32Array) => throughCodec(fn(marked), ['-c:a', 'pcm_s16le'], 'wav');
  const zeros = (s: number) => new Float32Array(Math.round(s * RATE) * 2);
  const cat = (...p: Float32Array[]) => {
    const out = new Float32Array(p.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const x of p) out.set(x, (at += x.length) - x.length);
    return out;
  };
  const t = (s: number) => Math.round(s * RATE) * 2;
  it.each([
    ['2 s of digital silence before', (x: Float32Array) => cat(zeros(2), x)],
    ['2 s of digital silence after', (x: Float32Array) => cat(x, zeros(2))],
    ['2 s of digital silence inside', (x: Float32Array) => cat(x.subarray(0, t(7.3)), zeros(2), x.subarray(t(7.3)))],
    ['1 s cut from inside', (x: Float32Array) => cat(x.subarray(0, t(4.1)), x.subarray(t(5.1)))],
    ['a 5 s excerpt', (x: Float32Array) => x.slice(t(11.3), t(16.3))],
  ])('survives %s', (_name, fn) => {
    expect(hex(detectAudioWatermark(edit(fn), KEY))).toBe(ID_HEX);
  });

  // The search steps by 0.2% and finds speeds within about 1e-5 of a step (the usual ±5%, ±2%...);
  // a speed between steps (x1.031) drifts the frame timing out of the chip's 2-sample correlation width.
  it.each([1.05, 0.95, 1.02])('with the speed search, survives a speed change to x%s (and not without it)', (speed) => {
    const mono = throughCodec(marked, ['-c:a', 'pcm_s16le'], 'wav', ['-af', `asetrate=${Math.round(RATE * speed)},aresample=${RATE}`]);
    expect(detectAudioWatermark(mono, KEY)).toBeUndefined();
    const d = detectAudioWatermark(mono, KEY, { speedSearch: true });
    expect(hex(d)).toBe(ID_HEX);
    expect(Math.abs(d!.speed - speed)).toBeLessThan(0.003);
  }, 120_000);

  it('no false claims with the speed search on the unmarked original under many keys', () => {
    const mono = throughCodec(original, ['-c:a', 'pcm_f32le'], 'wav');
    expect(detectAudioWatermark(mono, 'other-speed', { speedSearch: true })).toBeUndefined();
    for (let k = 0; k < 40; k++) expect(detectAudioWatermark(mono, `other-${k}`)).toBeUndefined();
  }, 180_000);
});

describe('audio watermark through label() and detect()', () => {
  it.each([
    ['wav', ['-c:a', 'pcm_s16le'], false],
    ['mp3', ['-c:a', 'libmp3lame', '-b:a', '192k'], true],
  ] as const)('%s (cue: %s): the watermark layer is written with the codec kept, and detect finds it with the key', async (ext, codec, cue) => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { detect, label } = await import('../../src/api.js');
    const { probe } = await import('../../src/media/ffmpeg.js');
    const { watermarkIdOf } = await import('../../src/watermark/payload.js');
    const dir = mkdtempSync(join(tmpdir(), 'tamga-audio-wm-'));
    try {
      const input = join(dir, `in.${ext}`);
      writeFileSync(input, ffmpeg(['-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', 'pipe:0', '-t', '14', ...codec, '-f', ext, 'pipe:1'], toBuf(original)));
      const output = join(dir, `out.${ext}`);
      const r = await label(input, { contentId: `audio-${ext}` }, { output, visible: cue, watermarkKey: 'audio-api-key' });
      expect(r.layers).toEqual([...(cue ? ['visible'] : []), 'watermark', 'metadata']);
      const info = await probe(output);
      expect(info.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe(ext === 'wav' ? 'pcm_s16le' : 'mp3');
      const d = await detect(output, { watermarkKey: 'audio-api-key' });
      expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'watermark:tamga', value: expect.objectContaining({ id: Buffer.from(watermarkIdOf(`audio-${ext}`)).toString('hex') }) }));
      expect(d.findings.some((f) => f.kind.endsWith(':tamga'))).toBe(true);
      if (cue) expect(d.findings.some((f) => f.kind === 'audio:tamga-cue')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
