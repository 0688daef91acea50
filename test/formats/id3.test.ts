import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer, parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader } from '../../src/core/source.js';
import { buildId3Tag, commFrame, deunsynchronise, mp3Container, privFrameBytes, readId3Tag, synchsafe, txxxFrame } from '../../src/formats/id3.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { frameMd5, probe } from '../../src/media/ffmpeg.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { corpusFile, exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasCorpus, hasExiftool, tempDir, xmpPacket, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-id3-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, [
    { name: 'v24.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '4', '-metadata', 'title=Tone', '-metadata', 'artist=Артист'] },
    { name: 'v23.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '3', '-metadata', 'title=Tone 2.3'] },
    { name: 'bare.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '64k', '-id3v2_version', '0', '-write_xing', '0', '-map_metadata', '-1'] },
  ]);
}, 60_000);
afterAll(() => tmp.cleanup());

const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: 'Создано с помощью ИИ / AI-generated', tamga: '{"contentId":"x","digitalSourceType":"trainedAlgorithmicMedia"}', ...over });

const rewrite = (input: Uint8Array, w = write()) => rewriteAv(mp3Container, input, 'mp3', w);

describe('ID3v2 primitives', () => {
  it('synchsafe sizes and unsynchronisation', () => {
    expect(synchsafe(Uint8Array.of(0x00, 0x00, 0x02, 0x01), 0)).toBe(257);
    expect(synchsafe(Uint8Array.of(0x7f, 0x7f, 0x7f, 0x7f), 0)).toBe((1 << 28) - 1);
    expect([...deunsynchronise(Uint8Array.of(0xff, 0x00, 0xe0, 0x01, 0xff, 0x00, 0x00))]).toEqual([0xff, 0xe0, 0x01, 0xff, 0x00]);
  });

  it('a built 2.4 tag has a synchsafe size and frames music-metadata reads', async () => {
    const tag = buildId3Tag(4, [txxxFrame(4, 'AIGC', '{"a":1}'), commFrame(4, 'eng', 'AI disclosure', 'Жасанды интеллект'), privFrameBytes(4, 'XMP', xmpPacket())], 300);
    expect(tag.subarray(0, 5)).toEqual(Uint8Array.of(0x49, 0x44, 0x33, 4, 0));
    expect(synchsafe(tag, 6)).toBe(tag.length - 10);
    const mm = await parseBuffer(tag, { mimeType: 'audio/mpeg' });
    expect(mm.native['ID3v2.4']!.find((t) => t.id === 'TXXX:AIGC')?.value).toBe('{"a":1}');
    expect(mm.common.comment?.[0]).toMatchObject({ descriptor: 'AI disclosure', text: 'Жасанды интеллект' });
  });
});

