/**
 * bench/watermark-audio: tamga's keyed audio watermark beside audiowmark (when built), on real
 * recordings, under codecs, filters, silence, cuts, excerpts and speed changes.
 *
 * Run: npm run bench:watermark-audio [-- --sources a,b --attacks a,b --keys N]
 * Material: the corpus recordings (../shared/corpus/c2pa/*.wav|mp3) and every audio file in
 *   $TAMGA_AUDIO_DIR (real recordings only: e.g. openai/whisper's tests/jfk.flac).
 * audiowmark: set $AUDIOWMARK to its binary (built from github:swesterfeld/audiowmark); without it
 *   only tamga's column is measured. Its detection runs both plain and with --detect-speed.
 * Both marks are embedded at their defaults; each attacked copy is decoded to WAV at the source
 * rate, which both detectors read. False claims: every unmarked source and its attacked copies
 * under --keys random keys.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { DETECT_RATE, detectAudioWatermark, embedAudioWatermark } from '../src/watermark/audio.js';

const FFMPEG = process.env.FFMPEG_PATH ?? ffmpegInstaller.path;
const AUDIOWMARK = process.env.AUDIOWMARK && existsSync(process.env.AUDIOWMARK) ? process.env.AUDIOWMARK : undefined;
const KEY = 'bench-audio-key';
const ID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
/** audiowmark carries 128 bits; our 64-bit id twice. */
const AW_PAYLOAD = Buffer.concat([Buffer.from(ID), Buffer.from(ID)]).toString('hex');
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

function run(cmd: string, args: string[], input?: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')} failed: ${r.stderr.toString().slice(-300)}`);
  return r.stdout;
}
const ffmpeg = (args: string[], input?: Buffer) => run(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args], input);
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const buf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const files: string[] = [];
for (const f of ['c2pa/sample1-signed.wav', 'c2pa/cicadas-unsigned.mp3']) if (existsSync(join(corpus, f))) files.push(join(corpus, f));
const extra = process.env.TAMGA_AUDIO_DIR;
if (extra && existsSync(extra)) for (const f of readdirSync(extra).sort()) if (/\.(wav|flac|mp3|ogg|m4a)$/i.test(f)) files.push(join(extra, f));
const only = arg('sources')?.split(',');
const sources = files.filter((f) => !only || only.some((o) => f.includes(o)));

interface Clip {
  pcm: Float32Array; // interleaved
  rate: number;
  ch: number;
}
/** Sample-domain edits: silence and cuts, on interleaved float PCM. */
const silence = (c: Clip, s: number) => new Float32Array(Math.round(s * c.rate) * c.ch);
const cat = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
const at = (c: Clip, s: number) => Math.min(c.pcm.length, Math.round(s * c.rate) * c.ch);
type Attack = { name: string; edit?: (c: Clip) => Float32Array; codec?: string[]; format?: string; filter?: string };
const attacks: Attack[] = [
  { name: 'none' },
  { name: 'MP3 128 kbps', codec: ['-c:a', 'libmp3lame', '-b:a', '128k'], format: 'mp3' },
  { name: 'MP3 64 kbps', codec: ['-c:a', 'libmp3lame', '-b:a', '64k'], format: 'mp3' },
  { name: 'AAC 128 kbps', codec: ['-c:a', 'aac', '-b:a', '128k'], format: 'adts' },
  { name: 'Opus 64 kbps', codec: ['-c:a', 'libopus', '-b:a', '64k'], format: 'ogg' },
  { name: 'noise 30 dB SNR', edit: (c) => withNoise(c, 30) },
  { name: 'low-pass 4 kHz', filter: 'lowpass=f=4000' },
  { name: 'resample 22.05 kHz', filter: 'aresample=22050' },
  { name: 'volume x0.5', filter: 'volume=0.5' },
  { name: 'silence 2 s before', edit: (c) => cat(silence(c, 2), c.pcm) },
  { name: 'silence 2 s after', edit: (c) => cat(c.pcm, silence(c, 2)) },
  { name: 'silence 2 s inside', edit: (c) => cat(c.pcm.subarray(0, at(c, 5.3)), silence(c, 2), c.pcm.subarray(at(c, 5.3))) },
  { name: 'cut first 1.3 s', edit: (c) => c.pcm.slice(at(c, 1.3)) },
  { name: 'cut 1 s inside', edit: (c) => cat(c.pcm.subarray(0, at(c, 4.1)), c.pcm.subarray(at(c, 5.1))) },
  { name: '10 s excerpt', edit: (c) => c.pcm.slice(at(c, 0.7), at(c, 10.7)) },
  { name: '5 s excerpt', edit: (c) => c.pcm.slice(at(c, 2.3), at(c, 7.3)) },
  { name: 'speed +5%', filter: 'SPEED:1.05' },
  { name: 'speed -5%', filter: 'SPEED:0.95' },
];
const onlyAttacks = arg('attacks')?.split(',');
const chosen = attacks.filter((a) => !onlyAttacks || onlyAttacks.some((o) => a.name.includes(o)));

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
function withNoise(c: Clip, snrDb: number): Float32Array {
  let p = 0;
  for (const v of c.pcm) p += v * v;
  const sigma = Math.sqrt(p / c.pcm.length / 10 ** (snrDb / 10));
  return c.pcm.map((v) => v + sigma * Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd()));
}

