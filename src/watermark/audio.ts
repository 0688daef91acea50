import { TamgaError } from '../core/errors.js';
import { fft } from './fft.js';
import { decodePayloadSoft, encodePayloadBits, FALSE_POSITIVE_PER_DECODE, PAYLOAD_CODE_BITS, WATERMARK_ID_BYTES } from './payload.js';
import { KeyedPrng } from './prng.js';

/**
 * Keyed audio watermark: direct-sequence spread spectrum with a multi-tone chip, carrying a
 * 64-bit id.
 *
 * Design (why this shape):
 * - The chip is a keyed multi-tone c(t) = Σ_j cos(2π j t / T + φ_j) over the harmonics of the frame
 *   rate 1/T (T = 32 ms) between 500 Hz and 4 kHz: the band survives MP3 at 64 kbps, AAC and
 *   resampling, and a continuous-time definition means the same chip is sampled exactly at any
 *   rate — the embedder works at the file's own rate, the detector at DETECT_RATE (16 kHz), so a
 *   resampled copy needs no special handling.
 * - Each frame carries one bit as ±c(t), with raised-cosine ramps at frame edges so sign flips
 *   don't click. The amplitude follows each channel's own RMS frame by frame (BAND_LEVEL below
 *   it), so the mark hides under the signal (-30.5 dB); frames of digital silence are not touched.
 * - Synchronisation: the chip is T-periodic, so an FFT cross-correlation of the signal with one
 *   period finds the frame phase (the sample offset where the frame-spaced correlations carry the
 *   most energy); a keyed SYNC_BITS pattern at the start of every block then finds the block
 *   start. Frames fold cyclically onto block positions, so any excerpt of one block (~4.9 s)
 *   holds every position wherever it starts, and longer audio averages every block.
 * - Soft symbols: each frame is whitened on its own (see Analysis.fold) and frame levels are
 *   floored relative to the median frame, so gaps and added digital silence weigh nothing
 *   instead of dividing rounding noise by nothing.
 * - Decoding: the whole signal at one frame phase, then windows of two blocks each at its own
 *   phase (a splice, a gap of a fraction of a frame, a cut inside), then, only when asked, the
 *   same at every playback speed within ±5% (speedSearch).
 * - Payload: id (8 bytes) + keyed 24-bit MAC, Reed-Solomon with 5 parity bytes, soft-decision
 *   erasure decoding of the least reliable bytes — the same code and false-positive argument as
 *   the image mark (FALSE_POSITIVE_PER_DECODE in payload.ts: <= 3.3e-9 per decode, all erasure
 *   levels included). `pValue` counts every decode tried: 3 + 2 per window, 15 for a 30 s clip
 *   (5e-8), at most 67 (2.2e-7) for long audio; the speed search multiplies that by up to 51.
 * - Volume changes flip nothing (correlation signs are scale-free); polarity inversion is caught
 *   by the sign of the sync correlation.
 */

export const DETECT_RATE = 16000;
const T = 0.032;
const FRAME = Math.round(DETECT_RATE * T); // 512 samples at 16 kHz
const LOW_HZ = 500;
const HIGH_HZ = 4000;
const ID_BYTES = WATERMARK_ID_BYTES;
const CODE_BITS = PAYLOAD_CODE_BITS;
const SYNC_BITS = 24;
const BLOCK = SYNC_BITS + CODE_BITS;
/** Shortest input the embedder accepts: one whole block (a partial block can never be decoded). */
export const MIN_AUDIO_SECONDS = BLOCK * T;
const DOMAIN = 'audio/v2';
/** Watermark level relative to the frame's RMS (amplitude ratio 0.03: -30.5 dB, SNR >= 30 dB). */
const BAND_LEVEL = 0.03;
/** Floor relative to full scale, so quiet passages still carry a little (-66 dBFS). */
const FLOOR = 0.0005;
/** A channel's frame whose peak is at most one 16-bit step is digital silence and is left untouched. */
const SILENT_PEAK = 1 / 32768;
/** Frame energies below this fraction of the median frame's count as this floor in the detector (-10 dB). */
const ENERGY_FLOOR = 0.1;
/** The same for the per-bin magnitudes of the whitened frames (amplitude ratio, -30 dB). */
const LEVEL_FLOOR = 0.03;
/** Width of the magnitude smoothing used to whiten the spectrum before correlation, in FFT bins. */
const WHITEN_BINS = 64;
/** Raised-cosine ramp at frame edges, in seconds. */
const RAMP = 0.003;
/** Sync candidates decoded over the whole signal, and in each window. */
const GLOBAL_CANDIDATES = 3;
const WINDOW_CANDIDATES = 2;
/** Windows of two blocks, one block apart, each with its own frame phase (gaps, splices); at most this many. */
const MAX_WINDOWS = 32;
/**
 * Speed search: every speed within ±5% in steps of 0.2%, nearest to 1 first, each a full decode.
 * It finds speeds that are (within about 1e-5) a multiple of the step, the common ±5%, ±2%, ±1%:
 * between steps, the frame timing drifts by more than the chip's correlation width (about two
 * samples at 16 kHz, from the 3.5 kHz band) across a window. Ranking speeds by a payload-free
 * statistic first was tried and is too weak on speech (the per-frame SNR is about -7 dB there).
 */
