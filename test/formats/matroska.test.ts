import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader, FileReader } from '../../src/core/source.js';
import { EBML_ID, ebmlElement, matroskaContainer, parseEbmlHeader } from '../../src/formats/matroska.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { frameMd5, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasExiftool, tempDir, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-mkv-');
let files: Record<string, string>;
beforeAll(async () => {
  files = await makeAvFixtures(tmp.dir, [
    { name: 'clip.webm', video: true, args: ['-c:v', 'libvpx', '-b:v', '200k', '-c:a', 'libopus', '-metadata', 'title=Clip', '-metadata', 'comment=owner comment'] },
    { name: 'clip.mkv', video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-metadata', 'title=Clip MKV'] },
  ]);
}, 60_000);
afterAll(() => tmp.cleanup());

const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: 'AI-generated / 人工智能生成', ...over });

const rewrite = (input: Uint8Array, w = write()) => rewriteAv(matroskaContainer, input, 'mkv', w);

/** Level-1 element IDs of the Segment, in order. */
function level1(b: Uint8Array): number[] {
  const ebml = parseEbmlHeader(b, 0, 0);
  const seg = parseEbmlHeader(b, ebml.headerSize + ebml.size!, ebml.headerSize + ebml.size!);
  const ids: number[] = [];
  for (let at = seg.offset + seg.headerSize; at < b.length; ) {
    const e = parseEbmlHeader(b, at, at);
    ids.push(e.id);
    at += e.headerSize + e.size!;
  }
  return ids;
}

/** Appends a Void element to the Segment (so Tags is no longer last) and fixes the Segment size. */
function appendVoid(b: Buffer, n: number): Buffer {
  const ebml = parseEbmlHeader(b, 0, 0);
  const segAt = ebml.headerSize + ebml.size!;
  const seg = parseEbmlHeader(b, segAt, segAt);
  const out = Buffer.concat([b, ebmlElement(EBML_ID.Void, Buffer.alloc(n))]);
  const size = seg.size! + out.length - b.length;
  const field = out.subarray(segAt + seg.headerSize - seg.sizeLength, segAt + seg.headerSize);
  for (let i = seg.sizeLength - 1, v = size; i >= 0; i--, v = Math.floor(v / 256)) field[i] = v % 256;
  field[0]! |= 0x80 >> (seg.sizeLength - 1);
  return out;
}

describe('Matroska / WebM container', () => {
  it.each(['clip.webm', 'clip.mkv'])('%s: global SimpleTags added, every existing tag kept, packets untouched', async (name) => {
    const input = readFileSync(files[name]!);
    const out = await rewrite(input);
    const dest = join(tmp.dir, `out-${name}`);
    writeFileSync(dest, out);
    expect(await frameMd5(dest, { copy: true })).toEqual(await frameMd5(files[name]!, { copy: true }));
    expect(await frameMd5(dest)).toEqual(await frameMd5(files[name]!));
    const p = await probe(dest);
    expect(p.format.tags).toMatchObject({ AIGC: '{"AIGC":{"Label":"1"}}', title: expect.stringMatching(/^Clip/) });
    // Track tags (ENCODER, DURATION) survive.
    expect(p.streams[0]!.tags?.DURATION).toBeDefined();
    const mm = await parseFile(dest);
    expect(Object.values(mm.native).flat().find((t) => /:AIGC$/.test(t.id))?.value).toBe('{"AIGC":{"Label":"1"}}');
    // When the Tags had to move after the clusters, exiftool reads it with -ee (it stops at the first Cluster otherwise).
    if (hasExiftool) expect(exiftoolJson(dest, ['-ee'])['Matroska:Aigc']).toBe('{"AIGC":{"Label":"1"}}');
  });

  it('when Tags is not the last element it becomes Void, the new Tags is appended and the SeekHead follows it', async () => {
    const labelled = await rewrite(readFileSync(files['clip.webm']!));
    const padded = appendVoid(labelled, 100);
    const src = join(tmp.dir, 'padded.webm');
    writeFileSync(src, padded);
    // A record too long for the old Tags plus the following 100-byte Void.
    const tamga = JSON.stringify({ contentId: 'c1', digitalSourceType: 'trainedAlgorithmicMedia', model: 'm'.repeat(400) });
    const again = await rewrite(padded, write({ aigc: '{"AIGC":{"Label":"2"}}', tamga, comment: 'second', previousComment: 'AI-generated / 人工智能生成' }));
    const ids = level1(again);
    expect(ids[ids.length - 1]).toBe(EBML_ID.Tags);
    expect(ids.filter((id) => id === EBML_ID.Tags)).toHaveLength(1);
    const dest = join(tmp.dir, 'padded.out.webm');
    writeFileSync(dest, again);
    // ffprobe finds the moved Tags through the SeekHead.
    const tags = (await probe(dest)).format.tags!;
    expect(tags.AIGC).toBe('{"AIGC":{"Label":"2"}}');
    expect(tags.COMMENT ?? tags.comment).not.toMatch(/人工智能/);
    expect(await frameMd5(dest)).toEqual(await frameMd5(files['clip.webm']!));
    const meta = await matroskaContainer.read(new BufferReader(again), 'webm');
    expect(meta.texts.filter((t) => t.key === 'AIGC').map((t) => t.text)).toEqual(['{"AIGC":{"Label":"2"}}']);
  });

  it('label() / detect() through the API; detection does not walk the clusters', async () => {
    const big = join(tmp.dir, 'big.mkv');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480:rate=25:duration=2', '-c:v', 'rawvideo', '-pix_fmt', 'rgb24', '-allow_raw_vfw', '1', big]);
    const out = join(tmp.dir, 'big.out.mkv');
    const r = await label(big, { generator: 'Veo' }, { output: out, visible: false });
    expect(r).toMatchObject({ format: 'mkv', kind: 'video', layers: ['metadata'] });
    const reader = await FileReader.open(out);
    try {
      const meta = await matroskaContainer.read(reader, 'mkv');
      expect(meta.texts.some((t) => t.key === 'TAMGA')).toBe(true);
      expect(reader.size).toBeGreaterThan(40e6);
      expect(reader.bytesRead).toBeLessThan(400 * 1024);
    } finally {
      await reader.close();
    }
    // The new Tags sits after 46 MB of clusters: the SeekHead was rebuilt with a wider position, and ffprobe follows it.
    expect((await probe(out)).format.tags?.TAMGA).toContain(r.provenance.contentId);
    expect(await frameMd5(out, { copy: true })).toEqual(await frameMd5(big, { copy: true }));
    const f = (await detect(out)).findings;
    expect(f.find((x) => x.kind === 'mkv:tamga')?.value).toMatchObject({ contentId: r.provenance.contentId });
    expect(f.some((x) => x.kind === 'mkv:tc260-aigc')).toBe(true);
  });

  it('broken files are CORRUPT_INPUT', async () => {
    const input = readFileSync(files['clip.webm']!);
    await expectTamgaError(matroskaContainer.read(new BufferReader(input.subarray(0, 30)), 'webm'), 'CORRUPT_INPUT');
    const bad = Buffer.from(input);
    bad[0] = 0x00;
    await expectTamgaError(matroskaContainer.read(new BufferReader(bad), 'webm'), 'CORRUPT_INPUT');
    await expectOnlyCorruptUnderDamage((b) => matroskaContainer.read(new BufferReader(b), 'webm'), input, 29, 200);
  });
});
