import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader } from '../../src/core/source.js';
import { oggContainer, oggCrc, readOggPage } from '../../src/formats/ogg.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { frameMd5, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasExiftool, tempDir, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-ogg-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, [
    { name: 'tone.opus', args: ['-c:a', 'libopus', '-b:a', '48k', '-metadata', 'title=Opus tone'] },
    { name: 'tone.ogg', args: ['-c:a', 'libvorbis', '-q:a', '2', '-metadata', 'title=Vorbis tone', '-metadata', 'artist=Artist'] },
  ]);
}, 60_000);
afterAll(() => tmp.cleanup());

const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: 'AI-generated / 人工智能生成', ...over });

const rewrite = (input: Uint8Array, w = write()) => rewriteAv(oggContainer, input, 'ogg', w);

/** Every page: its CRC is right and sequence numbers run 0, 1, 2... */
async function checkPages(b: Uint8Array): Promise<number> {
  const r = new BufferReader(b);
  let n = 0;
  for (let at = 0; at < b.length; n++) {
    const page = await readOggPage(r, at);
    expect(page.sequence).toBe(n);
    const copy = Buffer.from(b.subarray(page.offset, page.end));
    const stored = copy.readUInt32LE(22);
    copy.writeUInt32LE(0, 22);
    expect(oggCrc(copy)).toBe(stored);
    at = page.end;
  }
  return n;
}

describe('Ogg container', () => {
  it('the Ogg CRC matches the pages ffmpeg wrote', async () => {
    expect(await checkPages(readFileSync(files['tone.opus']!))).toBeGreaterThan(3);
  });

  it.each(['tone.opus', 'tone.ogg'])('%s: comments written, every page valid, packets untouched', async (name) => {
    const input = readFileSync(files[name]!);
    const out = await rewrite(input);
    await checkPages(out);
    const dest = join(tmp.dir, `out-${name}`);
    writeFileSync(dest, out);
    // ffmpeg's Vorbis demuxer attaches the comments to the first packet as side data (S=...): compare the packets themselves.
    const packets = async (p: string) => (await frameMd5(p, { copy: true })).map((l) => l.replace(/, S=.*$/, ''));
    expect(await packets(dest)).toEqual(await packets(files[name]!));
    expect(await frameMd5(dest)).toEqual(await frameMd5(files[name]!));
    const tags = (await probe(dest)).streams[0]!.tags!;
    expect(tags.AIGC).toBe('{"AIGC":{"Label":"1"}}');
    expect(tags.title ?? tags.TITLE).toMatch(/tone/);
    const mm = await parseFile(dest);
    expect(mm.common.comment?.map((c) => c.text)).toContain('AI-generated / 人工智能生成');
    if (hasExiftool) expect(JSON.stringify(exiftoolJson(dest))).toContain('人工智能生成');
  });

  it('a comment header that needs more pages renumbers every later page (and fixes its CRC)', async () => {
    const input = readFileSync(files['tone.opus']!);
    const before = await checkPages(input);
    const big = await rewrite(input, write({ tamga: JSON.stringify({ contentId: 'c1', digitalSourceType: 'trainedAlgorithmicMedia', note: 'x'.repeat(70_000) }) }));
    const after = await checkPages(big);
    expect(after).toBeGreaterThan(before);
    const dest = join(tmp.dir, 'big.opus');
    writeFileSync(dest, big);
    expect(await frameMd5(dest)).toEqual(await frameMd5(files['tone.opus']!));
  });

  it('relabelling keeps one set of our comments', async () => {
    const twice = await rewrite(await rewrite(readFileSync(files['tone.ogg']!)), write({ comment: 'second', previousComment: 'AI-generated / 人工智能生成' }));
    const meta = await oggContainer.read(new BufferReader(twice), 'ogg');
    expect(meta.texts.filter((t) => t.key === 'AIGC')).toHaveLength(1);
    expect(meta.texts.filter((t) => t.key === 'COMMENT').map((t) => t.text)).toEqual(['second']);
    expect(meta.texts.find((t) => t.key.toLowerCase() === 'artist')?.text).toBe('Artist');
  });

  it('label() and detect() through the API', async () => {
    const out = join(tmp.dir, 'api.opus');
    const r = await label(files['tone.opus']!, { generator: 'Udio' }, { output: out, visible: false });
    expect(r).toMatchObject({ format: 'ogg', kind: 'audio' });
    const f = (await detect(out)).findings;
    expect(f.find((x) => x.kind === 'vorbis:tamga')?.value).toMatchObject({ contentId: r.provenance.contentId });
    expect(f.some((x) => x.kind === 'vorbis:tc260-aigc')).toBe(true);
  });

  it('Ogg FLAC / Theora and multiplexed files are UNSUPPORTED_FORMAT; broken pages CORRUPT_INPUT', async () => {
    const oggFlac = join(tmp.dir, 'flac.oga');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=d=0.3', '-c:a', 'flac', '-f', 'ogg', oggFlac]);
    await expectTamgaError(oggContainer.read(new BufferReader(readFileSync(oggFlac)), 'ogg'), 'UNSUPPORTED_FORMAT', /Vorbis and Ogg Opus/);
    const input = readFileSync(files['tone.opus']!);
    const bad = Buffer.from(input);
    bad.write('OggX', 0, 'latin1');
    await expectTamgaError(oggContainer.read(new BufferReader(bad), 'ogg'), 'CORRUPT_INPUT', /OggS/);
    const first = await readOggPage(new BufferReader(input), 0);
    const second = await readOggPage(new BufferReader(input), first.end);
    // Damage after the identification page (whose codec magic decides UNSUPPORTED vs CORRUPT).
    const head = input.subarray(0, first.end);
    await expectOnlyCorruptUnderDamage((b) => oggContainer.read(new BufferReader(Buffer.concat([head, b])), 'ogg'), input.subarray(first.end, second.end + 200), 23, 300);
  });
});