/** The attacked copy as a WAV (float) at the source rate. */
function attack(c: Clip, a: Attack): Buffer {
  const pcm = a.edit ? a.edit(c) : c.pcm;
  const input = ['-f', 'f32le', '-ar', String(c.rate), '-ac', String(c.ch), '-i', 'pipe:0'];
  let coded = buf(pcm);
  let codedInput = input;
  if (a.codec) {
    coded = ffmpeg([...input, ...a.codec, '-f', a.format!, 'pipe:1'], coded);
    codedInput = ['-i', 'pipe:0'];
  }
  let filter: string[] = [];
  if (a.filter?.startsWith('SPEED:')) filter = ['-af', `asetrate=${Math.round(c.rate * Number(a.filter.slice(6)))},aresample=${c.rate}`];
  else if (a.filter === 'aresample=22050') filter = ['-ar', '22050'];
  else if (a.filter) filter = ['-af', a.filter];
  return ffmpeg([...codedInput, ...filter, '-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1'], coded);
}
const toMono16k = (wav: Buffer) => f32(ffmpeg(['-i', 'pipe:0', '-ac', '1', '-ar', String(DETECT_RATE), '-f', 'f32le', 'pipe:1'], wav));

function snrDb(orig: Float32Array, marked: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < orig.length; i++) {
    s += orig[i]! ** 2;
    n += (marked[i]! - orig[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

const work = mkdtempSync(join(tmpdir(), 'tamga-bench-audio-'));
type Score = { ok: number; n: number };
const table = new Map<string, Record<'tamga' | 'tamgaSpeed' | 'aw' | 'awSpeed', Score>>();
const score = (attackName: string) => {
  let s = table.get(attackName);
  if (!s) table.set(attackName, (s = { tamga: { ok: 0, n: 0 }, tamgaSpeed: { ok: 0, n: 0 }, aw: { ok: 0, n: 0 }, awSpeed: { ok: 0, n: 0 } }));
  return s;
};
const speed = { audio: 0, tEmbed: 0, tDetect: 0, tDetectAudio: 0, awEmbed: 0, awDetect: 0 };
const snr = { tamga: [] as number[], aw: [] as number[] };
let falseClaims = 0;
let unmarkedTrials = 0;
const keys = Number(arg('keys') ?? 10);

function awDetect(wav: Buffer, detectSpeed: boolean): boolean {
  const p = join(work, 'aw-in.wav');
  writeFileSync(p, wav);
  const r = spawnSync(AUDIOWMARK!, ['get', ...(detectSpeed ? ['--detect-speed'] : []), p], { maxBuffer: 1 << 24 });
  return r.stdout.toString().includes(AW_PAYLOAD);
}

console.log(`bench/watermark-audio: ${sources.length} real recordings x ${chosen.length} attacks; audiowmark: ${AUDIOWMARK ?? 'not set ($AUDIOWMARK)'}`);
for (const file of sources) {
  const probeWav = ffmpeg(['-i', file, '-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1']);
  const rate = probeWav.readUInt32LE(24);
  const ch = probeWav.readUInt16LE(22);
  const pcm = f32(ffmpeg(['-i', file, '-f', 'f32le', 'pipe:1']));
  const clip: Clip = { pcm, rate, ch };
  const planar = Array.from({ length: ch }, (_, c) => Float32Array.from({ length: pcm.length / ch }, (_, i) => pcm[i * ch + c]!));
  let t = performance.now();
  const marked = embedAudioWatermark(planar, rate, ID, KEY);
  speed.tEmbed += (performance.now() - t) / 1000;
  speed.audio += pcm.length / ch / rate;
  const inter = new Float32Array(pcm.length);
  marked.forEach((m, k) => m.forEach((v, i) => (inter[i * ch + k] = v)));
  snr.tamga.push(snrDb(pcm, inter));
  const tClip: Clip = { pcm: inter, rate, ch };
  let awClip: Clip | undefined;
  if (AUDIOWMARK) {
    const inPath = join(work, 'src.wav');
    const outPath = join(work, 'aw.wav');
    writeFileSync(inPath, ffmpeg(['-f', 'f32le', '-ar', String(rate), '-ac', String(ch), '-i', 'pipe:0', '-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1'], buf(pcm)));
    t = performance.now();
    run(AUDIOWMARK, ['add', inPath, outPath, AW_PAYLOAD]);
    speed.awEmbed += (performance.now() - t) / 1000;
    const awPcm = f32(ffmpeg(['-i', outPath, '-f', 'f32le', 'pipe:1']));
    snr.aw.push(snrDb(pcm, awPcm));
    awClip = { pcm: awPcm, rate, ch };
  }
  const row: string[] = [];
  for (const a of chosen) {
    const s = score(a.name);
    const wav = attack(tClip, a);
    const mono = toMono16k(wav);
    t = performance.now();
    const plain = detectAudioWatermark(mono, KEY);
    speed.tDetect += (performance.now() - t) / 1000;
    speed.tDetectAudio += mono.length / DETECT_RATE;
    const okPlain = Boolean(plain && Buffer.from(plain.payload).equals(Buffer.from(ID)));
    const withSpeed = okPlain ? plain : detectAudioWatermark(mono, KEY, { speedSearch: true });
    const okSpeed = Boolean(withSpeed && Buffer.from(withSpeed.payload).equals(Buffer.from(ID)));
    s.tamga.n++;
    s.tamgaSpeed.n++;
    if (okPlain) s.tamga.ok++;
    if (okSpeed) s.tamgaSpeed.ok++;
    let awText = '';
    if (awClip) {
      const aw = attack(awClip, a);
      t = performance.now();
      const awOk = awDetect(aw, false);
      speed.awDetect += (performance.now() - t) / 1000;
      const awSp = awOk || awDetect(aw, true);
      s.aw.n++;
      s.awSpeed.n++;
      if (awOk) s.aw.ok++;
      if (awSp) s.awSpeed.ok++;
      awText = ` aw ${awOk ? 'ok' : 'miss'}/${awSp ? 'ok' : 'miss'}`;
    }
    row.push(`${a.name}: tamga ${okPlain ? 'ok' : 'miss'}/${okSpeed ? 'ok' : 'miss'}${awText}`);
    // False claims: the unmarked source under the same attack, under random keys (with the speed search).
    const unmarked = toMono16k(attack(clip, a));
    for (let k = 0; k < keys; k++) {
      unmarkedTrials++;
      if (detectAudioWatermark(unmarked, `unmarked-${k}-${a.name}`, { speedSearch: k === 0 && (a.name === 'none' || a.name.startsWith('speed')) })) falseClaims++;
    }
  }
  console.log(`${file.split('/').slice(-2).join('/')} (${(pcm.length / ch / rate).toFixed(1)} s, ${rate} Hz, ${ch} ch): SNR tamga ${snr.tamga.at(-1)!.toFixed(1)} dB${AUDIOWMARK ? `, audiowmark ${snr.aw.at(-1)!.toFixed(1)} dB` : ''}\n  ${row.join('\n  ')}`);
}
rmSync(work, { recursive: true, force: true });
const cell = (s: Score) => (s.n ? `${s.ok}/${s.n}` : '-');
console.log('\n| attack | tamga | tamga --detect-speed | audiowmark | audiowmark --detect-speed |\n|---|---|---|---|---|');
const tot = { t: 0, ts: 0, a: 0, as: 0, n: 0 };
for (const [name, s] of table) {
  console.log(`| ${name} | ${cell(s.tamga)} | ${cell(s.tamgaSpeed)} | ${cell(s.aw)} | ${cell(s.awSpeed)} |`);
  tot.t += s.tamga.ok;
  tot.ts += s.tamgaSpeed.ok;
  tot.a += s.aw.ok;
  tot.as += s.awSpeed.ok;
  tot.n += s.tamga.n;
}
console.log(`| **all** | ${tot.t}/${tot.n} | ${tot.ts}/${tot.n} | ${AUDIOWMARK ? `${tot.a}/${tot.n}` : '-'} | ${AUDIOWMARK ? `${tot.as}/${tot.n}` : '-'} |`);
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
console.log(`SNR (mark vs signal, mean over sources): tamga ${mean(snr.tamga).toFixed(1)} dB${AUDIOWMARK ? `, audiowmark ${mean(snr.aw).toFixed(1)} dB` : ''}`);
console.log(`false claims on unmarked copies: ${falseClaims} in ${unmarkedTrials} (key x copy; the first key of the unattacked and sped-up copies with the speed search)`);
console.log(
  `speed: tamga embed ${(speed.audio / speed.tEmbed).toFixed(0)}x realtime in-process (decode/encode excluded), detect ${(speed.tDetectAudio / speed.tDetect).toFixed(0)}x (plain, 16 kHz mono)` +
    (AUDIOWMARK ? `; audiowmark embed ${(speed.audio / speed.awEmbed).toFixed(0)}x, detect ${(speed.tDetectAudio / speed.awDetect).toFixed(0)}x (CLI wall, file I/O included)` : ''),
);
