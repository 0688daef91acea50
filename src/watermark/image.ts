import { TamgaError } from '../core/errors.js';
import { cyclicCrossCorrelationWith, spectrum } from './fft.js';
import { decodePayloadSoft, encodePayloadBits, FALSE_POSITIVE_PER_ATTEMPT, MAX_ERASURES, PAYLOAD_CODE_BITS, WATERMARK_ID_BYTES } from './payload.js';
import { KeyedPrng } from './prng.js';

/**
 * Keyed image watermark: a periodic spread-spectrum tile in the luminance, carrying a 64-bit id.
 *
 * Design (why this shape):
 * - Geometry is normalised, not searched blindly: every image is viewed at a working resolution
 *   whose short side is WORK px. A resize therefore lands back on the same grid; a crop keeps the
 *   tile's period but shifts its phase and, when it shortens the short side, stretches the period.
 * - The mark is a P x P tile of CHIP x CHIP chips repeated over the whole image (Kutter-style
 *   periodic mark). Folding the image modulo the period averages every copy of the tile, which
 *   both lifts the signal out of the content and makes any crop decodable. A quarter of the chips
 *   are a keyed synchronisation template: a 2D cyclic cross-correlation (FFT) over all P² shifts
 *   finds the phase, and a search over a few dozen candidate periods finds the crop's scale.
 * - Chips are 2x2 working pixels (>= 2 px of the original at 256 px short side, ~12 px on a 12 MP
 *   photo), so the energy sits at low-to-mid frequencies that survive JPEG and downscaling.
 * - Payload: id (8 bytes) + a keyed 24-bit MAC, Reed-Solomon coded with 5 parity bytes, 128 bits
 *   spread over 768 keyed ±1 chips per tile (6 per bit per tile). Decoding is soft-decision: the
 *   bytes whose weakest bit is least reliable are tried as erasures (0..4 of them).
 * - Perceptual masking (contrast masking): the amplitude grows with local contrast, from 1.5 grey
 *   levels in flat areas to 6 in texture; 37-43 dB PSNR on the Kodak set.
 * - False positives: a detection is reported only when RS decoding succeeds AND the MAC matches.
 *   For an unmarked image or a wrong key the code bytes are effectively random: with v <= 4
 *   erasures one decode attempt succeeds with probability <= ~2^-8, and the keyed MAC must then
 *   match (2^-24), so <= 2.3e-10 per attempt; (1 + DECODE_ATTEMPTS) peaks x 5 erasure levels bound the
 *   false-positive rate at ~6e-9 per image and key, below the 1e-6 the issue asks for. `pValue`
 *   reports that bound; tests check it empirically on unmarked photos and wrong keys.
 * - Different keys draw different chip permutations, signs and MACs, so marks under different
 *   keys do not interfere beyond adding noise, and a wrong key finds nothing.
 */

const WORK = 256;
const P = 64;
const CHIP = 2;
const CHIPS_SIDE = P / CHIP;
const N_CHIPS = CHIPS_SIDE * CHIPS_SIDE;
const SYNC_CHIPS = 256;
const ID_BYTES = WATERMARK_ID_BYTES;
const BITS = PAYLOAD_CODE_BITS;
const CHIPS_PER_BIT = (N_CHIPS - SYNC_CHIPS) / BITS;
const DOMAIN = 'image/v1';
/** Peaks (period, phase) tried for decoding, best sync correlation first. */
const DECODE_ATTEMPTS = 4;
/** Amplitude in grey levels in flat areas, its growth per unit of local contrast (std dev), and its cap. */
const FLAT_AMPLITUDE = 1.5;
const MASKING_SLOPE = 0.15;
const MAX_AMPLITUDE = 6;
/** Smallest short side we mark: below it a tile cannot repeat enough to survive an attack. */
export const MIN_WATERMARK_SIDE = 128;

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

export interface ImageWatermarkDetection {
  /** The 8-byte id carried by the mark. */
  payload: Uint8Array;
  /** Upper bound on the probability that an unmarked image gives this result. */
  pValue: number;
  /** Sync correlation peak in standard deviations above the mean over all shifts. */
  syncZ: number;
  /** Estimated scale of the image relative to the marked one's working grid (1 = as marked). */
  scale: number;
  /** Byte errors the Reed-Solomon decoder corrected. */
  correctedBytes: number;
}

