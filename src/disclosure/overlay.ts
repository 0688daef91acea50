import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { TamgaError } from '../core/errors.js';
import type { Finding, OnScreenOptions } from '../core/types.js';
import { layoutBadge, type BadgeLayout, type BadgeSpec } from './badge.js';
import { visibleBadgeFindings } from './visible.js';
import { escapeFilterValue, fileUrl, probe, runFfmpeg } from '../media/ffmpeg.js';

/**
 * The on-screen label of video: the disclosure badge the image pipeline draws (src/disclosure),
 * rendered once as a transparent PNG at the frame size and overlaid by ffmpeg for the whole
 * duration or the first N seconds (GB 45438 §5.4 asks for at least 2 s at the start). The audio
 * and other streams are copied; the video is re-encoded with its own codec where tamga knows an
 * encoder for it, else H.264, at CRF 18 unless the caller says otherwise.
 */

export const DEFAULT_CRF = 18;
export const DEFAULT_PRESET = 'medium';
/** GB 45438 §5.4: shown for no less than 2 s at the start. */
export const MIN_ON_SCREEN_SECONDS = 2;

/** Encoder arguments per input codec for output stream v:0 (the labelled one); `crf` is the caller's or the default. */
const VIDEO_ENCODERS: Record<string, (crf: number, preset: string) => string[]> = {
  h264: (crf, preset) => ['-c:v:0', 'libx264', '-crf', String(crf), '-preset', preset],
  hevc: (crf, preset) => ['-c:v:0', 'libx265', '-crf', String(crf), '-preset', preset, '-tag:v:0', 'hvc1'],
  vp9: (crf) => ['-c:v:0', 'libvpx-vp9', '-crf', String(crf), '-b:v:0', '0', '-row-mt', '1'],
  vp8: (crf) => ['-c:v:0', 'libvpx', '-crf', String(Math.max(4, crf)), '-b:v:0', '10M'],
};
/** Containers that cannot hold H.264 get VP9 as the fallback. */
const FALLBACK: Record<string, string> = { webm: 'vp9' };
const MUXERS: Record<string, string> = { mp4: 'mp4', mov: 'mov', mkv: 'matroska', webm: 'webm' };

export function checkOnScreen(o: OnScreenOptions): OnScreenOptions {
  const bad = (option: string, what: string) => new TamgaError('INVALID_OPTION', `onScreen.${option}: ${what}`, { option: `onScreen.${option}` });
  if (!o || typeof o !== 'object') throw bad('', 'expected an object');
  const out: OnScreenOptions = {};
  if (o.seconds !== undefined) {
    if (typeof o.seconds !== 'number' || !(o.seconds >= MIN_ON_SCREEN_SECONDS)) throw bad('seconds', `expected at least ${MIN_ON_SCREEN_SECONDS} seconds (GB 45438 §5.4), got ${JSON.stringify(o.seconds)}`);
    out.seconds = o.seconds;
  }
  if (o.crf !== undefined) {
    if (!Number.isInteger(o.crf) || o.crf < 0 || o.crf > 51) throw bad('crf', `expected an integer 0..51, got ${JSON.stringify(o.crf)}`);
    out.crf = o.crf;
  }
  if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !/^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow|placebo)$/.test(o.preset)) throw bad('preset', `expected an x264/x265 preset name, got ${JSON.stringify(o.preset)}`);
    out.preset = o.preset;
  }
  return out;
}

/** The badge for a `width` x `height` frame as a PNG with alpha, and where it goes. */
export async function renderBadgePng(width: number, height: number, spec: BadgeSpec): Promise<{ png: Buffer; layout: BadgeLayout }> {
  const layout = layoutBadge(width, height, spec);
  const png = await sharp(Buffer.from(layout.svg)).ensureAlpha().png().toBuffer();
  return { png, layout };
}

/** Writes `output`: the input with the badge overlaid, other streams copied, tags kept. */
/**
 * How tamga re-encodes a video for a visible or watermark layer: the muxer of its container and
 * encoder arguments for output stream v:0 that keep its codec where possible (H.264, HEVC, VP8,
 * VP9), else H.264 (VP9 in WebM), at the caller's or the default CRF and preset.
 */
