import { existsSync } from 'node:fs';
import { TamgaError } from '../core/errors.js';
import type { AudibleCueOptions, Finding } from '../core/types.js';
import { AUDIO_MUXERS, audioReencoding, audioStreamOf, interleavedOf, MAX_PCM_BYTES, planarOf } from '../media/codec.js';
import { fileUrl, probe, runFfmpeg } from '../media/ffmpeg.js';
export type { ProbeStreamInfo } from '../media/codec.js';

/**
 * tamga's audible disclosure: the rhythm cue GB 45438-2025 describes, "short-long-short-short"
 * (Morse for "AI": A = dot dash, I = dot dot; labelling-standards.md §4.2), with the ~1:3
 * dot:dash ratio. It is a two-tone chord (1000 Hz + 1500 Hz) so the detector can tell it from a
 * single whistle or beep; both tones survive 64 kbps MP3, AAC, resampling and gain changes.
 */

/** One Morse unit in seconds. */
export const CUE_UNIT = 0.1;
export const CUE_TONES = [1000, 1500] as const;
/** On-intervals of the cue in units: dot, gap, dash, letter gap, dot, gap, dot. */
const CUE_SEGMENTS: readonly (readonly [number, number])[] = [
  [0, 1],
  [2, 5],
  [8, 9],
  [10, 11],
];
export const CUE_SECONDS = 11 * CUE_UNIT;
/** Silence between the cue and the content when the cue is put before or after it. */
export const CUE_GAP = 0.4;
/** Peak amplitude of each tone (the chord peaks at -6 dBFS). */
const TONE_AMPLITUDE = 0.25;
/** Fade in/out of each tone burst: no clicks. */
const RAMP = 0.005;

/** LabelOptions.audibleCue, checked: every value named in the error. */
export function checkAudibleCue(o: AudibleCueOptions): AudibleCueOptions {
  const bad = (option: string, what: string) => new TamgaError('INVALID_OPTION', `audibleCue.${option}: ${what}`, { option: `audibleCue.${option}` });
  if (!o || typeof o !== 'object') throw bad('', 'expected an object');
  const out: AudibleCueOptions = {};
  if (o.clip !== undefined) {
    if (typeof o.clip !== 'string' || !existsSync(o.clip)) throw bad('clip', `expected the path of an audio file, got ${JSON.stringify(o.clip)}`);
    out.clip = o.clip;
  }
  if (o.everyMinutes !== undefined) {
    if (typeof o.everyMinutes !== 'number' || !(o.everyMinutes >= 0.05) || o.everyMinutes > 1440) throw bad('everyMinutes', `expected minutes between 0.05 and 1440, got ${JSON.stringify(o.everyMinutes)}`);
    out.everyMinutes = o.everyMinutes;
  }
  if (o.atEnd !== undefined) {
    if (typeof o.atEnd !== 'boolean') throw bad('atEnd', `expected a boolean, got ${JSON.stringify(o.atEnd)}`);
    out.atEnd = o.atEnd;
  }
  return out;
}

/** An aevalsrc expression of the cue gate starting at each of `starts` (seconds). */
function cueExpression(starts: readonly number[]): string {
  const burst = (a: number, b: number) => `clip((t-${a.toFixed(4)})/${RAMP},0,1)*clip((${b.toFixed(4)}-t)/${RAMP},0,1)`;
  const gate = starts.flatMap((s) => CUE_SEGMENTS.map(([a, b]) => burst(s + a * CUE_UNIT, s + b * CUE_UNIT))).join('+');
  const tones = CUE_TONES.map((f) => `sin(${2 * f}*PI*t)`).join('+');
  return `${TONE_AMPLITUDE}*(${gate})*(${tones})`;
}

/** The aevalsrc source of `seconds` of audio holding the cue at `starts`. */
function cueSource(starts: readonly number[], seconds: number, rate: number, channels: number): string {
  const expr = cueExpression(starts);
  // aevalsrc separates channel expressions with `|`; `:` and `,` are escaped by quoting the value.
  return `aevalsrc='${Array.from({ length: channels }, () => expr).join('|')}':s=${rate}:d=${seconds.toFixed(4)}`;
}

/**
 * Writes `output`: the cue (or the caller's clip), a short gap, the content with the cue mixed in
 * every N minutes, a gap and the cue again at the end. The content is re-encoded with the input's
 * codec, rate and channels; its tags are carried over (the caller then writes the metadata label).
 * The cue is rendered once and split; silences are trimmed from one null source, so the cost is
 * the decode and encode of the content.
 */