interface TileLayout {
  /** Per tile cell: its chip index. */
  chipOfCell: Uint16Array;
  /** Per chip: ±1 keyed sign. */
  chipSign: Int8Array;
  /** Per chip: payload bit index, or -1 for sync chips. */
  bitOfChip: Int16Array;
  /** P x P: the sync template (±1 on sync cells, 0 elsewhere), as its 2D spectrum. */
  syncSpectrum: { re: Float64Array; im: Float64Array };
}

const layouts = new Map<string, TileLayout>();

/** The keyed tile layout: which chips are sync, which bit each payload chip carries, and signs. */
function layoutFor(key: string): TileLayout {
  const cached = layouts.get(key);
  if (cached) return cached;
  const prng = new KeyedPrng(key, `${DOMAIN}/layout`);
  const order = prng.permutation(N_CHIPS);
  const chipSign = new Int8Array(N_CHIPS);
  const bitOfChip = new Int16Array(N_CHIPS).fill(-1);
  for (let c = 0; c < N_CHIPS; c++) chipSign[c] = prng.nextByte() & 1 ? 1 : -1;
  for (let k = SYNC_CHIPS; k < N_CHIPS; k++) bitOfChip[order[k]!] = Math.floor((k - SYNC_CHIPS) / CHIPS_PER_BIT);
  const chipOfCell = new Uint16Array(P * P);
  const syncTemplate = new Float64Array(P * P);
  for (let y = 0; y < P; y++) {
    for (let x = 0; x < P; x++) {
      const chip = Math.floor(y / CHIP) * CHIPS_SIDE + Math.floor(x / CHIP);
      chipOfCell[y * P + x] = chip;
      if (bitOfChip[chip] === -1) syncTemplate[y * P + x] = chipSign[chip]!;
    }
  }
  const layout = { chipOfCell, chipSign, bitOfChip, syncSpectrum: spectrum(syncTemplate, P) };
  if (layouts.size > 64) layouts.clear();
  layouts.set(key, layout);
  return layout;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new TamgaError('INVALID_OPTION', 'watermarkKey: a non-empty key is required', { option: 'watermarkKey' });
}


/** Luminance (BT.601) as floats. */
function luminance(img: RawImage): Float32Array {
  const { data, width, height, channels } = img;
  const y = new Float32Array(width * height);
  for (let i = 0, p = 0; i < y.length; i++, p += channels) {
    y[i] = channels >= 3 ? 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! : data[p]!;
  }
  return y;
}

