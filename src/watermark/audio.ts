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
 *   rate 1/T (T = 64 ms) between 500 Hz and 4 kHz: the band survives MP3 at 64 kbps, AAC and
 *   resampling, and a continuous-time definition means the same chip is sampled exactly at any
 *   rate — the embedder works at the file's own rate, the detector at DETECT_RATE (16 kHz), so a
 *   resampled copy needs no special handling.
 * - Each frame carries one bit as ±c(t), with raised-cosine ramps at frame edges so sign flips
 *   don't click. The amplitude follows the frame's RMS in the band (BAND_LEVEL below it), so the
 *   mark hides under the music (-30.5 dB) and stays out of silence.
 * - Synchronisation: the chip is T-periodic, so an FFT cross-correlation of the whole signal with
 *   one period finds the frame phase (the sample offset where |correlation| is largest summed
 *   over all frames); a keyed SYNC_BITS pattern at the start of every block then finds the block
 *   start. A copy whose start was cut, or any excerpt of at least one block, decodes;
 *   longer audio averages every block, so it survives more. Frames fold cyclically onto block
 *   positions, so an excerpt of one block's length (~9.7 s) decodes wherever it starts.
 * - Payload: id (8 bytes) + keyed 24-bit MAC, Reed-Solomon with 5 parity bytes, soft-decision
 *   erasure decoding of the least reliable bytes — the same code and false-positive argument as
 *   the image mark (FALSE_POSITIVE_PER_DECODE in payload.ts: <= 3.3e-9 per decode, all erasure
 *   levels included), so with one decode for each of DECODE_CANDIDATES sync candidates the rate
 *   stays far below 1e-6 per item and key.
 * - Volume changes flip nothing (correlation signs are scale-free); polarity inversion is caught
 *   by also trying the negated sign sequence.
 */

export const DETECT_RATE = 16000;
const T = 0.064;
const FRAME = Math.round(DETECT_RATE * T); // 1024 samples at 16 kHz
const LOW_HZ = 500;
const HIGH_HZ = 4000;
const ID_BYTES = WATERMARK_ID_BYTES;
const CODE_BITS = PAYLOAD_CODE_BITS;
const SYNC_BITS = 24;
const BLOCK = SYNC_BITS + CODE_BITS;
const DECODE_CANDIDATES = 3;
const DOMAIN = 'audio/v1';
/** Watermark level relative to the frame's RMS (amplitude ratio 0.03: -30.5 dB, SNR >= 30 dB). */
const BAND_LEVEL = 0.03;
/** Floor relative to full scale, so quiet passages still carry a little (-66 dBFS). */
const FLOOR = 0.0005;
/** Width of the magnitude smoothing used to whiten the spectrum before correlation, in FFT bins. */
const WHITEN_BINS = 64;
/** Raised-cosine ramp at frame edges, in seconds. */
const RAMP = 0.004;

/** The shortest audio that carries one whole block of the mark (shorter audio cannot be read back). */
export const MIN_AUDIO_WATERMARK_SECONDS = ((BLOCK + 1) * FRAME) / DETECT_RATE;

export interface AudioWatermarkDetection {
  payload: Uint8Array;
  pValue: number;
  /** Blocks' worth of audio folded into the decision (>= 1). */
  blocks: number;
  /** Where the first block starts, in seconds of the analysed audio. */
  offsetSeconds: number;
  correctedBytes: number;
}

interface Keyed {
  tones: { omega: number; phase: number }[];
  /** Block position -> code bit index, for the CODE_BITS payload positions (keyed interleaving). */
  bitAt: Int16Array;
  sync: Int8Array;
  /** One period of the chip at DETECT_RATE, unit RMS. */
  chip16k: Float64Array;
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
  const k = { tones, bitAt, sync, chip16k };
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
 * Adds the mark to every channel (the same signal, so a mono downmix keeps it). Samples are
 * floats in [-1, 1]; the result is clipped to that range. Audio shorter than one block is marked
 * anyway (a partial block), but cannot be decoded on its own.
 */
export function embedAudioWatermark(channels: Float32Array[], sampleRate: number, id: Uint8Array, key: string): Float32Array[] {
  checkKey(key);
  if (id.length !== ID_BYTES) throw new TamgaError('INVALID_OPTION', `watermark id: expected ${ID_BYTES} bytes, got ${id.length}`, { option: 'id' });
  if (!channels.length || !(sampleRate >= 8000)) throw new TamgaError('INVALID_OPTION', `audio watermark: needs at least one channel at >= 8 kHz (got ${channels.length} at ${sampleRate} Hz)`);
  const k = keyed(key);
  const symbols = blockSymbols(id, key, k);
  const length = channels[0]!.length;
  const frameLen = sampleRate * T;
  const frames = Math.ceil(length / frameLen);
  // Per-frame amplitude from the mono mix's RMS.
  const amp = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const a = Math.floor(f * frameLen);
    const b = Math.min(length, Math.floor((f + 1) * frameLen));
    let e = 0;
    for (let n = a; n < b; n++) {
      let m = 0;
      for (const ch of channels) m += ch[n]!;
      m /= channels.length;
      e += m * m;
    }
    amp[f] = Math.max(FLOOR, BAND_LEVEL * Math.sqrt(e / Math.max(1, b - a)));
  }
  const norm = Math.sqrt(2 / k.tones.length);
  const ramp = RAMP * sampleRate;
  const mark = new Float32Array(length);
  const chip = sampledChip(k, sampleRate, length);
  const period = chip.length;
  for (let n = 0, p = 0; n < length; n++, p = p + 1 === period ? 0 : p + 1) {
    const f = Math.floor(n / frameLen);
    const pos = n - f * frameLen;
    const edge = Math.min(pos, frameLen - pos);
    const win = edge >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp);
    mark[n] = symbols[f % BLOCK]! * amp[f]! * win * chip[p]! * norm;
  }
  return channels.map((ch) => {
    const out = new Float32Array(length);
    for (let n = 0; n < length; n++) out[n] = Math.max(-1, Math.min(1, ch[n]! + mark[n]!));
    return out;
  });
}

