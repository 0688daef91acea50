import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { frameMd5, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { AV_FIXTURES, makeAvFixtures } from '../../fixtures/make-av.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir('tamga-video-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, AV_FIXTURES.filter((f) => f.video));
}, 60_000);
afterAll(() => tmp.cleanup());

describe('video adapter', () => {
  it.each([
    ['clip.mp4', 'mp4'],
    ['clip-moov-last.mp4', 'mp4'],
    ['clip.mov', 'mov'],
  ])('%s: metadata layer written losslessly (every stream), read back by detect()', async (name, format) => {
    const input = files[name]!;
    const out = join(tmp.dir, `labelled-${name}`);
    const r = await label(input, { generator: 'Sora' }, { output: out, lang: ['zh'], visible: false });
    expect(r).toMatchObject({ format, kind: 'video', layers: ['metadata'] });
    expect(await frameMd5(out)).toEqual(await frameMd5(input));
    const d = await detect(out);
    expect(d).toMatchObject({ format, kind: 'video' });
    const kinds = d.findings.map((f) => f.kind);
    expect(kinds).toEqual(expect.arrayContaining(['xmp:tamga', 'xmp:tc260-aigc', 'xmp:iptc-digital-source-type', 'mp4:tc260-aigc', 'mp4:tamga', 'mp4:udta']));
    const comment = d.findings.find((f) => f.kind === 'mp4:udta' && (f.value as { key: string }).key === '\u00a9cmt');
    expect((comment!.value as { text: string }).text).toMatch(/人工智能/);
  });

  /** Mean absolute difference (0..255) of a region of two RGB frames. */
  async function regionDiff(a: string, b: string, at: number, region: { left: number; top: number; width: number; height: number }): Promise<number> {
    const grab = async (path: string) => {
      const png = join(tmp.dir, `grab-${Math.random().toString(36).slice(2)}.png`);
      await runFfmpeg(['-y', '-ss', String(at), '-i', path, '-frames:v', '1', png]);
      return sharp(png).extract(region).removeAlpha().raw().toBuffer();
    };
    const [x, y] = [await grab(a), await grab(b)];
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
    return sum / x.length;
  }

  it('the kz policy overlays the badge for the first N seconds, keeps the codec, copies the audio', async () => {
    const input = join(tmp.dir, 'four-seconds.mp4');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=d=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', input]);
    const out = join(tmp.dir, 'four-seconds.badge.mp4');
    const r = await label(input, { generator: 'Veo' }, { output: out, policy: 'kz', onScreen: { seconds: 2, preset: 'ultrafast' } });
    expect(r.layers).toEqual(['visible', 'metadata']);
    const [pin, pout] = [await probe(input), await probe(out)];
    expect(pout.streams.map((x) => x.codec_name)).toEqual(pin.streams.map((x) => x.codec_name));
    expect(Number(pout.format.duration)).toBeCloseTo(Number(pin.format.duration), 1);
    // The audio packets are the input's, byte for byte.
    expect(await frameMd5(out, { copy: true, streams: '0:a' })).toEqual(await frameMd5(input, { copy: true, streams: '0:a' }));
    // Bottom-right quarter: changed while the badge shows (t < 2 s), back to the picture after.
    const corner = { left: 160, top: 120, width: 160, height: 120 };
    expect(await regionDiff(input, out, 0.5, corner)).toBeGreaterThan(20);
    expect(await regionDiff(input, out, 3.0, corner)).toBeLessThan(4);
    const d = await detect(out);
    expect(d.findings.some((f) => f.kind === 'mp4:tamga' && (f.value as { contentId: string }).contentId === r.provenance.contentId)).toBe(true);
  });

  it('detect() samples frames and finds the badge after an H.264 CRF 28 re-encode at half size; none in the original', async () => {
    const input = join(tmp.dir, 'hd.mp4');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
    const out = join(tmp.dir, 'hd.badge.mp4');
    await label(input, {}, { output: out, policy: 'kz', onScreen: { preset: 'ultrafast' } });
    const reencoded = join(tmp.dir, 'hd.crf28.half.mp4');
    await runFfmpeg(['-y', '-i', out, '-vf', 'scale=iw/2:ih/2', '-c:v', 'libx264', '-crf', '28', '-preset', 'veryfast', reencoded]);
    for (const path of [out, reencoded]) {
      const badges = (await detect(path)).findings.filter((f) => f.kind === 'visible:tamga-badge');
      expect(badges.length, path).toBeGreaterThan(0);
      expect(badges[0]!.where).toMatch(/^video@/);
    }
    expect((await detect(input)).findings.some((f) => f.kind === 'visible:tamga-badge')).toBe(false);
    // visible: false reads headers only.
    expect((await detect(out, { visible: false })).findings.some((f) => f.kind === 'visible:tamga-badge')).toBe(false);
  });

  it('WebM (VP8) keeps VP8; bad --crf/--preset values are INVALID_OPTION', async () => {
    const webm = join(tmp.dir, 'clip.webm');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=1', '-c:v', 'libvpx', '-b:v', '300k', webm]);
    const out = join(tmp.dir, 'clip.badge.webm');
    await label(webm, {}, { output: out, policy: 'kz', onScreen: { crf: 30 } });
    expect((await probe(out)).streams[0]!.codec_name).toBe('vp8');
    await expect(label(webm, {}, { output: join(tmp.dir, 'x.webm'), onScreen: { crf: 99 } })).rejects.toMatchObject({ code: 'INVALID_OPTION', details: { option: 'onScreen.crf' } });
    await expect(label(webm, {}, { output: join(tmp.dir, 'x.webm'), onScreen: { preset: 'x;rm -rf' } })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(label(webm, {}, { output: join(tmp.dir, 'x.webm'), onScreen: { seconds: 1 } })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: /GB 45438/ });
  });

  it('label without metadata and without another layer is INVALID_OPTION', async () => {
    await expect(label(files['clip.mp4']!, {}, { output: join(tmp.dir, 'none.mp4'), metadata: false, visible: false })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