const SPEED_RANGE = 0.05;
const SPEED_STEP = 0.002;

export interface AudioWatermarkDetection {
  payload: Uint8Array;
  /** Upper bound on the chance that unmarked audio gives this answer (every decode tried counts). */
  pValue: number;
  /** Blocks' worth of audio folded into the decision (>= 1). */
  blocks: number;
  /** Where the first block starts, in seconds of the analysed audio. */
  offsetSeconds: number;
  correctedBytes: number;
  /** Playback speed the mark was found at (1 unless a speed search found it sped up or slowed down). */
  speed: number;
}

export interface AudioDetectOptions {
  /**
   * Also try playback speeds within ±5% in steps of 0.2% (a copy resampled without its rate
   * being corrected, `sox speed 1.05`, `asetrate`): 50 more decodes of the whole signal when
   * nothing is found, so off by default (like audiowmark's --detect-speed). A speed between two
   * steps (x1.031) is not found: the frame timing drifts out of the chip's correlation width.
   */
  speedSearch?: boolean;
}

interface Keyed {
  tones: { omega: number; phase: number }[];
  /** Block position -> code bit index, for the CODE_BITS payload positions (keyed interleaving). */
  bitAt: Int16Array;
  sync: Int8Array;
  /** One period of the chip at DETECT_RATE, unit RMS. */
  chip16k: Float64Array;
  /** FFTs of chip16k zero-padded to a power of two, by size. */
  chipSpectra: Map<number, { re: Float64Array; im: Float64Array }>;
}

const cache = new Map<string, Keyed>();

function keyed(key: string): Keyed {
  const hit = cache.get(key);
  if (hit) return hit;
  const prng = new KeyedPrng(key, `${DOMAIN}/chip`);
  const tones: Keyed['tones'] = [];
  for (let j = Math.ceil(LOW_HZ * T); j <= Math.floor(HIGH_HZ * T); j++) tones.push({ omega: (2 * Math.PI * j) / T, phase: 2 * Math.PI * prng.nextFloat() });
  const norm = Math.sqrt(2 / tones.length);
  const chip16k = new Float64Array(FRAME);
  for (let n = 0; n < FRAME; n++) {
    const t = n / DETECT_RATE;
    let v = 0;
    for (const tone of tones) v += Math.cos(tone.omega * t + tone.phase);
    chip16k[n] = v * norm;
  }
  const order = new KeyedPrng(key, `${DOMAIN}/interleave`).permutation(CODE_BITS);
  const bitAt = Int16Array.from(order);
  const sp = new KeyedPrng(key, `${DOMAIN}/sync`);
  const sync = Int8Array.from({ length: SYNC_BITS }, () => (sp.nextByte() & 1 ? 1 : -1));
  const k = { tones, bitAt, sync, chip16k, chipSpectra: new Map() };
  if (cache.size > 64) cache.clear();
  cache.set(key, k);
  return k;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new TamgaError('INVALID_OPTION', 'watermarkKey: a non-empty key is required', { option: 'watermarkKey' });
}

