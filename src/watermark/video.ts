import type { ChildProcess } from 'node:child_process';
import { TamgaError } from '../core/errors.js';
import { probe, runFfmpeg, spawnFfmpeg, stderrTail } from '../media/ffmpeg.js';
import { detectImageWatermarkInFrames, MIN_WATERMARK_SIDE, markLumaPlane, prepareImageMark, type ImageWatermarkDetection, type RawImage } from './image.js';

/**
 * Keyed video watermark: the image mark (src/watermark/image.ts) on the luma plane of every frame,
 * streamed through two ffmpeg processes (decode to raw yuv420p -> mark Y -> encode), so a video
 * is never held in memory: one frame at a time. Chroma and audio are untouched (audio is copied).
 * Detection samples frames and sums their folded tiles before decoding (temporal voting), so
 * frames that a re-encode damaged still contribute what they keep.
 */

export interface VideoWatermarkOptions {
  /** x264 CRF of the re-encode. Default 18 (visually lossless). */
  crf?: number;
  /** x264 preset. Default `medium`. */
  preset?: string;
  /**
   * Encoder arguments for output stream v:0 and the muxer (the label pipeline passes the ones that
   * keep the input's codec, src/media/overlay.ts videoEncoding). Default: H.264 at `crf`/`preset`, muxer from the extension.
   */
  encoding?: { encoder: string[]; muxer: string };
  /** Mark amplitude multiplier. Default 1.4 (see VIDEO_STRENGTH). */
  strength?: number;
}

/** The video profile's working grid: larger chips than stills, so H.264 at half size keeps them. */
const VIDEO_WORK = 128;
/**
 * Amplitude multiplier for video: x264 smooths flat areas harder than a still JPEG, and motion
 * hides more; measured on flat synthetic test patterns (the worst case) for H.264 CRF 28 at half size.
 */
const VIDEO_STRENGTH = 1.4;
/** Frames sampled for detection, spread over the duration. */
const DETECT_FRAMES = 24;
/** Detection decodes at this short side at most (the mark is read at 256 px). */
const DETECT_SHORT_SIDE = 512;
const PRESETS = new Set(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow']);

function fail(tool: string, proc: ChildProcess | undefined, stderr: string, why: string): TamgaError {
  return new TamgaError('FFMPEG_FAILED', `${tool}: ${why}: ${stderrTail(stderr).split('\n').slice(-3).join(' | ') || 'no message'}`, {
    tool,
    ...(proc?.exitCode !== undefined && proc?.exitCode !== null ? { exitCode: proc.exitCode } : {}),
    stderr: stderrTail(stderr),
  });
}

function exited(proc: ChildProcess, name: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    proc.on('error', (e) => reject(new TamgaError('FFMPEG_FAILED', `${name}: cannot run ffmpeg: ${e.message}`, { tool: name }, { cause: e })));
    proc.on('close', (code, signal) => (code === 0 ? resolve() : reject(fail(name, proc, stderr(), signal ? `killed by ${signal}` : `exit code ${code}`))));
  });
}

/**
 * Marks every frame of `input` with `id` under `key` and writes `output` (H.264 in the output's
 * container, audio copied). The caller writes `output` to a temp path and renames it.
 */