export function videoEncoding(format: string, codecName: string | undefined, o: OnScreenOptions): { muxer: string; encoder: string[] } {
  const muxer = MUXERS[format];
  if (!muxer) throw new TamgaError('UNSUPPORTED_FORMAT', `${format} is not a video container tamga re-encodes`, { format });
  const codec = VIDEO_ENCODERS[codecName ?? ''] && !(format === 'webm' && !/^vp[89]$/.test(codecName ?? '')) ? codecName! : (FALLBACK[format] ?? 'h264');
  return { muxer, encoder: VIDEO_ENCODERS[codec]!(o.crf ?? DEFAULT_CRF, o.preset ?? DEFAULT_PRESET) };
}

export async function addOnScreenLabel(input: string, format: string, output: string, spec: BadgeSpec, opts: OnScreenOptions = {}): Promise<BadgeLayout> {
  if (!MUXERS[format]) throw new TamgaError('UNSUPPORTED_FORMAT', `on-screen label: ${format} is not a video container tamga re-encodes`, { format });
  const o = checkOnScreen(opts);
  const info = await probe(input);
  const v = info.streams.find((s) => s.codec_type === 'video' && !(s.disposition as { attached_pic?: number } | undefined)?.attached_pic);
  if (!v?.width || !v.height) throw new TamgaError('CORRUPT_INPUT', `${input}: no video stream with a frame size`, {});
  const { muxer, encoder } = videoEncoding(format, v.codec_name, o);
  const { png, layout } = await renderBadgePng(v.width, v.height, spec);
  const badgePath = join(tmpdir(), `tamga-badge-${process.pid}-${randomBytes(6).toString('hex')}.png`);
  writeFileSync(badgePath, png);
  try {
    const enable = o.seconds ? `:enable=${escapeFilterValue(`lte(t,${o.seconds})`)}` : '';
    const pixFmt = typeof v.pix_fmt === 'string' ? v.pix_fmt : 'yuv420p';
    const graph = `[0:${v.index}][1:v]overlay=x=${layout.left}:y=${layout.top}${enable}:format=auto,format=${pixFmt}[v]`;
    // Every other stream as it was (ffmpeg's negative -map also drops a filter output in older builds).
    // Data streams (timecode, GoPro telemetry) are left out: most muxers refuse to copy them.
    const others = info.streams.filter((s) => s.index !== v.index && s.codec_type !== 'data').flatMap((s) => ['-map', `0:${s.index}`]);
    await runFfmpeg([
      // One PNG frame: overlay repeats it to the end (eof_action=repeat), so nothing is cut short.
      '-y', '-i', fileUrl(input), '-i', fileUrl(badgePath),
      '-filter_complex', graph,
      // The labelled video first, then every other stream of the input as it was.
      '-map', '[v]', ...others,
      '-c', 'copy', ...encoder, '-map_metadata', '0',
      ...(muxer === 'mp4' || muxer === 'mov' ? ['-movflags', '+faststart'] : []),
      '-f', muxer, fileUrl(output),
    ]);
  } finally {
    rmSync(badgePath, { force: true });
  }
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Detection

/** Where frames are sampled: inside the first 2 s (where GB 45438 puts the label), then across the video. */
export function sampleTimes(duration: number): number[] {
  const times = [0.5, 1.5, duration * 0.25, duration * 0.5, duration * 0.75].filter((t) => t < duration);
  return [...new Set(times.map((t) => Number(t.toFixed(2))))];
}

/**
 * Samples a few frames (decoded by ffmpeg as PNG) and runs the image badge detector on each
 * (src/verify/visible.ts), so a badge is found after re-encoding and rescaling. One finding per
 * frame with a badge, `where` naming the time.
 */
export async function detectOnScreenLabel(path: string): Promise<Finding[]> {
  const info = await probe(path);
  const v = info.streams.find((s) => s.codec_type === 'video');
  const duration = Number(v?.duration ?? info.format.duration);
  if (!v || !Number.isFinite(duration) || duration <= 0) return [];
  const out: Finding[] = [];
  for (const t of sampleTimes(duration)) {
    const { stdout } = await runFfmpeg(['-ss', String(t), '-i', fileUrl(path), '-map', `0:${v.index}`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
    if (!stdout.length) continue;
    for (const f of await visibleBadgeFindings(stdout)) out.push({ ...f, where: `video@${t}s` });
  }
  return out;
}
