/**
 * bench/watermark-video: robustness and labelling overhead of tamga's keyed video watermark.
 * Run: npx tsx bench/watermark-video.ts [seconds=30] [> bench/results/watermark-video.txt]
 * Material: generated 720p clips (ffmpeg testsrc2 and mandelbrot: textured, moving), each marked
 * with two payloads, plus the corpus MP4 (../shared/corpus/c2pa/video1-signed.mp4) when present.
 * Attacks (the video targets): H.264 CRF 28, downscale to half, a 10 s segment cut from
 * the middle. Overhead = watermark embed with re-encode / plain ffmpeg re-encode with the same
 * x264 settings, both in this run; reported as wall time and as CPU time (this process plus its
 * ffmpeg children, from /proc), because the machine is shared and wall time is inflated.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ffmpegPath, probe } from '../src/media/ffmpeg.js';
import { detectVideoWatermark, embedVideoWatermark } from '../src/watermark/video.js';

const SECONDS = Number(process.argv[2] ?? 30);
const KEY = 'bench-video-key';
const PAYLOADS = [Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), Uint8Array.from([0xf0, 0x0d, 0xca, 0xfe, 0x12, 0x34, 0x56, 0x78])];
/** The label pipeline's default re-encode (src/watermark/video.ts): the overhead is measured at these settings. */
const CRF = 18;
const PRESET = 'medium';
const corpus = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus');
const work = mkdtempSync(join(tmpdir(), 'tamga-bench-video-'));