/** The ±1 symbol of every block position: sync bits, then the interleaved code bits. */
function blockSymbols(id: Uint8Array, key: string, k: Keyed): Int8Array {
  const bits = encodePayloadBits(id, key, DOMAIN);
  const out = new Int8Array(BLOCK);
  out.set(k.sync);
  for (let i = 0; i < CODE_BITS; i++) out[SYNC_BITS + i] = bits[k.bitAt[i]!] ? 1 : -1;
  return out;
}

/**
 * Adds the mark to every channel (the same chip and symbols, so a mono downmix keeps it), each at
 * a level that follows that channel's own loudness frame by frame. Frames of digital silence in a
 * channel stay bit-for-bit silent, so a silent channel stays silent. Samples are floats in
 * [-1, 1]; the result is clipped to that range. Audio shorter than one block (MIN_AUDIO_SECONDS)
 * is refused: a partial block could never be found again.
 */
export function embedAudioWatermark(channels: Float32Array[], sampleRate: number, id: Uint8Array, key: string): Float32Array[] {
  checkKey(key);
  if (id.length !== ID_BYTES) throw new TamgaError('INVALID_OPTION', `watermark id: expected ${ID_BYTES} bytes, got ${id.length}`, { option: 'id' });
  if (!channels.length || !(sampleRate >= 8000)) throw new TamgaError('INVALID_OPTION', `audio watermark: needs at least one channel at >= 8 kHz (got ${channels.length} at ${sampleRate} Hz)`);
  const length = channels[0]!.length;
  if (length < MIN_AUDIO_SECONDS * sampleRate) {
    throw new TamgaError('UNSUPPORTED_FORMAT', `audio watermark: the audio lasts ${(length / sampleRate).toFixed(2)} s, shorter than one ${MIN_AUDIO_SECONDS.toFixed(2)} s block of the mark; it would never be detected`, { seconds: length / sampleRate, minSeconds: MIN_AUDIO_SECONDS });
  }
  const k = keyed(key);
  const symbols = blockSymbols(id, key, k);
  const frameLen = sampleRate * T;
  const frames = Math.ceil(length / frameLen);
  const norm = Math.sqrt(2 / k.tones.length);
  const ramp = RAMP * sampleRate;
  const chip = sampledChip(k, sampleRate, length);
  const period = chip.length;
  // The unit mark (symbol x chip x frame window), shared by every channel.
  const unit = new Float32Array(length);
  for (let n = 0, p = 0; n < length; n++, p = p + 1 === period ? 0 : p + 1) {
    const f = Math.floor(n / frameLen);
    const pos = n - f * frameLen;
    const edge = Math.min(pos, frameLen - pos);
    const win = edge >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp);
    unit[n] = symbols[f % BLOCK]! * win * chip[p]! * norm;
  }
  return channels.map((ch) => {
    const out = new Float32Array(length);
    for (let f = 0; f < frames; f++) {
      const a = Math.floor(f * frameLen);
      const b = Math.min(length, Math.floor((f + 1) * frameLen));
      let e = 0;
      let peak = 0;
      for (let n = a; n < b; n++) {
        const v = ch[n]!;
        e += v * v;
        if (v > peak) peak = v;
        else if (-v > peak) peak = -v;
      }
      if (peak <= SILENT_PEAK) {
        out.set(ch.subarray(a, b), a);
        continue;
      }
      const amp = Math.max(FLOOR, BAND_LEVEL * Math.sqrt(e / Math.max(1, b - a)));
      for (let n = a; n < b; n++) {
        const v = ch[n]! + amp * unit[n]!;
        out[n] = v > 1 ? 1 : v < -1 ? -1 : v;
      }
    }
    return out;
  });
}

/**
 * The chip Σ_j cos(ω_j n / rate + φ_j) sampled at `rate`, for n in one period of the sampled
 * sequence: every tone is a harmonic of 1/T, so the samples repeat after the least multiple of
 * rate·T that is an integer (1536 at 48 kHz, 5 x 1411.2 = 7056 at 44.1 kHz). Tabulating one
 * period makes the embedder O(1) per sample instead of O(tones). rate·T = rate·4/125, so an
 * integer rate repeats within 125 frames; a fractional rate tabulates the whole signal.
 */
