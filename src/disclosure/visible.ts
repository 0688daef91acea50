import sharp from 'sharp';
import { TamgaError } from '../core/errors.js';
import type { ByteReader } from '../core/source.js';
import type { DetectOptions, Finding } from '../core/types.js';
import { ocrFindings } from './ocr.js';
import { decodePayload, DATA_MODULES, fixedLight, isDataModule, MARK_MODULES } from './mark.js';

/**
 * Finds tamga's badges in the pixels: a run-length scan for the seal's 1:1:3:1:1 light/dark
 * pattern (scale-free, so one pass covers every badge size), a cross-check down the column, then
 * the 7x7 grid is sampled and its 12 data modules must pass the CRC. Works on a luminance copy
 * of at most ~1.5 megapixels, so the cost does not grow with the image.
 */

const ANALYSIS_PIXELS = 1_500_000;
/** Light/dark split: the seal is white on a plate darker than ~60 even over a white image. */
const THRESHOLD = 128;
const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

export interface BadgeFinding {
  position: string;
  langs: string[];
  /** The badge carries the caller's own text (no catalogue languages recorded). */
  customText: boolean;
  /** The seal's box in image pixels (display orientation). */
  seal: { x: number; y: number; size: number };
}

interface Gray {
  data: Uint8Array;
  width: number;
  height: number;
  /** Analysis px -> image px. */
  scale: number;
}

/** The smallest seal the scan can read spans 7 modules of 1.5 analysis px (finderRatio). */
const MIN_SEAL_PX = 7 * 1.5;

/** The analysis copy, or undefined when it would be too small to hold a seal (read from the header alone: nothing decoded). */
async function luminance(input: string | Uint8Array): Promise<Gray | undefined> {
  const img = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true }).autoOrient();
  const meta = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true }).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const w = swap ? meta.height! : meta.width!;
  const h = swap ? meta.width! : (meta.pageHeight ?? meta.height!);
  const s = Math.min(1, Math.sqrt(ANALYSIS_PIXELS / (w * h)));
  const tw = Math.max(1, Math.round(w * s));
  const th = Math.max(1, Math.round(h * s));
  // An extreme strip (say 16.7M x 16 px) downscales to a line: decoding it would cost a gigabyte for nothing.
  if (Math.min(tw, th) < MIN_SEAL_PX) return undefined;
  const { data, info } = await img
    .resize(tw, th, { fit: 'fill', kernel: 'linear' })
    .flatten({ background: '#000000' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, scale: w / info.width };
}

/** Run lengths (alternating, first run's colour given) along a line of samples. */
function runsOf(get: (i: number) => number, n: number): { starts: number[]; lens: number[]; firstLight: boolean } {
  const starts: number[] = [];
  const lens: number[] = [];
  let light = get(0) >= THRESHOLD;
  const firstLight = light;
  let start = 0;
  for (let i = 1; i <= n; i++) {
    const l = i < n ? get(i) >= THRESHOLD : !light;
    if (l !== light) {
      starts.push(start);
      lens.push(i - start);
      start = i;
      light = l;
    }
  }
  return { starts, lens, firstLight };
}

/** Whether five runs are 1:1:3:1:1 within tolerance; returns the module size. */
function finderRatio(l: readonly number[]): number | undefined {
  const total = l[0]! + l[1]! + l[2]! + l[3]! + l[4]!;
  if (total < 7 * 1.5) return undefined;
  const u = total / 7;
  const tol = Math.max(u * 0.6, 1);
  if (Math.abs(l[0]! - u) > tol || Math.abs(l[1]! - u) > tol || Math.abs(l[3]! - u) > tol || Math.abs(l[4]! - u) > tol) return undefined;
  if (Math.abs(l[2]! - 3 * u) > Math.max(1.5 * u, 1.5)) return undefined;
  return u;
}

/** The vertical 1:1:3:1:1 through (x, y) inside the centre block: [centreY, module]. */
function crossCheckVertical(g: Gray, x: number, y: number, maxModule: number): [number, number] | undefined {
  const at = (yy: number) => g.data[yy * g.width + x]! >= THRESHOLD;
  if (!at(y)) return undefined;
  const limit = Math.ceil(maxModule * 5);
  const walk = (dir: 1 | -1): number[] | undefined => {
    // Lengths: rest of the centre (light), dark ring, light ring; then a dark plate must follow.
    const lens = [0, 0, 0];
    let yy = y;
    for (let k = 0; k < 3; k++) {
      const wantLight = k !== 1;
      while (yy >= 0 && yy < g.height && at(yy) === wantLight && lens[k]! <= limit) {
        lens[k]!++;
        yy += dir;
      }
      if (lens[k] === 0 || lens[k]! > limit) return undefined;
    }
    if (yy < 0 || yy >= g.height) return undefined;
    return lens;
  };
  const up = walk(-1);
  const down = walk(1);
  if (!up || !down) return undefined;
  const centre = up[0]! + down[0]! - 1;
  const u = finderRatio([up[2]!, up[1]!, centre, down[1]!, down[2]!]);
  if (!u) return undefined;
  return [y - up[0]! + 1 + centre / 2 - 0.5, u];
}