export async function addAudibleCue(input: string, format: string, output: string, opts: AudibleCueOptions = {}, markSamples?: (channels: Float32Array[], rate: number) => Float32Array[]): Promise<void> {
  const { stream: s, encoder } = await audioReencoding(input, format);
  if (markSamples && s.duration * s.rate * s.channels * 4 > MAX_PCM_BYTES) {
    throw new TamgaError('INPUT_TOO_LARGE', `${input}: audio too long to watermark in memory (${Math.round(s.duration)} s)`, { limit: MAX_PCM_BYTES });
  }
  const every = checkAudibleCue(opts).everyMinutes;
  const cueSeconds = opts.clip ? audioStreamOf(await probe(opts.clip), opts.clip).duration : CUE_SECONDS;
  const repeats: number[] = [];
  if (every) for (let t = every * 60; t + cueSeconds < s.duration; t += every * 60) repeats.push(t);
  const layout = s.channels === 1 ? 'mono' : s.channels === 2 ? 'stereo' : `${s.channels}c`;
  const fmt = `aformat=sample_fmts=fltp:sample_rates=${s.rate}:channel_layouts=${layout}`;
  const cue = opts.clip ? ['-i', fileUrl(opts.clip)] : ['-f', 'lavfi', '-i', cueSource([0], CUE_SECONDS, s.rate, s.channels)];
  const args = ['-y', '-i', fileUrl(input), ...cue, '-f', 'lavfi', '-i', `anullsrc=r=${s.rate}:cl=${layout}`];

  const atEnd = opts.atEnd !== false;
  const cues = 1 + (atEnd ? 1 : 0) + repeats.length;
  const silences = 1 + (atEnd ? 1 : 0) + repeats.length;
  const label = (p: string, n: number) => Array.from({ length: n }, (_, i) => `[${p}${i}]`).join('');
  const graph = [`[0:a]${fmt}[content]`, `[1:a]${fmt},asplit=${cues}${label('cue', cues)}`, `[2:a]${fmt},asplit=${silences}${label('sil', silences)}`];
  let cueN = 0;
  let silN = 0;
  const silence = (seconds: number, name: string) => graph.push(`[sil${silN++}]atrim=duration=${seconds.toFixed(4)}[${name}]`);
  silence(CUE_GAP, 'gap1');
  const parts = [`[cue${cueN++}]`, '[gap1]'];
  if (repeats.length) {
    // The repeat track: silence, cue, silence, cue... then endless silence; summed into the content
    // exactly (amerge + pan), not through amix, which scales its inputs.
    const track: string[] = [];
    let t = 0;
    repeats.forEach((r, i) => {
      silence(r - t, `rg${i}`);
      track.push(`[rg${i}]`, `[cue${cueN++}]`);
      t = r + cueSeconds;
    });
    graph.push(`${track.join('')}concat=n=${track.length}:v=0:a=1,apad[rep]`);
    const c = s.channels;
    const pan = Array.from({ length: c }, (_, i) => `c${i}=c${i}+c${i + c}`).join('|');
    graph.push(`[content][rep]amerge=inputs=2,pan=${c}c|${pan},${fmt}[mixed]`);
    parts.push('[mixed]');
  } else parts.push('[content]');
  if (atEnd) {
    silence(CUE_GAP, 'gap2');
    parts.push('[gap2]', `[cue${cueN++}]`);
  }
  graph.push(`${parts.join('')}concat=n=${parts.length}:v=0:a=1[out]`);
  args.push('-filter_complex', graph.join(';'), '-map', '[out]');
  if (!markSamples) {
    args.push('-map_metadata', '0', ...encoder, '-ar', String(s.rate), '-f', AUDIO_MUXERS[format]!, fileUrl(output));
    await runFfmpeg(args);
    return;
  }
  // A further sample layer (the watermark) over the cued signal, then one encode: decoded once, encoded once.
  const { stdout } = await runFfmpeg([...args, '-f', 'f32le', '-ac', String(s.channels), '-ar', String(s.rate), 'pipe:1']);
  const pcm = planarOf(new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength)), s.channels);
  const all = interleavedOf(markSamples(pcm, s.rate));
  await runFfmpeg(
    ['-y', '-f', 'f32le', '-ar', String(s.rate), '-ac', String(s.channels), '-i', 'pipe:0', '-i', fileUrl(input), '-map', '0:a', '-map_metadata', '1', ...encoder, '-f', AUDIO_MUXERS[format]!, fileUrl(output)],
    { stdin: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) },
  );
}