function sampledChip(k: Keyed, sampleRate: number, length: number): Float64Array {
  let period = length;
  for (let q = 1; q <= 125; q++) {
    const p = q * sampleRate * T;
    if (Math.abs(p - Math.round(p)) < 1e-6) {
      period = Math.min(period, Math.round(p));
      break;
    }
  }
  period = Math.max(1, period);
  const table = new Float64Array(period);
  // Tone oscillators advanced by rotation (one complex multiply per tone per sample).
  const cos = k.tones.map((t) => Math.cos(t.phase));
  const sin = k.tones.map((t) => Math.sin(t.phase));
  const stepC = k.tones.map((t) => Math.cos(t.omega / sampleRate));
  const stepS = k.tones.map((t) => Math.sin(t.omega / sampleRate));
  for (let n = 0; n < period; n++) {
    let c = 0;
    for (let j = 0; j < cos.length; j++) {
      c += cos[j]!;
      const nc = cos[j]! * stepC[j]! - sin[j]! * stepS[j]!;
      sin[j] = sin[j]! * stepC[j]! + cos[j]! * stepS[j]!;
      cos[j] = nc;
    }
    table[n] = c;
  }
  return table;
}

function chipSpectrum(k: Keyed, size: number): { re: Float64Array; im: Float64Array } {
  let s = k.chipSpectra.get(size);
  if (!s) {
    s = { re: new Float64Array(size), im: new Float64Array(size) };
    s.re.set(k.chip16k);
    fft(s.re, s.im);
    if (k.chipSpectra.size > 4) k.chipSpectra.clear();
    k.chipSpectra.set(size, s);
  }
  return s;
}

/** r[n] = Σ_k x[n + k] · chip[k] over one frame, for every n, by FFT (one big transform). */
function correlateWithChip(x: Float32Array, k: Keyed): Float64Array {
  let size = 1;
  while (size < x.length + FRAME) size <<= 1;
  const xr = new Float64Array(size);
  const xi = new Float64Array(size);
  xr.set(x);
  const { re: cr, im: ci } = chipSpectrum(k, size);
  fft(xr, xi);
  // Spectral whitening: divide by the signal's magnitude smoothed over neighbouring bins, so a
  // loud tone that sits on a chip harmonic (a disclosure cue at 1 kHz, a sustained note) cannot
  // outweigh the mark spread over all of them.
  const mag = new Float64Array(size);
  for (let i = 0; i < size; i++) mag[i] = Math.hypot(xr[i]!, xi[i]!);
  const half = WHITEN_BINS >> 1;
  let acc = 0;
  for (let i = 0; i < Math.min(size, WHITEN_BINS); i++) acc += mag[i]!;
  for (let i = 0; i < size; i++) {
    const lo = i - half - 1;
    const hi = i + half;
    if (lo >= 0) acc -= mag[lo]!;
    if (hi < size && hi >= WHITEN_BINS) acc += mag[hi]!;
    const w = acc / WHITEN_BINS + 1e-9;
    const re = xr[i]! / w;
    const im = xi[i]! / w;
    xr[i] = re * cr[i]! + im * ci[i]!;
    xi[i] = im * cr[i]! - re * ci[i]!;
  }
  fft(xr, xi, true);
  return xr.subarray(0, x.length);
}

/** One signal's chip correlation with the per-sample energy needed to normalise any frame. */
class Analysis {
  readonly r: Float64Array;
  /** prefix[n] = Σ_{m<n} x[m]² */
  private readonly prefix: Float64Array;
  private readonly floor: number;
  readonly frames: number;

  constructor(
    private readonly x: Float32Array,
    private readonly k: Keyed,
  ) {
    this.r = correlateWithChip(x, k);
    this.prefix = new Float64Array(x.length + 1);
    for (let n = 0; n < x.length; n++) this.prefix[n + 1] = this.prefix[n]! + x[n]! * x[n]!;
    this.frames = Math.floor(x.length / FRAME) - 1;
    // Energy floor relative to the median frame: a near-silent frame (a gap, digital silence
    // added before or after) would otherwise divide rounding noise by nothing and drown the mark.
    const e = Float64Array.from({ length: Math.max(0, this.frames) }, (_, f) => this.prefix[(f + 1) * FRAME]! - this.prefix[f * FRAME]!).sort();
    this.floor = Math.max(1e-12, ENERGY_FLOOR * (e[e.length >> 1] ?? 0));
  }

