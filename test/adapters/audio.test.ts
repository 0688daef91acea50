import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { CUE_GAP, CUE_SECONDS } from '../../src/disclosure/cue.js';
import { decodedPcmSha256, frameMd5, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { AV_FIXTURES, makeAvFixtures } from '../../fixtures/make-av.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir('tamga-audio-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, AV_FIXTURES.filter((f) => !f.video));
}, 60_000);
afterAll(() => tmp.cleanup());

/** The findings each format's own carrier yields, beside the XMP ones where the container has XMP. */
const EXPECTED: Record<string, { format: string; kinds: string[] }> = {
  'tone.mp3': { format: 'mp3', kinds: ['xmp:tamga', 'xmp:tc260-aigc', 'xmp:iptc-digital-source-type', 'id3:tc260-aigc', 'id3:tamga', 'id3:comm', 'id3:txxx'] },
  'tone-v23.mp3': { format: 'mp3', kinds: ['xmp:tamga', 'id3:tc260-aigc', 'id3:tamga', 'id3:comm'] },
  'tone.wav': { format: 'wav', kinds: ['xmp:tamga', 'xmp:tc260-aigc', 'xmp:description', 'riff:info'] },
  'tone.flac': { format: 'flac', kinds: ['vorbis:tc260-aigc', 'vorbis:tamga', 'vorbis:comment'] },
  'tone.opus': { format: 'ogg', kinds: ['vorbis:tc260-aigc', 'vorbis:tamga', 'vorbis:comment'] },
  'tone.m4a': { format: 'm4a', kinds: ['xmp:tamga', 'mp4:tc260-aigc', 'mp4:tamga', 'mp4:udta'] },
};