// ---------------------------------------------------------------------------------------------
// Detection

/** Analysis rate: both tones and their neighbourhood are well below its Nyquist frequency. */
const ANALYSIS_RATE = 16000;
/** 10 ms frames: a dot (100 ms) spans ten of them. */
const FRAME = 160;
/** Share of a frame's energy each tone must hold for the frame to count as "cue on". */
const TONE_SHARE = 0.12;
/** Frames quieter than this mean square (-60 dBFS) are silence whatever their spectrum. */
const SILENCE = 1e-6;

function goertzelPower(x: Float32Array, from: number, n: number, freq: number): number {
  const w = (2 * Math.PI * freq) / ANALYSIS_RATE;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = x[from + i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Whether each 10 ms frame carries both cue tones as a large share of its energy (gain-independent). */
export function cueFrames(pcm: Float32Array): Uint8Array {
  const frames = Math.floor(pcm.length / FRAME);
  const on = new Uint8Array(frames);
  for (let f = 0; f < frames; f++) {
    let energy = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) energy += pcm[i]! * pcm[i]!;
    if (energy / FRAME < SILENCE) continue;
    // A pure tone of mean square E/N gives Goertzel power E*N/2: normalise by that.
    const full = (energy * FRAME) / 2;
    on[f] = CUE_TONES.every((t) => goertzelPower(pcm, f * FRAME, FRAME, t) / full > TONE_SHARE) ? 1 : 0;
  }
  return on;
}

/** Start times (seconds) of the short-long-short-short pattern in an on/off frame sequence. */
export function findCuePattern(on: Uint8Array): number[] {
  const runs: { start: number; length: number }[] = [];
  for (let i = 0; i < on.length; ) {
    if (!on[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < on.length && on[j]) j++;
    runs.push({ start: i, length: j - i });
    i = j;
  }
  const unit = CUE_UNIT * (ANALYSIS_RATE / FRAME);
  const near = (frames: number, units: number) => Math.abs(frames - units * unit) <= 0.45 * unit + 1;
  const found: number[] = [];
  const want = CUE_SEGMENTS.map(([a, b]) => [a, b - a] as const);
  for (let r = 0; r + want.length <= runs.length; r++) {
    const first = runs[r]!;
    const ok = want.every(([startUnits, lenUnits], k) => {
      const run = runs[r + k]!;
      return near(run.length, lenUnits) && near(run.start - first.start, startUnits);
    });
    if (ok) found.push(Number(((first.start * FRAME) / ANALYSIS_RATE).toFixed(2)));
  }
  return found;
}

/** Decodes the first audio stream (mono, 16 kHz) and reports every tamga cue in it. */
export async function detectAudibleCue(path: string): Promise<Finding[]> {
  let carry: Buffer = Buffer.alloc(0);
  const onFrames: Uint8Array[] = [];
  const step = FRAME * 4 * 100; // process a second at a time: memory stays flat on long files
  await runFfmpeg(['-i', fileUrl(path), '-map', '0:a:0', '-ac', '1', '-ar', String(ANALYSIS_RATE), '-f', 'f32le', '-acodec', 'pcm_f32le', '-'], {
    onStdout: (c) => {
      carry = carry.length ? Buffer.concat([carry, c]) : c;
      while (carry.length >= step) {
        const block = carry.subarray(0, step);
        onFrames.push(cueFrames(new Float32Array(block.buffer.slice(block.byteOffset, block.byteOffset + block.length))));
        carry = carry.subarray(step);
      }
    },
  });
  const rest = carry.subarray(0, carry.length - (carry.length % 4));
  if (rest.length) onFrames.push(cueFrames(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.length))));
  const all = new Uint8Array(onFrames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of onFrames) all.set(f, at), (at += f.length);
  const starts = findCuePattern(all);
  if (!starts.length) return [];
  return [{ layer: 'visible', kind: 'audio:tamga-cue', value: { pattern: 'short-long-short-short', starts }, confidence: 0.95, where: `audio@${starts[0]}s` }];
}