  /** The normalised soft symbol of the frame starting at sample a. */
  soft(a: number): number {
    const e = this.prefix[a + FRAME]! - this.prefix[a]!;
    return this.r[a]! / Math.sqrt(e > this.floor ? e : this.floor);
  }

  /** The frame phase over frames [f0, f1): the offset whose frame-spaced soft symbols carry the most energy, with that energy's ratio to the mean over offsets. */
  phase(f0: number, f1: number): { phase: number; peak: number; energy: number } {
    let best = 0;
    let bestE = -1;
    let sum = 0;
    for (let o = 0; o < FRAME; o++) {
      let e = 0;
      for (let f = f0; f < f1; f++) {
        const v = this.soft(o + f * FRAME);
        e += v * v;
      }
      sum += e;
      if (e > bestE) {
        bestE = e;
        best = o;
      }
    }
    return { phase: best, peak: bestE / (sum / FRAME + 1e-30), energy: bestE };
  }

  /**
   * Soft symbols of frames [f0, f1) at `phase`, folded cyclically onto block positions (frame
   * index mod BLOCK), each frame whitened on its own: its spectrum at the tone bins correlated
   * with the chip's, every bin weighted by 1 / (the frame's magnitude there, smoothed over five
   * bins)², times the frame's mean band level so every frame counts alike. Speech and music are
   * far from flat within a frame (formants, harmonics 30 dB apart), and the mark is flat: the
   * bins where the host is weak carry the most, which the global whitening of `r` cannot see.
   * Levels are floored relative to the median frame (gaps, digital silence).
   */
  fold(phase: number, f0: number, f1: number): Float64Array {
    const lo = Math.ceil(LOW_HZ * T);
    const hi = Math.floor(HIGH_HZ * T);
    const bins = hi - lo + 1;
    const chip = chipSpectrum(this.k, FRAME);
    const re = new Float64Array(FRAME);
    const im = new Float64Array(FRAME);
    const mag = new Float64Array(hi + 3);
    const frames = f1 - f0;
    const levels = new Float64Array(frames);
    const smooth = new Float64Array(frames * bins);
    const dot = new Float64Array(frames * bins);
    for (let i = 0; i < frames; i++) {
      const a = phase + (f0 + i) * FRAME;
      for (let n = 0; n < FRAME; n++) re[n] = this.x[a + n]!;
      im.fill(0);
      fft(re, im);
      let level = 0;
      for (let j = lo - 2; j <= hi + 2; j++) level += mag[j] = Math.hypot(re[j]!, im[j]!);
      levels[i] = level / (bins + 4);
      for (let j = lo; j <= hi; j++) {
        smooth[i * bins + j - lo] = (mag[j - 2]! + mag[j - 1]! + mag[j]! + mag[j + 1]! + mag[j + 2]!) / 5;
        dot[i * bins + j - lo] = re[j]! * chip.re[j]! + im[j]! * chip.im[j]!;
      }
    }
    const sorted = Float64Array.from(levels).sort();
    const floor = Math.max(1e-9, LEVEL_FLOOR * (sorted[sorted.length >> 1] ?? 0));
    const base = new Float64Array(BLOCK);
    for (let i = 0; i < frames; i++) {
      const level = Math.max(levels[i]!, floor);
      let v = 0;
      for (let j = i * bins; j < (i + 1) * bins; j++) v += dot[j]! / Math.max(smooth[j]!, floor) ** 2;
      const f = f0 + i;
      base[f % BLOCK] = base[f % BLOCK]! + level * v;
    }
    return base;
  }
}

interface Decoded {
  payload: Uint8Array;
  corrected: number;
  start: number;
}

/** Block starts ranked by agreement of their sync positions with the keyed pattern; the best `n` decoded. */
function decodeFold(base: Float64Array, key: string, k: Keyed, n: number, tally: { decodes: number }): Decoded | undefined {
  const candidates: { start: number; score: number; sign: number }[] = [];
  for (let s = 0; s < BLOCK; s++) {
    let score = 0;
    for (let i = 0; i < SYNC_BITS; i++) score += base[(s + i) % BLOCK]! * k.sync[i]!;
    candidates.push({ start: s, score: Math.abs(score), sign: Math.sign(score) || 1 });
  }
  candidates.sort((a, b) => b.score - a.score);
  for (const cand of candidates.slice(0, n)) {
    const acc = new Float64Array(CODE_BITS);
    for (let i = 0; i < CODE_BITS; i++) acc[k.bitAt[i]!] = cand.sign * base[(cand.start + SYNC_BITS + i) % BLOCK]!;
    tally.decodes++;
    const hit = decodePayloadSoft(acc, key, DOMAIN);
    if (hit) return { payload: hit.id, corrected: hit.corrected, start: cand.start };
  }
  return undefined;
}

