/**
 * bench/watermark-audio: robustness and speed of tamga's keyed audio watermark.
 * Run: npm run bench:watermark-audio
 * Material: generated music-like stereo (chords + pink noise) and speech-like bursts, plus the
 * corpus recordings when ../shared/corpus is present; attacks run through the bundled ffmpeg.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { DETECT_RATE, detectAudioWatermark, embedAudioWatermark } from '../src/watermark/audio.js';

const FFMPEG = process.env.FFMPEG_PATH ?? ffmpegInstaller.path;
const RATE = 44100;
const KEY = 'bench-audio-key';
const ID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');

function ffmpeg(args: string[], input?: Buffer): Buffer {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args], { input, maxBuffer: 1 << 29 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString().slice(-300)}`);
  return r.stdout;
}
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const buf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const sources: [string, string[]][] = [
  ['music-like 60 s', ['-f', 'lavfi', '-i', 'sine=f=196:d=60', '-f', 'lavfi', '-i', 'sine=f=247:d=60', '-f', 'lavfi', '-i', 'anoisesrc=c=pink:a=0.06:d=60', '-filter_complex', '[0][1][2]amix=inputs=3,vibrato=f=4,tremolo=f=2']],
  ['speech-like bursts 60 s', ['-f', 'lavfi', '-i', 'anoisesrc=c=brown:a=0.3:d=60', '-af', 'bandpass=f=700:w=900,volume=enable=lt(mod(t\\,1.3)\\,0.8):volume=1,volume=enable=gte(mod(t\\,1.3)\\,0.8):volume=0.02']],
];
for (const f of ['c2pa/sample1-signed.wav', 'c2pa/cicadas-unsigned.mp3']) if (existsSync(join(corpus, f))) sources.push([`corpus ${f}`, ['-i', join(corpus, f)]]);

const attacks: [string, string[], string, string[]][] = [
  ['none (PCM)', ['-c:a', 'pcm_f32le'], 'wav', []],
  ['MP3 64 kbps', ['-c:a', 'libmp3lame', '-b:a', '64k'], 'mp3', []],
  ['MP3 128 kbps', ['-c:a', 'libmp3lame', '-b:a', '128k'], 'mp3', []],
  ['AAC 96 kbps', ['-c:a', 'aac', '-b:a', '96k'], 'adts', []],
  ['AAC 128 kbps', ['-c:a', 'aac', '-b:a', '128k'], 'adts', []],
  ['Opus 64 kbps', ['-c:a', 'libopus', '-b:a', '64k'], 'ogg', []],
  ['white noise at 30 dB SNR', ['-c:a', 'pcm_s16le'], 'wav', ['-af', 'volume=1']],
  ['low-pass 4 kHz', ['-c:a', 'pcm_s16le'], 'wav', ['-af', 'lowpass=f=4000']],
  ['first 1.3 s cut', ['-c:a', 'pcm_s16le'], 'wav', ['-ss', '1.3']],
  ['10 s excerpt from 20 s', ['-c:a', 'pcm_s16le'], 'wav', ['-ss', '20', '-t', '10']],
  ['resample 22.05 kHz', ['-ar', '22050', '-c:a', 'pcm_s16le'], 'wav', []],
  ['volume x0.5', ['-c:a', 'pcm_s16le'], 'wav', ['-af', 'volume=0.5']],
  ['start cut 7.1 s', ['-c:a', 'pcm_s16le'], 'wav', ['-ss', '7.1']],
  ['12 s excerpt from 20 s', ['-c:a', 'pcm_s16le'], 'wav', ['-ss', '20', '-t', '12']],
];

console.log('bench/watermark-audio: 64-bit id, RS + 24-bit MAC, multi-tone DSSS at -30 dB under the signal');
let embedSec = 0;
let embedCpuSec = 0;
let audioSec = 0;
let detectSec = 0;
let detectCpuSec = 0;
/** CPU seconds (user + system) of this process since `from`: unlike wall time, not inflated by other processes on a loaded machine. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
};
for (const [name, args] of sources) {
  const pcm = f32(ffmpeg([...args, '-ac', '2', '-ar', String(RATE), '-f', 'f32le', 'pipe:1']));
  const chans = [0, 1].map((c) => Float32Array.from({ length: pcm.length / 2 }, (_, i) => pcm[i * 2 + c]!));
  let t = performance.now();
  let cpu = process.cpuUsage();
  const marked = embedAudioWatermark(chans, RATE, ID, KEY);
  embedCpuSec += cpuSince(cpu);
  embedSec += (performance.now() - t) / 1000;
  audioSec += chans[0]!.length / RATE;
  const inter = new Float32Array(pcm.length);
  marked.forEach((c, k) => c.forEach((v, i) => (inter[i * 2 + k] = v)));
  const row: string[] = [];
  let power = 0;
  for (const v of inter) power += v * v;
  const noiseRms = Math.sqrt(power / inter.length / 1000); // 30 dB below the signal
  for (const [aname, codec, fmt, pre] of attacks) {
    const input = aname.startsWith('white noise') ? inter.map((v) => v + noiseRms * Math.sqrt(-2 * Math.log(Math.random() || 1e-12)) * Math.cos(2 * Math.PI * Math.random())) : inter;
    const coded = ffmpeg(['-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', 'pipe:0', ...pre, ...codec, '-f', fmt, 'pipe:1'], buf(input));
    const mono = f32(ffmpeg(['-i', 'pipe:0', '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1'], coded));
    t = performance.now();
    cpu = process.cpuUsage();
    const d = detectAudioWatermark(mono, KEY);
    detectCpuSec += cpuSince(cpu);
    detectSec += (performance.now() - t) / 1000;
    const ok = d && Buffer.from(d.payload).equals(Buffer.from(ID));
    row.push(`${aname}: ${ok ? 'ok' : d ? 'WRONG' : 'miss'}`);
  }
  const monoClean = f32(ffmpeg([...args, '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1']));
  const fp = detectAudioWatermark(monoClean, KEY) ? ' FALSE POSITIVE on the unmarked source!' : '';
  console.log(`${name} (${(chans[0]!.length / RATE).toFixed(1)} s):${fp}\n  ${row.join('\n  ')}`);
}
console.log(
  `speed: embed ${(audioSec / embedSec).toFixed(0)}x realtime wall, ${(audioSec / embedCpuSec).toFixed(0)}x per CPU second (44.1 kHz stereo); ` +
    `detect ${((audioSec * attacks.length) / detectSec).toFixed(0)}x wall, ${((audioSec * attacks.length) / detectCpuSec).toFixed(0)}x per CPU second (16 kHz mono, decode excluded)`,
);