function boxMean(g: Gray, cx: number, cy: number, r: number): number {
  const x0 = Math.max(0, Math.round(cx - r));
  const x1 = Math.min(g.width - 1, Math.round(cx + r));
  const y0 = Math.max(0, Math.round(cy - r));
  const y1 = Math.min(g.height - 1, Math.round(cy + r));
  let sum = 0;
  let n = 0;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) (sum += g.data[y * g.width + x]!), n++;
  return n ? sum / n : 0;
}

/** Samples the 7x7 grid around a centre and decodes it, or undefined if it is not a seal. */
function readSeal(g: Gray, cx: number, cy: number, mx: number, my: number): (BadgeFinding & { confidence: number }) | undefined {
  const sample = (r: number, c: number) => boxMean(g, cx + (c - 3) * mx, cy + (r - 3) * my, Math.min(mx, my) * 0.22);
  const lights: number[] = [];
  const darks: number[] = [];
  const values: number[][] = [];
  for (let r = 0; r < MARK_MODULES; r++) {
    values.push([]);
    for (let c = 0; c < MARK_MODULES; c++) {
      const v = sample(r, c);
      values[r]!.push(v);
      if (!isDataModule(r, c)) (fixedLight(r, c) ? lights : darks).push(v);
    }
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const lo = mean(darks);
  const hi = mean(lights);
  if (hi - lo < 60) return undefined;
  const cut = (hi + lo) / 2;
  let wrong = 0;
  for (let r = 0; r < MARK_MODULES; r++) for (let c = 0; c < MARK_MODULES; c++) if (!isDataModule(r, c) && values[r]![c]! >= cut !== fixedLight(r, c)) wrong++;
  if (wrong > 1) return undefined;
  const payload = decodePayload(DATA_MODULES.map(([r, c]) => values[r]![c]! >= cut));
  if (!payload) return undefined;
  const size = 7 * ((mx + my) / 2) * g.scale;
  return {
    position: payload.position,
    langs: payload.langs,
    customText: payload.langs.length === 0,
    seal: { x: Math.round((cx - 3.5 * mx) * g.scale), y: Math.round((cy - 3.5 * my) * g.scale), size: Math.round(size) },
    confidence: wrong === 0 ? 0.99 : 0.9,
  };
}

export function findSeals(g: Gray): (BadgeFinding & { confidence: number })[] {
  const found: (BadgeFinding & { confidence: number; cx: number; cy: number; m: number })[] = [];
  for (let y = 0; y < g.height; y++) {
    const row = y * g.width;
    const { starts, lens, firstLight } = runsOf((i) => g.data[row + i]!, g.width);
    // Windows of five runs that start light, with a dark run before and after (the plate).
    for (let i = firstLight ? 2 : 1; i + 5 < lens.length; i += 2) {
      const u = finderRatio(lens.slice(i, i + 5));
      if (!u) continue;
      const cx = starts[i + 2]! + lens[i + 2]! / 2 - 0.5;
      if (found.some((f) => Math.abs(f.cx - cx) < 3 * f.m && Math.abs(f.cy - y) < 3 * f.m)) continue;
      const v = crossCheckVertical(g, Math.round(cx), y, u * 1.6);
      if (!v) continue;
      const seal = readSeal(g, cx, v[0], u, v[1]);
      if (seal) found.push({ ...seal, cx, cy: v[0], m: u });
    }
  }
  return found.map(({ cx: _x, cy: _y, m: _m, ...f }) => f);
}

/** Findings for every tamga badge in the image (first frame of an animation). */
export async function visibleBadgeFindings(input: string | Uint8Array): Promise<Finding[]> {
  const g = await luminance(input);
  if (!g) return [];
  return findSeals(g).map(({ confidence, ...value }) => ({ layer: 'visible', kind: 'visible:tamga-badge', value, confidence, where: 'pixels' }));
}

/**
 * The pixel-level findings detect() adds for an image: tamga badges (unless `visible: false`) and,
 * with `ocr`, third-party disclosures read by OCR. Pixels that do not decode give no finding: the
 * metadata findings of a damaged file are still worth reporting.
 */
export async function pixelFindings(reader: ByteReader, opts: DetectOptions): Promise<Finding[]> {
  if (opts.visible === false && !opts.ocr) return [];
  const input = reader.path ?? (await reader.read(0, reader.size));
  const out: Finding[] = [];
  if (opts.visible !== false) {
    try {
      out.push(...(await visibleBadgeFindings(input)));
    } catch (e) {
      if (!isSharpError(e)) throw e;
    }
  }
  if (opts.ocr) out.push(...(await ocrFindings(input)));
  return out;
}

/** libvips reports undecodable or oversized input as a plain Error from sharp. */
function isSharpError(e: unknown): boolean {
  return e instanceof Error && !(e instanceof TamgaError || e instanceof TypeError || e instanceof RangeError);
}