/** Resamples a float plane to (w2, h2): box average when shrinking, bilinear when enlarging. */
function resamplePlane(src: Float32Array, w: number, h: number, w2: number, h2: number): Float32Array {
  const out = new Float32Array(w2 * h2);
  const sx = w / w2;
  const sy = h / h2;
  if (sx >= 1 && sy >= 1) {
    for (let y2 = 0; y2 < h2; y2++) {
      const y0 = Math.floor(y2 * sy);
      const y1 = Math.max(y0 + 1, Math.min(h, Math.floor((y2 + 1) * sy)));
      for (let x2 = 0; x2 < w2; x2++) {
        const x0 = Math.floor(x2 * sx);
        const x1 = Math.max(x0 + 1, Math.min(w, Math.floor((x2 + 1) * sx)));
        let s = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += src[y * w + x]!;
        out[y2 * w2 + x2] = s / ((y1 - y0) * (x1 - x0));
      }
    }
    return out;
  }
  for (let y2 = 0; y2 < h2; y2++) {
    const fy = Math.min(h - 1, Math.max(0, (y2 + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let x2 = 0; x2 < w2; x2++) {
      const fx = Math.min(w - 1, Math.max(0, (x2 + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fx - x0;
      const a = src[y0 * w + x0]! * (1 - tx) + src[y0 * w + x1]! * tx;
      const b = src[y1 * w + x0]! * (1 - tx) + src[y1 * w + x1]! * tx;
      out[y2 * w2 + x2] = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

/** Mean over a (2r+1)² window, edges clamped, via a summed-area table. */
function boxMean(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += src[y * w + x]!;
      sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1]! + row;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const s = sat[y1 * (w + 1) + x1]! - sat[y0 * (w + 1) + x1]! - sat[y1 * (w + 1) + x0]! + sat[y0 * (w + 1) + x0]!;
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

function workingSize(width: number, height: number, work = WORK): { ww: number; wh: number; s: number } {
  const s = work / Math.min(width, height);
  return { ww: Math.max(1, Math.round(width * s)), wh: Math.max(1, Math.round(height * s)), s };
}

/** Bilinear sample of a periodic P x P tile at working coordinates (u, v). */
function sampleTile(tile: Float32Array, u: number, v: number): number {
  const fu = u - 0.5;
  const fv = v - 0.5;
  const x0 = Math.floor(fu);
  const y0 = Math.floor(fv);
  const tx = fu - x0;
  const ty = fv - y0;
  const xa = ((x0 % P) + P) % P;
  const xb = (xa + 1) % P;
  const ya = ((y0 % P) + P) % P;
  const yb = (ya + 1) % P;
  const a = tile[ya * P + xa]! * (1 - tx) + tile[ya * P + xb]! * tx;
  const b = tile[yb * P + xa]! * (1 - tx) + tile[yb * P + xb]! * tx;
  return a * (1 - ty) + b * ty;
}

export interface EmbedOptions {
  /** Multiplies the amplitude. Default 1. */
  strength?: number;
  /**
   * Short side of the working grid (default 256). Lower means larger chips: video uses 128 so the
   * mark survives H.264 at half size; detection must use the same value.
   */
  workingShortSide?: number;
}

/**
 * Embeds `id` (8 bytes) under `key` into a copy of the pixels; chroma and alpha are untouched
 * (the same delta goes to R, G and B). Throws INVALID_OPTION for images below MIN_WATERMARK_SIDE.
 */
/**
 * The per-pixel pattern of a mark for one frame size: computed once, applied to many frames
 * (video) or one image. `pattern[i]` is the ±1 tile sampled at pixel i.
 */
export interface PreparedImageMark {
  width: number;
  height: number;
  pattern: Float32Array;
  strength: number;
  work: number;
}

/** Checks the size and builds the pattern of `id` under `key` for a width x height frame. */
export function prepareImageMark(width: number, height: number, id: Uint8Array, key: string, opts: EmbedOptions = {}): PreparedImageMark {
  checkKey(key);
  if (id.length !== ID_BYTES) throw new TamgaError('INVALID_OPTION', `watermark id: expected ${ID_BYTES} bytes, got ${id.length}`, { option: 'id' });
  if (Math.min(width, height) < MIN_WATERMARK_SIDE) {
    throw new TamgaError('INVALID_OPTION', `watermark: the image's short side is ${Math.min(width, height)} px; at least ${MIN_WATERMARK_SIDE} px are needed`, { option: 'watermarkKey' });
  }
  const layout = layoutFor(key);
  const bits = encodePayloadBits(id, key, DOMAIN);
  const tile = new Float32Array(P * P);
  for (let c = 0; c < P * P; c++) {
    const chip = layout.chipOfCell[c]!;
    const bit = layout.bitOfChip[chip]!;
    tile[c] = layout.chipSign[chip]! * (bit < 0 ? 1 : bits[bit] ? 1 : -1);
  }
  const work = opts.workingShortSide ?? WORK;
  const { s } = workingSize(width, height, work);
  const pattern = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const v = (y + 0.5) * s;
    for (let x = 0; x < width; x++) pattern[y * width + x] = sampleTile(tile, (x + 0.5) * s, v);
  }
  return { width, height, pattern, strength: opts.strength ?? 1, work };
}

/**
 * The mark's amplitude per pixel for a frame with luminance `luma`: contrast masking at working
 * resolution (texture hides noise), from FLAT_AMPLITUDE grey levels in flat areas to MAX_AMPLITUDE.
 */
function amplitudeMap(mark: PreparedImageMark, luma: Float32Array): { alpha: Float32Array; ww: number; wh: number; s: number } {
  const { width, height } = mark;
  const { ww, wh, s } = workingSize(width, height, mark.work);
  const yWork = resamplePlane(luma, width, height, ww, wh);
  const mean = boxMean(yWork, ww, wh, 2);
  const sq = boxMean(
    yWork.map((v) => v * v),
    ww,
    wh,
    2,
  );
  const alpha = new Float32Array(ww * wh);
  for (let i = 0; i < alpha.length; i++) {
    const activity = Math.sqrt(Math.max(0, sq[i]! - mean[i]! * mean[i]!));
    alpha[i] = mark.strength * Math.min(MAX_AMPLITUDE, FLAT_AMPLITUDE + MASKING_SLOPE * activity);
  }
  return { alpha, ww, wh, s };
}

/**
 * Adds the mark to `frame` in place: `channels` interleaved samples per pixel, of which the first
 * `colour` (1 for a luma plane, 3 for RGB) get the same delta, so chroma is untouched.
 */
function applyMark(mark: PreparedImageMark, frame: Uint8Array, channels: number, colour: number, luma: Float32Array): void {
  const { alpha, ww, wh, s } = amplitudeMap(mark, luma);
  const { width, height, pattern } = mark;
  for (let y = 0; y < height; y++) {
    const row = Math.min(wh - 1, Math.floor((y + 0.5) * s)) * ww;
    for (let x = 0; x < width; x++) {
      const d = alpha[row + Math.min(ww - 1, Math.floor((x + 0.5) * s))]! * pattern[y * width + x]!;
      const p = (y * width + x) * channels;
      for (let c = 0; c < colour; c++) frame[p + c] = Math.min(255, Math.max(0, Math.round(frame[p + c]! + d)));
    }
  }
}

/** Marks an 8-bit luma plane (e.g. the Y plane of a yuv420p video frame) in place. */
export function markLumaPlane(mark: PreparedImageMark, y: Uint8Array): void {
  applyMark(mark, y, 1, 1, Float32Array.from(y.subarray(0, mark.width * mark.height)));
}

/**
 * Embeds `id` (8 bytes) under `key` into a copy of the pixels; chroma and alpha are untouched
 * (the same delta goes to R, G and B). Throws INVALID_OPTION for images below MIN_WATERMARK_SIDE.
 */
export function embedImageWatermark(img: RawImage, id: Uint8Array, key: string, opts: EmbedOptions = {}): Uint8Array {
  const mark = prepareImageMark(img.width, img.height, id, key, opts);
  const out = Uint8Array.from(img.data);
  applyMark(mark, out, img.channels, img.channels >= 3 ? 3 : 1, luminance(img));
  return out;
}

/** High-pass, locally normalised luminance at working resolution: the content is noise to the detector. */
function detectionPlane(img: RawImage, work = WORK): { plane: Float32Array; ww: number; wh: number } {
  const { ww, wh } = workingSize(img.width, img.height, work);
  const y = resamplePlane(luminance(img), img.width, img.height, ww, wh);
  const low = boxMean(y, ww, wh, 2);
  const hp = y.map((v, i) => v - low[i]!);
  const energy = boxMean(
    hp.map((v) => v * v),
    ww,
    wh,
    4,
  );
  return { plane: hp.map((v, i) => v / (Math.sqrt(energy[i]!) + 1)), ww, wh };
}

/** Averages the plane modulo a period of `p` working pixels into a P x P tile. */
function fold(plane: Float32Array, ww: number, wh: number, p: number, phaseX = 0, phaseY = 0): Float64Array {
  const sum = new Float64Array(P * P);
  const count = new Float64Array(P * P);
  const k = P / p;
  const colIndex = new Int32Array(ww);
  for (let x = 0; x < ww; x++) colIndex[x] = (Math.floor((x + 0.5) * k + phaseX) + P) % P;
  for (let y = 0; y < wh; y++) {
    const row = ((Math.floor((y + 0.5) * k + phaseY) + P) % P) * P;
    for (let x = 0; x < ww; x++) {
      const c = row + colIndex[x]!;
      sum[c] = sum[c]! + plane[y * ww + x]!;
      count[c] = count[c]! + 1;
    }
  }
  for (let c = 0; c < P * P; c++) sum[c] = count[c] ? sum[c]! / count[c]! : 0;
  return sum;
}

/**
 * Candidate periods: exactly P (the file was only resized or not touched), then a geometric grid
 * from a slight shrink (aspect rounding) up to a crop that keeps 40% of the short side. The best
 * coarse peaks are then refined on a finer grid (see detectImageWatermark).
 */
const PERIODS = (() => {
  const out: number[] = [];
  for (let k = -3; P * 1.02 ** k <= P * 2.5; k++) out.push(P * 1.02 ** k);
  return out;
})();
const REFINE_STEPS = [-0.0075, -0.005, -0.0025, 0.0025, 0.005, 0.0075];
const SUB_CELL_PHASES = [-0.5, 0, 0.5];

interface Peak {
  period: number;
  shift: number;
  z: number;
  tile: Float64Array;
}

function decodeAt(peak: Peak, layout: TileLayout, key: string): { id: Uint8Array; corrected: number } | undefined {
  const soft = new Float64Array(BITS);
  const dy = Math.floor(peak.shift / P);
  const dx = peak.shift % P;
  for (let ty = 0; ty < P; ty++) {
    for (let tx = 0; tx < P; tx++) {
      const chip = layout.chipOfCell[ty * P + tx]!;
      const bit = layout.bitOfChip[chip]!;
      if (bit < 0) continue;
      soft[bit] = soft[bit]! + peak.tile[((ty + dy) % P) * P + ((tx + dx) % P)]! * layout.chipSign[chip]!;
    }
  }
  return decodePayloadSoft(soft, key, DOMAIN);
}

/** Looks for a mark under `key`. Returns undefined when none is found (the usual answer). */
export function detectImageWatermark(img: RawImage, key: string): ImageWatermarkDetection | undefined {
  return detectImageWatermarkInFrames([img], key);
}

/**
 * As detectImageWatermark over several frames of the same geometry (video): their folded tiles
 * are summed before the sync search and decoding (temporal voting at the soft level).
 */
export function detectImageWatermarkInFrames(images: readonly RawImage[], key: string, opts: Pick<EmbedOptions, 'workingShortSide'> = {}): ImageWatermarkDetection | undefined {
  checkKey(key);
  const frames = images.filter((img) => Math.min(img.width, img.height) >= 32);
  if (!frames.length) return undefined;
  const layout = layoutFor(key);
  const planes = frames.map((f) => detectionPlane(f, opts.workingShortSide ?? WORK));
  const peakAt = (period: number, phaseX = 0, phaseY = 0): Peak => {
    const tile = new Float64Array(P * P);
    for (const { plane, ww, wh } of planes) {
      const t = fold(plane, ww, wh, period, phaseX, phaseY);
      for (let i = 0; i < t.length; i++) tile[i] = tile[i]! + t[i]!;
    }
    const corr = cyclicCrossCorrelationWith(tile, layout.syncSpectrum, P);
    let best = 0;
    let sum = 0;
    let sumSq = 0;
    for (let d = 0; d < corr.length; d++) {
      const c = corr[d]!;
      sum += c;
      sumSq += c * c;
      if (c > corr[best]!) best = d;
    }
    const mean = sum / corr.length;
    const std = Math.sqrt(Math.max(1e-12, sumSq / corr.length - mean * mean));
    return { period, shift: best, z: (corr[best]! - mean) / std, tile };
  };
  const found = (peak: Peak, hit: NonNullable<ReturnType<typeof decodeAt>>): ImageWatermarkDetection => ({
    payload: hit.id,
    pValue: FALSE_POSITIVE_PER_ATTEMPT * (DECODE_ATTEMPTS + 1) * (MAX_ERASURES + 1),
    syncZ: peak.z,
    scale: P / peak.period,
    correctedBytes: hit.corrected,
  });
  // Most copies are resized or re-encoded, not cropped: the exact period answers them at once.
  const exact = peakAt(P);
  const quick = decodeAt(exact, layout, key);
  if (quick) return found(exact, quick);
  const peaks = PERIODS.map((p) => peakAt(p));
  peaks.sort((a, b) => b.z - a.z);
  // A crop's period falls between grid points: refine around the best coarse ones.
  for (const coarse of peaks.slice(0, 3)) for (const step of REFINE_STEPS) peaks.push(peakAt(coarse.period * (1 + step)));
  peaks.sort((a, b) => b.z - a.z);
  // After a crop, chip edges fall between working pixels: try sub-cell phases of the best period,
  // so the folded cells line up with whole chips instead of mixing two.
  const best = peaks[0]!;
  for (const phaseY of SUB_CELL_PHASES) for (const phaseX of SUB_CELL_PHASES) if (phaseX || phaseY) peaks.push(peakAt(best.period, phaseX, phaseY));
  peaks.sort((a, b) => b.z - a.z);
  for (const peak of peaks.slice(0, DECODE_ATTEMPTS)) {
    const hit = decodeAt(peak, layout, key);
    if (hit) return found(peak, hit);
  }
  return undefined;
}