export async function embedVideoWatermark(input: string, output: string, id: Uint8Array, key: string, opts: VideoWatermarkOptions = {}): Promise<{ frames: number }> {
  const crf = opts.crf ?? 18;
  const preset = opts.preset ?? 'medium';
  if (!Number.isInteger(crf) || crf < 0 || crf > 51) throw new TamgaError('INVALID_OPTION', 'crf: expected an integer 0..51', { option: 'crf' });
  if (!PRESETS.has(preset)) throw new TamgaError('INVALID_OPTION', `preset: expected one of ${[...PRESETS].join(', ')}`, { option: 'preset' });
  const info = await probe(input);
  const video = info.streams.find((s) => s.codec_type === 'video');
  if (!video?.width || !video.height) throw new TamgaError('CORRUPT_INPUT', `${input}: no decodable video stream`, { path: input });
  const { width, height } = video;
  if (width % 2 || height % 2) throw new TamgaError('UNSUPPORTED_FORMAT', `${input}: odd frame size ${width}x${height} (yuv420p needs even sizes)`);
  const mark = prepareImageMark(width, height, id, key, { workingShortSide: VIDEO_WORK, strength: opts.strength ?? VIDEO_STRENGTH });
  const rate = String(video.r_frame_rate ?? video.avg_frame_rate ?? '25');
  const hasAudio = info.streams.some((s) => s.codec_type === 'audio');
  const frameBytes = (width * height * 3) / 2;

  let decErr = '';
  let encErr = '';
  const dec = spawnFfmpeg(['-i', input, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], ['ignore', 'pipe', 'pipe']);
  const enc = spawnFfmpeg(
    [
      '-y',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', rate, '-i', 'pipe:0',
      '-i', input, '-map', '0:v:0', ...(hasAudio ? ['-map', '1:a', '-c:a', 'copy'] : []),
      ...(opts.encoding?.encoder ?? ['-c:v', 'libx264', '-crf', String(crf), '-preset', preset]),
      '-pix_fmt', 'yuv420p', '-map_metadata', '1',
      ...(opts.encoding ? ['-f', opts.encoding.muxer] : []),
      output,
    ],
    ['pipe', 'ignore', 'pipe'],
  );
  dec.stderr!.on('data', (c: Buffer) => (decErr = (decErr + c.toString()).slice(-16384)));
  enc.stderr!.on('data', (c: Buffer) => (encErr = (encErr + c.toString()).slice(-16384)));
  enc.stdin!.on('error', () => undefined);
  const done = Promise.all([exited(dec, 'ffmpeg (decode)', () => decErr), exited(enc, 'ffmpeg (encode)', () => encErr)]);

  let frames = 0;
  // Pipe chunks (64 KiB) are copied once into the frame being filled: no re-concatenation per chunk.
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  try {
    for await (const chunk of dec.stdout!) {
      const bytes = chunk as Buffer;
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(frameBytes - filled, bytes.length - at);
        bytes.copy(frame, filled, at, at + n);
        filled += n;
        at += n;
        if (filled < frameBytes) continue;
        markLumaPlane(mark, frame);
        frames++;
        const full = frame;
        // The encoder's pipe may still hold the written frame: the next one gets its own buffer.
        frame = Buffer.allocUnsafe(frameBytes);
        filled = 0;
        // Backpressure: wait for the encoder when its pipe is full, so memory stays at a few frames.
        if (!enc.stdin!.write(full)) await new Promise((r) => enc.stdin!.once('drain', r));
      }
    }
  } finally {
    enc.stdin!.end();
  }
  await done;
  if (!frames) throw new TamgaError('CORRUPT_INPUT', `${input}: no video frames decoded`, { path: input });
  return { frames };
}

/**
 * Looks for the mark under each key in frames sampled across the video. Returns the detections
 * by key (keys with no mark are absent).
 */
export async function detectVideoWatermark(input: string, keys: readonly string[]): Promise<Map<string, ImageWatermarkDetection>> {
  const found = new Map<string, ImageWatermarkDetection>();
  if (!keys.length) return found;
  const info = await probe(input);
  const video = info.streams.find((s) => s.codec_type === 'video');
  if (!video?.width || !video.height) return found;
  if (Math.min(video.width, video.height) < MIN_WATERMARK_SIDE / 2) return found;
  const duration = Number(info.format.duration ?? video.duration ?? 0);
  const scale = Math.min(1, DETECT_SHORT_SIDE / Math.min(video.width, video.height));
  const w = Math.max(2, Math.round((video.width * scale) / 2) * 2);
  const h = Math.max(2, Math.round((video.height * scale) / 2) * 2);
  const fps = duration > 0 ? Math.max(0.05, DETECT_FRAMES / duration) : 1;
  const { stdout } = await runFfmpeg(['-i', input, '-map', '0:v:0', '-vf', `fps=${fps.toFixed(4)},scale=${w}:${h}:flags=area`, '-frames:v', String(DETECT_FRAMES), '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  const frames: RawImage[] = [];
  for (let at = 0; at + w * h <= stdout.length; at += w * h) frames.push({ data: stdout.subarray(at, at + w * h), width: w, height: h, channels: 1 });
  for (const key of keys) {
    const d = detectImageWatermarkInFrames(frames, key, { workingShortSide: VIDEO_WORK });
    if (d) found.set(key, d);
  }
  return found;
}
