import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, runTamga } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const KEY = '00112233445566778899aabbccddeeff';
const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);

describe('tamga watermark embed|detect (the harness interface)', () => {
  it('embeds a payload, prints it back as hex, exit 0; exit 1 and no output when absent', async () => {
    const input = join(tmp.dir, 'in.jpg');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#347"/><circle cx="200" cy="150" r="90" fill="#e94"/></svg>');
    await sharp(svg).jpeg({ quality: 92 }).toFile(input);
    const output = join(tmp.dir, 'out.jpg');
    const e = tamga('watermark', 'embed', input, '-o', output, '--watermark-key', KEY, '--payload', '0123456789ABCDEF');
    expect(e.status, e.stderr).toBe(0);
    const found = tamga('watermark', 'detect', output, '--watermark-key', KEY);
    expect(found).toMatchObject({ status: 0, stdout: '0123456789abcdef\n' });
    const absent = tamga('watermark', 'detect', input, '--watermark-key', KEY);
    expect(absent).toMatchObject({ status: 1, stdout: '' });
    expect(JSON.parse(tamga('watermark', 'detect', output, '--watermark-key', 'another-key-123', '--json').stdout)).toEqual({ input: output, found: false });
  });

  const ffmpeg = (...args: string[]) => {
    const r = spawnSync(process.env.FFMPEG_PATH ?? ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
    if (r.status !== 0) throw new Error(r.stderr.toString());
  };
  const music = (path: string, seconds: number) =>
    ffmpeg('-f', 'lavfi', '-i', `sine=f=220:d=${seconds}`, '-f', 'lavfi', '-i', `anoisesrc=c=pink:a=0.1:d=${seconds}`, '-filter_complex', 'amix=inputs=2', '-ar', '44100', '-c:a', 'pcm_s16le', path);

  it('audio: a clip shorter than one block is refused (exit 3, the file named, nothing written)', () => {
    const input = join(tmp.dir, 'short.wav');
    music(input, 3);
    const output = join(tmp.dir, 'short-out.wav');
    const r = tamga('watermark', 'embed', input, '-o', output, '--watermark-key', KEY, '--payload', '0123456789abcdef');
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('short.wav: the audio lasts 3.00 s, shorter than one 4.86 s block');
    expect(existsSync(output)).toBe(false);
  });

  it('audio: --detect-speed finds a copy played 5% fast and reports the speed; without it, nothing', () => {
    const input = join(tmp.dir, 'music.wav');
    music(input, 12);
    const marked = join(tmp.dir, 'music-marked.wav');
    expect(tamga('watermark', 'embed', input, '-o', marked, '--watermark-key', KEY, '--payload', '0123456789abcdef').status).toBe(0);
    const fast = join(tmp.dir, 'music-fast.wav');
    ffmpeg('-i', marked, '-af', 'asetrate=46305,aresample=44100', fast);
    expect(tamga('watermark', 'detect', fast, '--watermark-key', KEY).status).toBe(1);
    const r = tamga('watermark', 'detect', fast, '--watermark-key', KEY, '--detect-speed', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ found: true, payload: '0123456789abcdef', speed: 1.05 });
  }, 180_000);

  it('bad payloads and keys are usage errors (exit 2)', () => {
    expect(tamga('watermark', 'embed', 'x.png', '-o', 'y.png', '--watermark-key', KEY, '--payload', 'xyz').status).toBe(2);
    expect(tamga('watermark', 'detect', 'x.png', '--watermark-key', 'short').status).toBe(2);
  });
});
