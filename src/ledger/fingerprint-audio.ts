import { fileUrl, runFfmpeg } from '../media/ffmpeg.js';
import { fft } from '../watermark/fft.js';
import { popcount32 } from './fingerprint-image.js';

/**
 * Audio fingerprint (after Haitsma & Kalker's sub-fingerprints): the audio is decoded to mono at
 * 5,512 Hz; every 128 samples (23 ms) a 2,048-sample Hann frame gives the energy of 33 bands
 * spaced logarithmically from 300 to 2,000 Hz, and 32 bits: bit m is the sign of the change, from
 * the previous frame, of the energy difference between bands m and m + 1. Codecs keep the coarse
 * spectral shape, so an MP3 or AAC re-encode flips a minority of bits; unrelated audio differs in
 * about half of them. Copies are matched by bit error rate (BER) over aligned frames; the
 * alignment comes from frames whose 32 bits agree exactly (a few always do in a copy).
 */

export const AUDIO_FINGERPRINT_METHOD = 'audio-bark32/1';
export const AUDIO_RATE = 5512;
const FRAME = 2048;
const HOP = 128;
const BANDS = 33;
const LOW_HZ = 300;
const HIGH_HZ = 2000;
/** At most this many frames are kept (~190 s): a copy shares its beginning, and the index stays small. */
export const MAX_AUDIO_FRAMES = 8192;
/** Decoded PCM above this many seconds is not read further (ffmpeg stops at -t). */
const MAX_SECONDS = Math.ceil(((MAX_AUDIO_FRAMES + 1) * HOP + FRAME) / AUDIO_RATE);

const BAND_EDGES: Int32Array = (() => {
  const e = new Int32Array(BANDS + 1);
  for (let b = 0; b <= BANDS; b++) e[b] = Math.round((LOW_HZ * Math.pow(HIGH_HZ / LOW_HZ, b / BANDS) * FRAME) / AUDIO_RATE);
  return e;
})();
const HANN: Float64Array = Float64Array.from({ length: FRAME }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FRAME));

/** Sub-fingerprints of mono PCM at AUDIO_RATE. */
export function audioFingerprintOfPcm(pcm: Float32Array): Uint32Array {
  const frames = Math.min(MAX_AUDIO_FRAMES, Math.max(0, Math.floor((pcm.length - FRAME) / HOP)));
  const out = new Uint32Array(frames);
  const re = new Float64Array(FRAME);
  const im = new Float64Array(FRAME);
  let prev = new Float64Array(BANDS);
  let cur = new Float64Array(BANDS);
  for (let f = -1; f < frames; f++) {
    const at = (f + 1) * HOP;
    for (let i = 0; i < FRAME; i++) (re[i] = pcm[at + i]! * HANN[i]!), (im[i] = 0);
    fft(re, im);
    for (let b = 0; b < BANDS; b++) {
      let e = 0;
      for (let k = BAND_EDGES[b]!; k < BAND_EDGES[b + 1]!; k++) e += re[k]! * re[k]! + im[k]! * im[k]!;
      cur[b] = e;
    }
    if (f >= 0) {
      let bits = 0;
      for (let m = 0; m < 32; m++) if (cur[m]! - cur[m + 1]! - (prev[m]! - prev[m + 1]!) > 0) bits |= 1 << m;
      out[f] = bits >>> 0;
    }
    [prev, cur] = [cur, prev];
  }
  return out;
}

/** The fingerprint of the first audio stream of a file (ffmpeg decodes it). */
export async function audioFingerprint(path: string): Promise<Uint32Array> {
  // As decodeChannels (watermark/audio-layer.ts), mono and cut at MAX_SECONDS so a long file costs no more.
  const { stdout } = await runFfmpeg(['-i', fileUrl(path), '-map', '0:a:0', '-t', String(MAX_SECONDS), '-f', 'f32le', '-ac', '1', '-ar', String(AUDIO_RATE), 'pipe:1']);
  return audioFingerprintOfPcm(new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + (stdout.byteLength & ~3))));
}

/** An entry's frames with a sorted copy for finding exact agreements (the alignment candidates). */
export interface AudioIndexEntry {
  frames: Uint32Array;
  sortedValues: Uint32Array;
  sortedFrames: Uint32Array;
}

export function indexAudio(frames: Uint32Array): AudioIndexEntry {
  const order = Uint32Array.from({ length: frames.length }, (_, i) => i).sort((a, b) => frames[a]! - frames[b]! || a - b);
  return { frames, sortedValues: order.map((i) => frames[i]!), sortedFrames: order };
}

/** Frames whose bits are all equal carry no shape (silence, clipping): never alignment anchors. */
const uninformative = (v: number) => v === 0 || v === 0xffffffff;

function lowerBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Frames of the query used to find alignments, and the most frequent anchors followed per entry. */
const ANCHOR_FRAMES = 2048;
const CANDIDATE_OFFSETS = 4;
/** A value repeated more than this in an entry (a held note) is too ambiguous to anchor on. */
const MAX_POSTINGS = 32;

/** The best alignment of a query on an entry: BER over the overlapping frames, or undefined with no anchor. */
export function bestAudioAlignment(query: Uint32Array, e: AudioIndexEntry): { offset: number; ber: number; frames: number } | undefined {
  const votes = new Map<number, number>();
  for (let i = 0; i < Math.min(query.length, ANCHOR_FRAMES); i++) {
    const v = query[i]!;
    if (uninformative(v)) continue;
    let k = lowerBound(e.sortedValues, v);
    const first = k;
    for (; k < e.sortedValues.length && e.sortedValues[k] === v && k - first < MAX_POSTINGS; k++) {
      const offset = e.sortedFrames[k]! - i;
      votes.set(offset, (votes.get(offset) ?? 0) + 1);
    }
  }
  if (!votes.size) return undefined;
  const offsets = [...votes.entries()].sort((a, b) => b[1] - a[1]).slice(0, CANDIDATE_OFFSETS).map(([o]) => o);
  let best: { offset: number; ber: number; frames: number } | undefined;
  for (const offset of offsets) {
    // entry frame j = query frame i + offset
    const start = Math.max(0, -offset);
    const end = Math.min(query.length, e.frames.length - offset);
    if (end - start <= 0) continue;
    let errors = 0;
    for (let i = start; i < end; i++) errors += popcount32(query[i]! ^ e.frames[i + offset]!);
    const frames = end - start;
    const ber = errors / (32 * frames);
    if (!best || ber < best.ber) best = { offset, ber, frames };
  }
  return best;
}

export function audioToBytes(frames: Uint32Array): Uint8Array {
  const b = Buffer.alloc(frames.length * 4);
  for (let i = 0; i < frames.length; i++) b.writeUInt32LE(frames[i]!, i * 4);
  return b;
}

export function audioFromBytes(b: Uint8Array): Uint32Array {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out = new Uint32Array(b.byteLength >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = buf.readUInt32LE(i * 4);
  return out;
}