describe('MP3 container', () => {
  it('labels an ID3v2.4 file: every frame kept, ours added, audio frames untouched', async () => {
    const input = readFileSync(files['v24.mp3']!);
    const out = await rewrite(input);
    const dest = join(tmp.dir, 'v24.out.mp3');
    writeFileSync(dest, out);
    const tag = await readId3Tag(new BufferReader(out));
    expect(tag.major).toBe(4);
    expect(tag.frames.map((f) => f.id)).toEqual(['TIT2', 'TPE1', 'TSSE', 'TXXX', 'TXXX', 'COMM', 'PRIV']);
    // Everything after the tag is the original audio, byte for byte.
    const oldTag = await readId3Tag(new BufferReader(input));
    expect(out.subarray(tag.end).equals(input.subarray(oldTag.end))).toBe(true);
    expect(await frameMd5(dest)).toEqual(await frameMd5(files['v24.mp3']!));
    const mm = await parseFile(dest);
    expect(mm.common.title).toBe('Tone');
    expect(mm.common.artist).toBe('Артист');
    expect(mm.native['ID3v2.4']!.find((t) => t.id === 'TXXX:AIGC')?.value).toBe('{"AIGC":{"Label":"1"}}');
    const p = await probe(dest);
    expect(p.format.tags).toMatchObject({ title: 'Tone', AIGC: '{"AIGC":{"Label":"1"}}' });
  });

  it('rewrites an ID3v2.3 tag as 2.3 (UTF-16 text) and keeps its frames', async () => {
    const out = await rewrite(readFileSync(files['v23.mp3']!));
    const tag = await readId3Tag(new BufferReader(out));
    expect(tag.major).toBe(3);
    const dest = join(tmp.dir, 'v23.out.mp3');
    writeFileSync(dest, out);
    const mm = await parseFile(dest);
    expect(mm.common.title).toBe('Tone 2.3');
    expect(mm.common.comment?.[0]?.text).toBe('Создано с помощью ИИ / AI-generated');
    if (hasExiftool) {
      const j = exiftoolJson(dest);
      expect(j['ID3v2_3:Title']).toBe('Tone 2.3');
      expect(String(j['ID3v2_3:Comment-und'] ?? j['ID3v2_3:Comment'])).toContain('Создано с помощью ИИ');
      expect(j['XMP-iptcExt:DigitalSourceType']).toMatch(/trainedAlgorithmicMedia$/);
    }
  });

  it('adds a 2.4 tag to an MP3 without one', async () => {
    const input = readFileSync(files['bare.mp3']!);
    expect(input.subarray(0, 3).toString('latin1')).not.toBe('ID3');
    const out = await rewrite(input);
    const tag = await readId3Tag(new BufferReader(out));
    expect(tag.major).toBe(4);
    expect(out.subarray(tag.end).equals(input)).toBe(true);
  });

  it('relabelling replaces our frames instead of adding a second set', async () => {
    const once = await rewrite(readFileSync(files['v24.mp3']!));
    const twice = await rewrite(once, write({ aigc: '{"AIGC":{"Label":"2"}}', xmp: xmpPacket('<!-- second -->') }));
    const tag = await readId3Tag(new BufferReader(twice));
    expect(tag.frames.filter((f) => f.id === 'TXXX')).toHaveLength(2);
    expect(tag.frames.filter((f) => f.id === 'COMM')).toHaveLength(1);
    expect(tag.frames.filter((f) => f.id === 'PRIV')).toHaveLength(1);
    const meta = await mp3Container.read(new BufferReader(twice), 'mp3');
    expect(meta.texts.find((t) => t.key === 'AIGC')?.text).toBe('{"AIGC":{"Label":"2"}}');
  });

  it('reads frames of a 2.3 tag with tag-level unsynchronisation', async () => {
    // A TXXX (latin1, description "A", value "ÿA") whose FF byte is stored as FF 00 under 2.3 tag-level unsynchronisation.
    const raw = Buffer.concat([Buffer.from('TXXX'), Buffer.from([0, 0, 0, 5, 0, 0]), Buffer.from([0x00, 0x41, 0x00, 0xff, 0x41])]);
    const unsync = Buffer.from(raw.toString('latin1').replace(/\xff/g, '\xff\x00'), 'latin1');
    expect(unsync.length).toBe(raw.length + 1);
    const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0x80, 0, 0, 0, unsync.length]);
    const file = Buffer.concat([header, unsync, Buffer.from([0xff, 0xfb, 0x90, 0x00])]);
    const tag = await readId3Tag(new BufferReader(file));
    expect(tag.frames).toHaveLength(1);
    expect([...tag.frames[0]!.data]).toEqual([0x00, 0x41, 0x00, 0xff, 0x41]);
    const meta = await mp3Container.read(new BufferReader(file), 'mp3');
    expect(meta.texts[0]).toMatchObject({ kind: 'id3:txxx', key: 'A', text: 'ÿA' });
  });

  it('refuses an ID3v2.2 tag for writing and reports broken tags as CORRUPT_INPUT', async () => {
    const v22 = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 2, 0, 0, 0, 0, 0, 0]), Buffer.from([0xff, 0xfb, 0x90, 0x00])]);
    await expectTamgaError(rewrite(v22), 'UNSUPPORTED_FORMAT', /ID3v2\.2/);
    const long = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x7f, 0x7f]), Buffer.alloc(20)]);
    await expectTamgaError(mp3Container.read(new BufferReader(long), 'mp3'), 'CORRUPT_INPUT', /runs past the end/);
    const badFrame = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 20]), Buffer.from('TIT2'), Buffer.from([0, 0, 1, 0, 0, 0]), Buffer.alloc(10)]);
    await expectTamgaError(mp3Container.read(new BufferReader(badFrame), 'mp3'), 'CORRUPT_INPUT', /runs past the tag/);
  });

  it('random damage to a labelled tag gives a result or CORRUPT_INPUT, nothing else', async () => {
    const out = await rewrite(readFileSync(files['v24.mp3']!));
    const head = out.subarray(0, (await readId3Tag(new BufferReader(out))).end + 64);
    await expectOnlyCorruptUnderDamage((b) => mp3Container.read(new BufferReader(b), 'mp3'), head, 5, 300);
  });
});

describe.skipIf(!hasCorpus)('MP3 corpus (C2PA in an ID3 GEOB frame)', () => {
  it('labels cicadas-unsigned.mp3 losslessly; the signed one is a C2PA conflict unless stripped', async () => {
    const unsigned = join(tmp.dir, 'cicadas.mp3');
    copyFileSync(corpusFile('c2pa/cicadas-unsigned.mp3'), unsigned);
    const out = join(tmp.dir, 'cicadas.out.mp3');
    await label(unsigned, { generator: 'Suno/4' }, { output: out, visible: false });
    expect(await frameMd5(out)).toEqual(await frameMd5(unsigned));
    expect((await detect(out)).findings.map((f) => f.kind)).toEqual(expect.arrayContaining(['xmp:tamga', 'id3:tc260-aigc', 'id3:tamga', 'id3:comm']));

    const signed = corpusFile('c2pa/cicadas-signed.mp3');
    const before = await detect(signed);
    expect(before.findings.some((f) => f.layer === 'c2pa' && f.where?.startsWith('id3:GEOB-c2pa'))).toBe(true);
    await expect(label(signed, {}, { output: join(tmp.dir, 'x.mp3'), visible: false })).rejects.toMatchObject({ code: 'C2PA_CONFLICT' });
    const stripped = join(tmp.dir, 'stripped.mp3');
    await label(signed, {}, { output: stripped, visible: false, onExistingC2pa: 'strip' });
    const after = await detect(stripped);
    expect(after.findings.some((f) => f.layer === 'c2pa' && f.kind.startsWith('c2pa:'))).toBe(false);
    expect(await frameMd5(stripped)).toEqual(await frameMd5(signed));
  });
});