/** Whole signal first (everything folded at one frame phase), then windows of two blocks, each at its own phase. */
function decodeSignal(a: Analysis, key: string, k: Keyed, tally: { decodes: number }): (Decoded & { phase: number; blocks: number }) | undefined {
  const frames = a.frames;
  if (frames < BLOCK) return undefined;
  const whole = a.phase(0, frames).phase;
  const hit = decodeFold(a.fold(whole, 0, frames), key, k, GLOBAL_CANDIDATES, tally);
  if (hit) return { ...hit, phase: whole, blocks: frames / BLOCK };
  const w = 2 * BLOCK;
  if (frames <= w) return undefined;
  const hop = Math.max(BLOCK, Math.ceil((frames - w) / (MAX_WINDOWS - 1)));
  const starts: number[] = [];
  for (let f0 = 0; f0 + w <= frames; f0 += hop) starts.push(f0);
  if (starts[starts.length - 1]! + w < frames) starts.push(frames - w);
  for (const f0 of starts) {
    const p = a.phase(f0, f0 + w).phase;
    const h = decodeFold(a.fold(p, f0, f0 + w), key, k, WINDOW_CANDIDATES, tally);
    if (h) return { ...h, phase: p, blocks: w / BLOCK };
  }
  return undefined;
}

/** x played at `speed` (sped up > 1) undone: y[n] = x[n / speed], Catmull-Rom interpolation (flatter than linear up to the 4 kHz top tone). */
function unspeed(x: Float32Array, speed: number): Float32Array {
  const y = new Float32Array(Math.max(0, Math.floor((x.length - 2) * speed)));
  const at = (j: number) => x[j < 0 ? 0 : j >= x.length ? x.length - 1 : j]!;
  for (let i = 0; i < y.length; i++) {
    const t = i / speed;
    const j = Math.floor(t);
    const f = t - j;
    const p0 = at(j - 1);
    const p1 = x[j]!;
    const p2 = at(j + 1);
    const p3 = at(j + 2);
    y[i] = p1 + 0.5 * f * (p2 - p0 + f * (2 * p0 - 5 * p1 + 4 * p2 - p3 + f * (3 * (p1 - p2) + p3 - p0)));
  }
  return y;
}

/**
 * Looks for a mark under `key` in mono audio at DETECT_RATE (downmix and resample with ffmpeg,
 * e.g. `-ac 1 -ar 16000 -f f32le`). Returns undefined when none is found.
 */
export function detectAudioWatermark(mono16k: Float32Array, key: string, opts: AudioDetectOptions = {}): AudioWatermarkDetection | undefined {
  checkKey(key);
  if (Math.floor(mono16k.length / FRAME) - 1 < BLOCK) return undefined;
  const k = keyed(key);
  const tally = { decodes: 0 };
  const found = (h: Decoded & { phase: number; blocks: number }, speed: number): AudioWatermarkDetection => ({
    payload: h.payload,
    pValue: FALSE_POSITIVE_PER_DECODE * tally.decodes,
    blocks: Number(h.blocks.toFixed(2)),
    offsetSeconds: (h.phase + h.start * FRAME) / DETECT_RATE / speed,
    correctedBytes: h.corrected,
    speed,
  });
  const direct = decodeSignal(new Analysis(mono16k, k), key, k, tally);
  if (direct) return found(direct, 1);
  if (!opts.speedSearch) return undefined;
  const steps = Math.round(SPEED_RANGE / SPEED_STEP);
  for (let i = 1; i <= steps; i++) {
    for (const sign of [1, -1]) {
      const speed = Number((1 + sign * i * SPEED_STEP).toFixed(4));
      const h = decodeSignal(new Analysis(unspeed(mono16k, speed), k), key, k, tally);
      if (h) return found(h, speed);
    }
  }
  return undefined;
}
