import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { escapeFilterValue, ffmpegPath, ffprobePath, fileUrl, frameMd5, parseToolVersion, probe, runFfmpeg, runFfprobe, stderrTail, toolChoice, toolReport } from '../../src/media/ffmpeg.js';
import { ROOT, tempDir } from '../helpers.js';

const tmp = tempDir('tamga-ffmpeg-');
afterAll(() => tmp.cleanup());

/** The value a filter option receives after ffmpeg's own unescaping (read back through frame metadata). */
async function roundTrip(text: string): Promise<string> {
  const graph = `color=s=16x16:d=0.04,metadata=mode=add:key=tamga:value=${escapeFilterValue(text)}`;
  const { stdout } = await runFfprobe(['-f', 'lavfi', '-i', graph, '-show_entries', 'frame_tags', '-of', 'json']);
  return (JSON.parse(stdout.toString('utf8')) as { frames: { tags: { tamga: string } }[] }).frames[0]!.tags.tamga;
}

describe('ffmpeg plumbing', () => {
  it('prefers a system ffmpeg/ffprobe >= 5.1 first on PATH, falls back to the bundled one, and FFMPEG_PATH / FFPROBE_PATH win', () => {
    // Stand-ins on PATH that print the version banner a real build prints.
    const fake = (dir: string, banner: string) => {
      mkdirSync(dir, { recursive: true });
      for (const tool of ['ffmpeg', 'ffprobe']) {
        writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool} version ${banner} Copyright (c) 2000-2024 the FFmpeg developers"\n`);
        chmodSync(join(dir, tool), 0o755);
      }
    };
    fake(join(tmp.dir, 'new'), '7.1.1-1+b1');
    fake(join(tmp.dir, 'old'), '4.4.2-0ubuntu0.22.04.1');
    fake(join(tmp.dir, 'git'), 'N-47683-g0e8eb07980-static');
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = `${join(tmp.dir, 'new')}${delimiter}${savedPath}`;
      expect(toolChoice('ffmpeg')).toEqual({ tool: 'ffmpeg', path: join(tmp.dir, 'new', 'ffmpeg'), source: 'system' });
      expect(ffprobePath()).toBe(join(tmp.dir, 'new', 'ffprobe'));
      expect(toolReport('ffmpeg')).toEqual({ path: join(tmp.dir, 'new', 'ffmpeg'), source: 'system', version: '7.1.1-1+b1' });
      // Too old, or a snapshot whose version cannot be told: the bundled build, never a later one on PATH.
      for (const first of ['old', 'git']) {
        process.env.PATH = [join(tmp.dir, first), join(tmp.dir, 'new'), savedPath].join(delimiter);
        expect(toolChoice('ffmpeg')?.source).toBe('bundled');
        expect(ffmpegPath()).toMatch(/@ffmpeg-installer/);
      }
    } finally {
      process.env.PATH = savedPath;
    }
    expect(parseToolVersion('ffmpeg version n6.0 Copyright')).toEqual([6, 0]);
    expect(parseToolVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright')).toEqual([5, 1, 9]);
    expect(parseToolVersion('ffmpeg version N-47683-g0e8eb07980-static')).toBeUndefined();
    // On this machine: whatever was chosen runs, and the report names it.
    const report = toolReport('ffprobe');
    expect(report).toMatchObject({ path: ffprobePath(), source: expect.stringMatching(/^(system|bundled)$/) });
    const saved = [process.env.FFMPEG_PATH, process.env.FFPROBE_PATH];
    try {
      process.env.FFMPEG_PATH = '/opt/ffmpeg/bin/ffmpeg';
      process.env.FFPROBE_PATH = '/opt/ffmpeg/bin/ffprobe';
      expect(ffmpegPath()).toBe('/opt/ffmpeg/bin/ffmpeg');
      expect(ffprobePath()).toBe('/opt/ffmpeg/bin/ffprobe');
    } finally {
      if (saved[0] === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved[0];
      if (saved[1] === undefined) delete process.env.FFPROBE_PATH;
      else process.env.FFPROBE_PATH = saved[1];
    }
  });

  it('a binary that cannot be run is FFMPEG_FAILED naming it', async () => {
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = join(tmp.dir, 'no-such-ffmpeg');
    try {
      const err = await runFfmpeg(['-version']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TamgaError);
      expect(err).toMatchObject({ code: 'FFMPEG_FAILED', details: { tool: 'ffmpeg', errno: 'ENOENT' } });
      expect((err as Error).message).toContain('no-such-ffmpeg');
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
  });

  it('a failed run is FFMPEG_FAILED carrying the tail of stderr', async () => {
    const junk = join(tmp.dir, 'junk.mp4');
    writeFileSync(junk, Buffer.alloc(2048, 7));
    const err = (await runFfmpeg(['-i', junk, '-f', 'null', '-']).catch((e: unknown) => e)) as TamgaError;
    expect(err).toBeInstanceOf(TamgaError);
    expect(err.code).toBe('FFMPEG_FAILED');
    expect(err.details.exitCode).not.toBe(0);
    expect(String(err.details.stderr)).toMatch(/Invalid data|moov atom not found/);
    expect(err.message).toMatch(/Invalid data|moov atom not found/);
    await expect(probe(junk)).rejects.toMatchObject({ code: 'FFMPEG_FAILED', details: { tool: 'ffprobe', stderr: expect.stringMatching(/Invalid data|moov atom not found/) } });
  });

  it('stderrTail keeps the last lines, cut at a line start', () => {
    const long = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const tail = stderrTail(long, 100);
    expect(tail.length).toBeLessThanOrEqual(100);
    expect(tail.endsWith('line 1999')).toBe(true);
    expect(tail.startsWith('line ')).toBe(true);
  });

  it('arguments are passed verbatim, never through a shell', async () => {
    const name = join(tmp.dir, 'a b;$(touch pwned)`x`.wav');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=d=0.1', name]);
    expect((await probe(name)).streams[0]!.codec_name).toBe('pcm_s16le');
  });

  it('paths reach ffmpeg as file: URLs, so a file named like a protocol is read as a file', async () => {
    // Relative: an absolute path starts with '/', which ffmpeg never reads as a protocol.
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      const odd = 'concat:x|y.wav';
      await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=d=0.1', fileUrl(odd)]);
      expect((await probe(odd)).format.format_name).toBe('wav');
      expect((await frameMd5(odd)).length).toBeGreaterThan(0);
      // Without the prefix ffmpeg takes it for its concat protocol and fails.
      await expect(runFfprobe(['-i', odd])).rejects.toMatchObject({ code: 'FFMPEG_FAILED' });
    } finally {
      process.chdir(cwd);
    }
  });

  it.each([
    ["it's", "a quote"],
    ['a: b', 'a colon'],
    ['back\\slash \\\\ twice', 'backslashes'],
    ['%{pts} and 100%', 'drawtext expansion'],
    ['line one\nline two', 'a newline'],
    ['[in], x; y', 'filtergraph separators'],
    ['  padded  ', 'edge spaces'],
    ["\\'", 'an escaped quote'],
    ['Жасанды интеллект / 人工智能生成', 'non-Latin text'],
  ])('escapeFilterValue passes %j (%s) through ffmpeg unchanged', async (text) => {
    expect(await roundTrip(text)).toBe(text);
  });

  it('escapeFilterValue with drawtext draws the text literally (same frames as textfile with expansion off)', async () => {
    const font = resolve(ROOT, 'node_modules/pdfjs-dist/standard_fonts/LiberationSans-Regular.ttf');
    const text = "AI: it's %{pts} \\ 100%";
    const textFile = join(tmp.dir, 'text.txt');
    writeFileSync(textFile, text);
    const render = async (drawtext: string, out: string) => {
      const path = join(tmp.dir, out);
      await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'color=c=black:s=320x40:d=0.04', '-vf', drawtext, '-c:v', 'rawvideo', '-pix_fmt', 'rgb24', path]);
      return frameMd5(path);
    };
    const escaped = await render(`drawtext=fontfile=${escapeFilterValue(font)}:fontsize=20:fontcolor=white:x=4:y=8:text=${escapeFilterValue(text, { drawtext: true })}`, 'a.avi');
    const literal = await render(`drawtext=fontfile=${escapeFilterValue(font)}:fontsize=20:fontcolor=white:x=4:y=8:expansion=none:textfile=${escapeFilterValue(textFile)}`, 'b.avi');
    const blank = await render('null', 'c.avi');
    expect(escaped).toEqual(literal);
    expect(escaped).not.toEqual(blank);
  });
});
