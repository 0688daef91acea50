/**
 * Audio/video labelling speed, each next to its floor measured in the same run:
 *   1. on-screen label of an H.264 clip   vs  a plain ffmpeg re-encode with the same x264 settings (target ratio <= 1.3)
 *   2. metadata-only label of that clip   vs  `ffmpeg -map 0 -c copy` (target <= 1.1)
 *   3. audible cue on an MP3              vs  a plain ffmpeg re-encode with the same LAME settings (and x realtime)
 *   4. a multi-GB WAV (sparse file): metadata label and detection, with peak RSS (streaming, never held in memory)
 *
 *   npx tsx bench/av.ts [--seconds 60] [--preset medium] [--audio-minutes 10] [--huge-gb 3.5]
 * The issue's reference run is 60 s of 1080p at the default preset (medium); it takes minutes.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detect, label } from '../src/api.js';
import { FileReader } from '../src/core/source.js';
import { wavContainer } from '../src/formats/wav.js';
import { runFfmpeg } from '../src/media/ffmpeg.js';
import { DEFAULT_CRF } from '../src/disclosure/overlay.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    preset: { type: 'string', default: 'medium' },
    'audio-minutes': { type: 'string', default: '10' },
    'huge-gb': { type: 'string', default: '3.5' },
  },
});
const seconds = Number(values.seconds);
const preset = values.preset!;
const dir = mkdtempSync(join(tmpdir(), 'tamga-bench-av-'));
const at = (name: string) => join(dir, name);

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function row(what: string, ours: number, floor: number, target: string): void {
  console.log(`${what.padEnd(44)} tamga ${ours.toFixed(2).padStart(7)} s   floor ${floor.toFixed(2).padStart(7)} s   ratio ${(ours / floor).toFixed(2)}  (target ${target})`);
}

try {
  console.log(`generating ${seconds} s of 1080p30 H.264 + AAC...`);
  const clip = at('clip.mp4');
  await runFfmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=d=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', '-shortest', clip,
  ]);

  // 1. Overlay vs a plain re-encode with the same encoder settings.
  const floorEncode = await time(() =>
    runFfmpeg(['-y', '-i', clip, '-map', '0:v:0', '-map', '0:a', '-c', 'copy', '-c:v:0', 'libx264', '-crf', String(DEFAULT_CRF), '-preset', preset, '-movflags', '+faststart', at('floor.mp4')]),
  );
  const overlay = await time(() => label(clip, {}, { output: at('badge.mp4'), policy: 'kz', onScreen: { preset } }));
  row(`on-screen label, ${seconds} s 1080p (x264 ${preset})`, overlay, floorEncode, '<= 1.3');

  // 2. Metadata only vs a stream copy (best of three: both are I/O bound and short).
  const best = async (fn: () => Promise<unknown>) => Math.min(await time(fn), await time(fn), await time(fn));
  const floorCopy = await best(() => runFfmpeg(['-y', '-i', clip, '-map', '0', '-c', 'copy', at('copy.mp4')]));
  const meta = await best(() => label(clip, {}, { output: at('meta.mp4'), visible: false }));
  row(`metadata-only label (${(statSync(clip).size / 1e6).toFixed(0)} MB MP4)`, meta, floorCopy, '<= 1.1');

  // 3. Audible cue vs a plain MP3 re-encode; and speed in x realtime.
  const audioSeconds = Number(values['audio-minutes']) * 60;
  const mp3 = at('speech.mp3');
  await runFfmpeg(['-f', 'lavfi', '-i', `sine=frequency=220:duration=${audioSeconds}:sample_rate=44100`, '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '128k', mp3]);
  const floorMp3 = await time(() => runFfmpeg(['-y', '-i', mp3, '-c:a', 'libmp3lame', '-b:a', '128000', at('floor.mp3')]));
  const cue = await time(() => label(mp3, {}, { output: at('cue.mp3'), policy: 'kz', audibleCue: { everyMinutes: 5 } }));
  row(`audible cue, ${values['audio-minutes']} min MP3 128k`, cue, floorMp3, 'the re-encode');
  console.log(`${''.padEnd(44)} cue labelling runs at ${(audioSeconds / cue).toFixed(0)}x realtime`);
  const cueScan = await time(() => detect(at('cue.mp3')));
  console.log(`${'audible cue detection (decode + scan)'.padEnd(44)} ${cueScan.toFixed(2)} s = ${(audioSeconds / cueScan).toFixed(0)}x realtime`);

  // 4. A multi-GB WAV: a sparse file of silence, labelled and detected by streaming.
  const bytes = Math.floor((Number(values['huge-gb']) * 1e9) / 4) * 4; // whole 16-bit stereo frames
  const huge = at('huge.wav');
  const fd = openSync(huge, 'w');
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + bytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(48000, 24);
  header.writeUInt32LE(48000 * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(bytes, 40);
  writeSync(fd, header);
  closeSync(fd);
  truncateSync(huge, 44 + bytes);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const hugeLabel = await time(() => label(huge, {}, { output: at('huge.out.wav'), visible: false }));
  const reader = await FileReader.open(at('huge.out.wav'));
  const hugeDetect = await time(() => wavContainer.read(reader, 'wav'));
  const readBytes = reader.bytesRead;
  await reader.close();
  clearInterval(sampler);
  console.log(
    `${`metadata label of a ${(bytes / 1e9).toFixed(1)} GB WAV`.padEnd(44)} ${hugeLabel.toFixed(2)} s (${(bytes / 1e6 / hugeLabel).toFixed(0)} MB/s), ` +
      `peak RSS +${((peak - rss0) / 1e6).toFixed(0)} MB; detection ${(hugeDetect * 1000).toFixed(1)} ms reading ${(readBytes / 1024).toFixed(0)} KiB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