/**
 * The chip Σ_j cos(ω_j n / rate + φ_j) sampled at `rate`, for n in one period of the sampled
 * sequence: every tone is a harmonic of 1/T, so the samples repeat after the least multiple of
 * rate·T that is an integer (3072 at 48 kHz, 5 x 2822.4 = 14112 at 44.1 kHz). Tabulating one
 * period makes the embedder O(1) per sample instead of O(tones). rate·T = rate·8/125, so an
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

/** r[n] = Σ_k x[n + k] · chip[k mod FRAME] for every n, by FFT (overlap-free: one big transform). */
function correlateWithChip(x: Float32Array, chip: Float64Array): Float64Array {
  let size = 1;
  while (size < x.length + FRAME) size <<= 1;
  const xr = new Float64Array(size);
  const xi = new Float64Array(size);
  xr.set(x);
  const cr = new Float64Array(size);
  const ci = new Float64Array(size);
  cr.set(chip);
  fft(xr, xi);
  fft(cr, ci);
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
    xr[i] = xr[i]! / w;
    xi[i] = xi[i]! / w;
  }
  for (let i = 0; i < size; i++) {
    const r = xr[i]! * cr[i]! + xi[i]! * ci[i]!;
    const im = xi[i]! * cr[i]! - xr[i]! * ci[i]!;
    xr[i] = r;
    xi[i] = im;
  }
  fft(xr, xi, true);
  return xr.subarray(0, x.length);
}

/**
 * Looks for a mark under `key` in mono audio at DETECT_RATE (downmix and resample with ffmpeg,
 * e.g. `-ac 1 -ar 16000 -f f32le`). Returns undefined when none is found.
 */
export function detectAudioWatermark(mono16k: Float32Array, key: string): AudioWatermarkDetection | undefined {
  checkKey(key);
  const frames = Math.floor(mono16k.length / FRAME) - 1;
  if (frames < BLOCK) return undefined;
  const k = keyed(key);
  const r = correlateWithChip(mono16k, k.chip16k);
  // Frame phase: the offset whose frame-spaced correlations carry the most energy, normalised per frame.
  let bestPhase = 0;
  let bestEnergy = -1;
  for (let o = 0; o < FRAME; o++) {
    let e = 0;
    for (let f = 0; f < frames; f++) {
      const v = r[o + f * FRAME]!;
      e += v * v;
    }
    if (e > bestEnergy) {
      bestEnergy = e;
      bestPhase = o;
    }
  }
  // Soft symbols, each normalised by the local signal energy (a loud passage must not dominate).
  const soft = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const a = bestPhase + f * FRAME;
    let e = 0;
    for (let n = a; n < a + FRAME; n++) e += mono16k[n]! * mono16k[n]!;
    soft[f] = r[a]! / (Math.sqrt(e) + 1e-9);
  }
  // Every block carries the same symbols, so the frames fold cyclically onto block positions: any
  // excerpt of one block's length covers every position, wherever it starts.
  const base = new Float64Array(BLOCK);
  for (let f = 0; f < frames; f++) base[f % BLOCK] = base[f % BLOCK]! + soft[f]!;
  // Block start: the cyclic offset whose sync positions agree best with the keyed sync pattern.
  const candidates: { start: number; score: number; sign: number }[] = [];
  for (let s = 0; s < BLOCK; s++) {
    let score = 0;
    for (let i = 0; i < SYNC_BITS; i++) score += base[(s + i) % BLOCK]! * k.sync[i]!;
    candidates.push({ start: s, score: Math.abs(score), sign: Math.sign(score) || 1 });
  }
  candidates.sort((a, b) => b.score - a.score);
  for (const cand of candidates.slice(0, DECODE_CANDIDATES)) {
    const acc = new Float64Array(CODE_BITS);
    for (let i = 0; i < CODE_BITS; i++) acc[k.bitAt[i]!] = cand.sign * base[(cand.start + SYNC_BITS + i) % BLOCK]!;
    const hit = decodePayloadSoft(acc, key, DOMAIN);
    if (hit) {
      return {
        payload: hit.id,
        pValue: FALSE_POSITIVE_PER_DECODE * DECODE_CANDIDATES,
        blocks: Number((frames / BLOCK).toFixed(2)),
        offsetSeconds: (bestPhase + cand.start * FRAME) / DETECT_RATE,
        correctedBytes: hit.corrected,
      };
    }
  }
  return undefined;
}