function ffmpeg(args: string[]): void {
  const r = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString().slice(-300)}`);
}

/** CPU seconds of this process and its waited-for children (utime, stime, cutime, cstime of /proc/self/stat). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3, so utime..cstime (fields 14..17) are indexes 11..14.
  return fields.slice(11, 15).reduce((s, v) => s + Number(v), 0) / 100;
}

/** Wall time, total CPU (with ffmpeg children) and this process's own CPU (the JS marking) of one step. */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number; ownCpu: number }> {
  const c = cpuSeconds();
  const own = process.cpuUsage();
  const t = performance.now();
  const value = await fn();
  const o = process.cpuUsage(own);
  return { value, wall: (performance.now() - t) / 1000, cpu: cpuSeconds() - c, ownCpu: (o.user + o.system) / 1e6 };
}

const sources: { name: string; path: string }[] = [];
for (const [name, src] of [
  ['testsrc2 720p', `testsrc2=size=1280x720:rate=30:duration=${SECONDS}`],
  ['mandelbrot 720p', `mandelbrot=size=1280x720:rate=30,trim=duration=${SECONDS}`],
] as const) {
  const path = join(work, `${name.split(' ')[0]}.mp4`);
  // Near-lossless source with a tone track, as a camera or generator would hand it over.
  ffmpeg(['-f', 'lavfi', '-i', src, '-f', 'lavfi', '-i', `sine=f=440:d=${SECONDS}`, '-c:v', 'libx264', '-crf', '12', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path]);
  sources.push({ name: `${name} ${SECONDS} s`, path });
}
const corpusVideo = join(corpus, 'c2pa', 'video1-signed.mp4');
if (existsSync(corpusVideo)) sources.push({ name: 'corpus c2pa/video1-signed.mp4', path: corpusVideo });

const x264 = (crf: number) => ['-c:v', 'libx264', '-crf', String(crf), '-preset', PRESET, '-pix_fmt', 'yuv420p'];
const attacks: { name: string; args: (duration: number) => string[] | undefined }[] = [
  { name: 'none (as labelled)', args: () => [] },
  { name: 'H.264 CRF 28', args: () => x264(28) },
  { name: 'downscale to half (CRF 23)', args: () => ['-vf', 'scale=trunc(iw/4)*2:trunc(ih/4)*2', ...x264(23)] },
  // Only for clips long enough to hold a 10 s segment plus margins.
  { name: '10 s segment from the middle (CRF 23)', args: (d) => (d >= 14 ? ['-ss', (d / 2 - 5).toFixed(2), '-t', '10', ...x264(23)] : undefined) },
];

console.log(`bench/watermark-video: 64-bit id, image mark on luma + temporal voting; label re-encode libx264 CRF ${CRF} ${PRESET}`);
const wins = new Map<string, { ok: number; n: number }>();
let embedWall = 0;
let embedCpu = 0;
let embedOwnCpu = 0;
let frames = 0;
let plainWall = 0;
let plainCpu = 0;
let falsePositives = 0;
for (const src of sources) {
  const info = await probe(src.path);
  const v = info.streams.find((s) => s.codec_type === 'video')!;
  const duration = Number(info.format.duration ?? v.duration ?? 0);
  console.log(`${src.name} (${v.width}x${v.height}, ${duration.toFixed(1)} s):`);
  const plainOut = join(work, 'plain.mp4');
  const plain = await timed(() => ffmpeg(['-i', src.path, '-map', '0:v:0', '-map', '0:a?', '-c:a', 'copy', ...x264(CRF), plainOut]));
  const unmarked = await detectVideoWatermark(src.path, [KEY]);
  if (unmarked.size) falsePositives++;
  console.log(`  unmarked source: ${unmarked.size ? 'FALSE POSITIVE' : 'nothing found (correct)'}`);
  for (const [p, id] of PAYLOADS.entries()) {
    const marked = join(work, `marked-${p}.mp4`);
    const embed = await timed(() => embedVideoWatermark(src.path, marked, id, KEY, { crf: CRF, preset: PRESET }));
    embedWall += embed.wall;
    embedCpu += embed.cpu;
    embedOwnCpu += embed.ownCpu;
    frames += embed.value.frames;
    plainWall += plain.wall;
    plainCpu += plain.cpu;
    const row: string[] = [];
    for (const a of attacks) {
      const args = a.args(duration);
      if (!args) {
        row.push(`${a.name}: n/a (clip too short)`);
        continue;
      }
      let target = marked;
      if (args.length) {
        target = join(work, 'attacked.mp4');
        ffmpeg(['-i', marked, '-an', ...args, target]);
      }
      const d = (await detectVideoWatermark(target, [KEY])).get(KEY);
      const ok = d !== undefined && Buffer.from(d.payload).equals(Buffer.from(id));
      const w = wins.get(a.name) ?? { ok: 0, n: 0 };
      wins.set(a.name, { ok: w.ok + (ok ? 1 : 0), n: w.n + 1 });
      row.push(`${a.name}: ${ok ? 'ok' : d ? 'WRONG' : 'miss'}`);
    }
    const wrongKey = (await detectVideoWatermark(marked, ['some-other-key'])).size;
    if (wrongKey) falsePositives++;
    console.log(`  payload ${p + 1}: embed ${embed.wall.toFixed(1)} s wall / ${embed.cpu.toFixed(1)} s CPU (${embed.ownCpu.toFixed(1)} s in JS) vs plain re-encode ${plain.wall.toFixed(1)} s / ${plain.cpu.toFixed(1)} s` +
      `; wrong key: ${wrongKey ? 'FALSE POSITIVE' : 'nothing'}\n    ${row.join('\n    ')}`);
  }
}
console.log('exact-payload rate:');
for (const [name, w] of wins) console.log(`  ${name}: ${w.ok}/${w.n} (${((100 * w.ok) / w.n).toFixed(0)}%)`);
console.log(`false positives (unmarked sources + wrong key): ${falsePositives}`);
console.log(
  `labelling overhead (embed with re-encode / plain re-encode, same x264 settings): ${(embedWall / plainWall).toFixed(2)}x wall, ${(embedCpu / plainCpu).toFixed(2)}x CPU (target <= 1.5x)`,
);
console.log(
  `embed CPU split: ${embedOwnCpu.toFixed(1)} s in the JS process (frame marking + pipe copies, ${((1000 * embedOwnCpu) / frames).toFixed(1)} ms/frame), ` +
    `${(embedCpu - embedOwnCpu).toFixed(1)} s in ffmpeg (decode + x264) vs ${plainCpu.toFixed(1)} s for the plain re-encode`,
);
rmSync(work, { recursive: true, force: true });
