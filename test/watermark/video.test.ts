import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { detectVideoWatermark, embedVideoWatermark } from '../../src/watermark/video.js';

const ID = Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04]);
const KEY = 'video-key';
const dir = mkdtempSync(join(tmpdir(), 'tamga-video-wm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const src = join(dir, 'src.mp4');
const marked = join(dir, 'marked.mp4');

beforeAll(async () => {
  // 4 s of a moving fractal zoom (texture, like real footage) at 960x540 with a tone, H.264 + AAC.
  await runFfmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=960x540:rate=25,trim=duration=4', '-f', 'lavfi', '-i', 'sine=f=440:duration=4', '-c:v', 'libx264', '-crf', '20', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src]);
  await embedVideoWatermark(src, marked, ID, KEY, { preset: 'veryfast' });
}, 120_000);

const hex = (m: Map<string, { payload: Uint8Array }>, k: string) => (m.get(k) ? Buffer.from(m.get(k)!.payload).toString('hex') : undefined);

describe('video watermark', () => {
  it('marks every frame, keeps the audio stream, and is found; nothing with a wrong key or in the source', async () => {
    const info = await probe(marked);
    expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(Number(info.format.duration)).toBeCloseTo(4, 0);
    const found = await detectVideoWatermark(marked, ['wrong', KEY]);
    expect(hex(found, KEY)).toBe(Buffer.from(ID).toString('hex'));
    expect(found.has('wrong')).toBe(false);
    expect((await detectVideoWatermark(src, [KEY])).size).toBe(0);
  });

  it('survives an H.264 CRF 28 re-encode at half size', async () => {
    const attacked = join(dir, 'attacked.mp4');
    await runFfmpeg(['-i', marked, '-vf', 'scale=480:270', '-c:v', 'libx264', '-crf', '28', '-preset', 'veryfast', '-an', attacked]);
    expect(hex(await detectVideoWatermark(attacked, [KEY]), KEY)).toBe(Buffer.from(ID).toString('hex'));
  });

  it('refuses bad encoder options naming them', async () => {
    await expect(embedVideoWatermark(src, join(dir, 'x.mp4'), ID, KEY, { crf: 99 })).rejects.toThrow(/crf/);
    await expect(embedVideoWatermark(src, join(dir, 'x.mp4'), ID, KEY, { preset: 'warp' })).rejects.toThrow(/preset/);
  });
});

describe('watermark findings through detect()', () => {
  it('detect({ watermarkKey }) reports the video mark; no key, no scan', async () => {
    const { detect } = await import('../../src/api.js');
    const d = await detect(marked, { watermarkKey: KEY, visible: false });
    expect(d.findings).toContainEqual(expect.objectContaining({ layer: 'watermark', kind: 'watermark:tamga', value: expect.objectContaining({ id: Buffer.from(ID).toString('hex') }) }));
    expect((await detect(marked, { visible: false })).findings.some((f) => f.layer === 'watermark')).toBe(false);
  });
});

describe('video watermark as a label layer', () => {
  it('label({ watermarkKey }) re-encodes with the input codec, keeps audio, then writes metadata; detect finds both', async () => {
    const { detect, label } = await import('../../src/api.js');
    const { watermarkIdOf } = await import('../../src/watermark/payload.js');
    const out = join(dir, 'labelled.mp4');
    const r = await label(src, { contentId: 'video-content' }, { output: out, visible: false, watermarkKey: KEY, onScreen: { preset: 'veryfast' } });
    expect(r.layers).toEqual(['watermark', 'metadata']);
    const info = await probe(out);
    expect(info.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
    const d = await detect(out, { watermarkKey: KEY, visible: false });
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'watermark:tamga', value: expect.objectContaining({ id: Buffer.from(watermarkIdOf('video-content')).toString('hex') }) }));
    expect(d.findings.some((f) => f.kind.endsWith(':tamga') && f.layer === 'metadata')).toBe(true);
  }, 120_000);
});
