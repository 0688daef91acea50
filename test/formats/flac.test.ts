import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader } from '../../src/core/source.js';
import { buildVorbisComments, flacContainer, parseVorbisComments } from '../../src/formats/flac.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { frameMd5, probe } from '../../src/media/ffmpeg.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasExiftool, tempDir, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-flac-');
let flac: string;
beforeAll(async () => {
  flac = (await makeAvFixtures(tmp.dir, [{ name: 'tone.flac', args: ['-c:a', 'flac', '-metadata', 'title=Tone', '-metadata', 'comment=owner comment'] }]))['tone.flac']!;
}, 60_000);
afterAll(() => tmp.cleanup());

const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: 'Создано с помощью ИИ', ...over });

const rewrite = (input: Uint8Array, w = write()) => rewriteAv(flacContainer, input, 'flac', w);

/** Metadata blocks as [type, length, last]. */
function blocks(b: Uint8Array): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  for (let at = 4; ; ) {
    const len = (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    out.push([b[at]! & 0x7f, len, (b[at]! & 0x80) !== 0]);
    at += 4 + len;
    if (b[at - 4 - len]! & 0x80) return out;
  }
}

const audioStart = (b: Uint8Array) => 4 + blocks(b).reduce((n, [, len]) => n + 4 + len, 0);

describe('FLAC container', () => {
  it('writes the Vorbis comments into the padding: the audio frames keep their offset', async () => {
    const input = readFileSync(flac);
    expect(blocks(input).map(([t]) => t)).toEqual([0, 4, 1]);
    const out = await rewrite(input);
    expect(out.length).toBe(input.length);
    expect(audioStart(out)).toBe(audioStart(input));
    expect(out.subarray(audioStart(out)).equals(input.subarray(audioStart(input)))).toBe(true);
    expect(blocks(out).map(([t, , last]) => [t, last])).toEqual([[0, false], [4, false], [1, true]]);
    const dest = join(tmp.dir, 'out.flac');
    writeFileSync(dest, out);
    expect(await frameMd5(dest)).toEqual(await frameMd5(flac));
    const tags = (await probe(dest)).format.tags!;
    expect(tags.AIGC).toBe('{"AIGC":{"Label":"1"}}');
    expect(tags.title).toBe('Tone');
    const mm = await parseFile(dest);
    expect(mm.common.comment?.map((c) => c.text)).toEqual(['owner comment', 'Создано с помощью ИИ']);
    if (hasExiftool) {
      const j = exiftoolJson(dest);
      expect(j['Vorbis:Description']).toBe('owner comment');
      expect(j['Vorbis:Comment']).toBe('Создано с помощью ИИ');
      expect(j['Vorbis:Aigc']).toBe('{"AIGC":{"Label":"1"}}');
    }
  });

  it('without room in the padding the audio moves and a new padding block is added', async () => {
    const input = readFileSync(flac);
    // Drop the padding block: STREAMINFO, VORBIS_COMMENT (now last), audio.
    const [, vcLen] = blocks(input)[1]!;
    const vcEnd = 4 + 38 + 4 + vcLen;
    const noPad = Buffer.concat([input.subarray(0, vcEnd), input.subarray(audioStart(input))]);
    noPad[4 + 38] = noPad[4 + 38]! | 0x80;
    const src = join(tmp.dir, 'nopad.flac');
    writeFileSync(src, noPad);
    const out = await rewrite(noPad);
    expect(blocks(out).map(([t]) => t)).toEqual([0, 4, 1]);
    expect(blocks(out)[2]![1]).toBe(1024);
    const dest = join(tmp.dir, 'nopad.out.flac');
    writeFileSync(dest, out);
    expect(await frameMd5(dest)).toEqual(await frameMd5(src));
  });

  it('relabelling keeps one AIGC/TAMGA pair and replaces the earlier disclosure comment', async () => {
    const once = await rewrite(readFileSync(flac));
    const twice = await rewrite(once, write({ comment: 'AI-generated', previousComment: 'Создано с помощью ИИ' }));
    const meta = await flacContainer.read(new BufferReader(twice), 'flac');
    // ffmpeg stores `-metadata comment=` as DESCRIPTION; it is the owner's and is kept.
    expect(meta.texts.map((t) => `${t.key}=${t.text}`)).toEqual([
      'title=Tone',
      'DESCRIPTION=owner comment',
      'encoder=Lavf58.24.100',
      'AIGC={"AIGC":{"Label":"1"}}',
      'TAMGA={"contentId":"c1","digitalSourceType":"trainedAlgorithmicMedia"}',
      'COMMENT=AI-generated',
    ]);
  });

  it('label() and detect() through the API: Vorbis findings and the tamga record', async () => {
    const out = join(tmp.dir, 'api.flac');
    const r = await label(flac, { generator: 'Stable Audio/2' }, { output: out, visible: false });
    const f = (await detect(out)).findings;
    expect(f.find((x) => x.kind === 'vorbis:tamga')?.value).toMatchObject({ contentId: r.provenance.contentId, generator: { name: 'Stable Audio', version: '2' } });
    expect(f.find((x) => x.kind === 'vorbis:tc260-aigc')?.value).toMatchObject({ Label: '1', ProduceID: r.provenance.contentId });
    expect(f.some((x) => x.kind === 'vorbis:comment')).toBe(true);
    // In place: verified before the rename through the Vorbis record (FLAC has no XMP).
    await label(out, {}, { inPlace: true, visible: false });
  });

  it('Vorbis comment structure: round trip, and hostile counts are CORRUPT_INPUT', () => {
    const vc = { vendor: 'ven', comments: [{ name: 'A', value: 'x=y' }, { name: 'Б', value: 'ж' }] };
    expect(parseVorbisComments(buildVorbisComments(vc))).toEqual(vc);
    const bad = Buffer.from(buildVorbisComments(vc));
    bad.writeUInt32LE(0x7fffffff, 4 + 3);
    expect(() => parseVorbisComments(bad)).toThrow(/cannot fit/);
  });

  it('broken files are CORRUPT_INPUT', async () => {
    const input = readFileSync(flac);
    const notStreamInfo = Buffer.from(input);
    notStreamInfo[4] = 0x04;
    await expectTamgaError(flacContainer.read(new BufferReader(notStreamInfo), 'flac'), 'CORRUPT_INPUT', /STREAMINFO/);
    await expectTamgaError(flacContainer.read(new BufferReader(input.subarray(0, 60)), 'flac'), 'CORRUPT_INPUT');
    await expectOnlyCorruptUnderDamage((b) => flacContainer.read(new BufferReader(b), 'flac'), input.subarray(0, audioStart(input)), 3, 300);
  });
});