describe('audio adapter', () => {
  it.each(Object.keys(EXPECTED))('%s: label() writes the metadata layer losslessly and detect() reads it back', async (name) => {
    const input = files[name]!;
    const out = join(tmp.dir, `labelled-${name}`);
    const r = await label(input, { generator: 'Suno/4.5', provider: 'Example AI LLP' }, { output: out, visible: false });
    expect(r).toMatchObject({ format: EXPECTED[name]!.format, kind: 'audio', layers: ['metadata'] });
    expect(r.skipped).toBeUndefined();
    expect(await decodedPcmSha256(out)).toBe(await decodedPcmSha256(input));
    const d = await detect(out);
    expect(d).toMatchObject({ format: EXPECTED[name]!.format, kind: 'audio' });
    expect(d.findings.map((f) => f.kind)).toEqual(expect.arrayContaining(EXPECTED[name]!.kinds));
    // The perceptual scan ran (detect's default) and heard no cue in the un-cued audio.
    expect(d.findings.some((f) => f.kind === 'audio:tamga-cue')).toBe(false);
    const record = d.findings.find((f) => f.kind.endsWith(':tamga'))!.value as { contentId: string; provider: string };
    expect(record).toMatchObject({ contentId: r.provenance.contentId, provider: 'Example AI LLP' });
    const tc = d.findings.find((f) => f.kind.endsWith(':tc260-aigc'))!.value as Record<string, string>;
    expect(tc).toMatchObject({ Label: '1', ContentProducer: 'Example%20AI%20LLP', ProduceID: r.provenance.contentId });
    // labelsOnly leaves out the raw text fields.
    const labelsOnly = await detect(out, { labelsOnly: true });
    expect(labelsOnly.findings.every((f) => f.layer !== 'signal')).toBe(true);
  });

  it.each(Object.keys(EXPECTED))('%s: the kz policy adds the audible cue (re-encoded in its own codec) and detect() hears it', async (name) => {
    const input = files[name]!;
    const out = join(tmp.dir, `cued-${name}`);
    const r = await label(input, { generator: 'Suno' }, { output: out, policy: 'kz' });
    expect(r.layers).toEqual(['visible', 'metadata']);
    const before = (await probe(input)).streams[0]!;
    const after = (await probe(out)).streams[0]!;
    expect([after.codec_name, after.sample_rate, after.channels]).toEqual([before.codec_name, before.sample_rate, before.channels]);
    // Cue + gap before and after the content.
    const grow = Number(after.duration ?? (await probe(out)).format.duration) - Number(before.duration ?? (await probe(input)).format.duration);
    expect(grow).toBeGreaterThan(2 * (CUE_SECONDS + CUE_GAP) - 0.15);
    const d = await detect(out);
    const cue = d.findings.find((f) => f.kind === 'audio:tamga-cue');
    expect(cue).toMatchObject({ layer: 'visible', value: { starts: [0, expect.any(Number)] } });
    expect(d.findings.some((f) => f.kind.endsWith(':tamga') && (f.value as { contentId: string }).contentId === r.provenance.contentId)).toBe(true);
  });

  it('the cue survives MP3 64 kbps, AAC, resampling and a volume change; repeats every N minutes are found', async () => {
    const long = join(tmp.dir, 'long.wav');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=20:sample_rate=44100', '-f', 'lavfi', '-i', 'anoisesrc=d=20:a=0.05:r=44100', '-filter_complex', 'amix=inputs=2', '-ac', '2', long]);
    const cued = join(tmp.dir, 'long.cued.wav');
    await label(long, { provider: 'Example AI LLP' }, { output: cued, policy: 'cn', audibleCue: { everyMinutes: 0.15 } });
    const transforms: [string, string[]][] = [
      ['mp3-64k.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']],
      ['aac.m4a', ['-c:a', 'aac', '-b:a', '96k']],
      ['resampled.wav', ['-ar', '22050']],
      ['quiet.wav', ['-af', 'volume=0.2']],
      ['mono-8k.wav', ['-ac', '1', '-ar', '8000']],
    ];
    const expected = (await detect(cued)).findings.find((f) => f.kind === 'audio:tamga-cue')!.value as { starts: number[] };
    // At the start, at 9 s and 18 s of content (after the 1.5 s head), and after the end.
    expect(expected.starts).toHaveLength(4);
    for (const [name, args] of transforms) {
      const out = join(tmp.dir, name);
      await runFfmpeg(['-y', '-i', cued, ...args, out]);
      const found = (await detect(out)).findings.find((f) => f.kind === 'audio:tamga-cue');
      expect(found, name).toBeDefined();
      expect((found!.value as { starts: number[] }).starts.length, name).toBe(4);
    }
  });

  it('a caller-supplied clip replaces the rhythm cue; bad cue options are INVALID_OPTION', async () => {
    const clip = join(tmp.dir, 'clip.wav');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=700:duration=0.8', clip]);
    const out = join(tmp.dir, 'with-clip.mp3');
    const r = await label(files['tone.mp3']!, {}, { output: out, policy: 'kz', audibleCue: { clip, atEnd: false } });
    expect(r.layers).toContain('visible');
    expect((await detect(out)).findings.some((f) => f.kind === 'audio:tamga-cue')).toBe(false);
    await expect(label(files['tone.mp3']!, {}, { output: join(tmp.dir, 'bad.mp3'), audibleCue: { everyMinutes: -1 } })).rejects.toMatchObject({ code: 'INVALID_OPTION', details: { option: 'audibleCue.everyMinutes' } });
    await expect(label(files['tone.mp3']!, {}, { output: join(tmp.dir, 'bad.mp3'), audibleCue: { clip: join(tmp.dir, 'missing.wav') } })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('labels in place (verified through the container record before the rename)', async () => {
    for (const name of ['tone.mp3', 'tone.flac', 'tone.wav']) {
      const path = join(tmp.dir, `inplace-${name}`);
      copyFileSync(files[name]!, path);
      const r = await label(path, {}, { inPlace: true, visible: false });
      const d = await detect(path, { labelsOnly: true });
      expect(d.findings.some((f) => f.kind.endsWith(':tamga') && (f.value as { contentId: string }).contentId === r.provenance.contentId)).toBe(true);
      expect(await frameMd5(path)).toEqual(await frameMd5(files[name]!));
    }
  });

  it('labels a Buffer and returns the bytes', async () => {
    const r = await label(readFileSync(files['tone.mp3']!), {}, { visible: false });
    expect(r.data!.subarray(0, 3).toString()).toBe('ID3');
    expect((await detect(r.data!)).findings.some((f) => f.kind === 'id3:tamga')).toBe(true);
    // With the cue: the Buffer goes through a temp file for ffmpeg, and the bytes come back.
    const cued = await label(readFileSync(files['tone.wav']!), {}, { policy: 'kz' });
    expect(cued.layers).toEqual(['visible', 'metadata']);
    const path = join(tmp.dir, 'from-buffer.wav');
    writeFileSync(path, cued.data!);
    expect((await detect(path)).findings.some((f) => f.kind === 'audio:tamga-cue')).toBe(true);
  });

  it('ADTS AAC (no container for tags) stays UNSUPPORTED_FORMAT for labelling, and the output is not created', async () => {
    const aac = (await makeAvFixtures(tmp.dir, [{ name: 'x.aac', args: ['-c:a', 'aac', '-f', 'adts'] }]))['x.aac']!;
    const out = join(tmp.dir, 'x.out.aac');
    await expect(label(aac, {}, { output: out, visible: false })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(existsSync(out)).toBe(false);
  });
});
