import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { u32le } from '../../src/core/bytes.js';
import { BufferReader } from '../../src/core/source.js';
import { readRiffChunks, riffChunk } from '../../src/formats/riff.js';
import type { AvMetadataWrite } from '../../src/formats/types.js';
import { wavContainer } from '../../src/formats/wav.js';
import { decodedPcmSha256, probe, runFfmpeg } from '../../src/media/ffmpeg.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { corpusFile, exiftoolJson, expectOnlyCorruptUnderDamage, expectTamgaError, hasCorpus, hasExiftool, tempDir, xmpPacket, avMetadataWrite, rewriteAv } from '../helpers.js';

const tmp = tempDir('tamga-wav-');
let wav: string;
beforeAll(async () => {
  wav = (await makeAvFixtures(tmp.dir, [{ name: 'tone.wav', args: ['-c:a', 'pcm_s16le', '-metadata', 'title=Tone', '-metadata', 'comment=owner comment'] }]))['tone.wav']!;
}, 60_000);
afterAll(() => tmp.cleanup());

const DISCLOSURE = 'Жасанды интеллект арқылы жасалған / AI-generated';
const write = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => avMetadataWrite({ comment: DISCLOSURE, tamga: '{}', ...over });

const rewrite = (input: Uint8Array, w = write()) => rewriteAv(wavContainer, input, 'wav', w);

/** Inserts `chunk` before the `data` chunk and fixes the RIFF size. */
async function withChunkBeforeData(input: Buffer, chunk: Uint8Array): Promise<Buffer> {
  const riff = await readRiffChunks(new BufferReader(input));
  const data = riff.chunks.find((c) => c.id === 'data')!;
  const out = Buffer.concat([input.subarray(0, data.offset), chunk, input.subarray(data.offset)]);
  out.writeUInt32LE(out.length - 8, 4);
  return out;
}

describe('WAV container', () => {
  it('adds LIST/INFO ICMT (keeping the owner comment) and a _PMX chunk; samples untouched', async () => {
    const out = await rewrite(readFileSync(wav));
    const dest = join(tmp.dir, 'out.wav');
    writeFileSync(dest, out);
    const riff = await readRiffChunks(new BufferReader(out));
    expect(u32le(out, 4)).toBe(out.length - 8);
    expect(riff.chunks.map((c) => c.id)).toEqual(['fmt ', 'LIST', '_PMX', 'data']);
    for (const c of riff.chunks) expect(c.end - c.dataOffset).toBe(c.size + (c.size & 1));
    expect(await decodedPcmSha256(dest)).toBe(await decodedPcmSha256(wav));
    const meta = await wavContainer.read(new BufferReader(out), 'wav');
    expect(meta.texts.find((t) => t.key === 'ICMT')?.text).toBe(`owner comment\n${DISCLOSURE}`);
    expect(meta.texts.find((t) => t.key === 'INAM')?.text).toBe('Tone');
    expect((await probe(dest)).format.tags?.comment).toBe(`owner comment\n${DISCLOSURE}`);
    expect((await parseFile(dest)).common.title).toBe('Tone');
    if (hasExiftool) {
      // RIFF INFO has no charset field; ffmpeg and tamga write UTF-8, which exiftool reads when told.
      const j = exiftoolJson(dest, ['-charset', 'RIFF=UTF8']);
      expect(j['RIFF:Comment']).toBe(`owner comment\n${DISCLOSURE}`);
      expect(j['XMP-iptcExt:DigitalSourceType']).toMatch(/trainedAlgorithmicMedia$/);
    }
  });

  it('relabelling replaces the earlier disclosure and the XMP chunk in place', async () => {
    const once = await rewrite(readFileSync(wav));
    const twice = await rewrite(once, write({ comment: 'second', previousComment: DISCLOSURE }));
    const riff = await readRiffChunks(new BufferReader(twice));
    expect(riff.chunks.map((c) => c.id)).toEqual(['fmt ', 'LIST', '_PMX', 'data']);
    const meta = await wavContainer.read(new BufferReader(twice), 'wav');
    expect(meta.texts.filter((t) => t.key === 'ICMT').map((t) => t.text)).toEqual(['owner comment\nsecond']);
  });

  it("reads and replaces c2pa-rs's 'XMP ' chunk in place, merging the packet", async () => {
    const credit = '<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Made with Example AI"/>';
    const input = await withChunkBeforeData(readFileSync(wav), riffChunk('XMP ', xmpPacket(credit)));
    const dest = join(tmp.dir, 'xmp-space.wav');
    writeFileSync(dest, input);
    const out = join(tmp.dir, 'xmp-space.out.wav');
    await label(dest, { generator: 'Udio' }, { output: out, visible: false });
    const riff = await readRiffChunks(new BufferReader(readFileSync(out)));
    expect(riff.chunks.filter((c) => c.id === 'XMP ' || c.id === '_PMX').map((c) => c.id)).toEqual(['XMP ']);
    const kinds = (await detect(out)).findings.map((f) => f.kind);
    expect(kinds).toEqual(expect.arrayContaining(['xmp:photoshop-credit', 'xmp:tamga', 'xmp:tc260-aigc']));
    expect(await decodedPcmSha256(out)).toBe(await decodedPcmSha256(wav));
  });

  it('a streamed WAV (sizes 0xFFFFFFFF) is read leniently and written with real sizes', async () => {
    const { stdout } = await runFfmpeg(['-f', 'lavfi', '-i', 'sine=d=0.5:sample_rate=8000', '-c:a', 'pcm_s16le', '-f', 'wav', 'pipe:1']);
    expect([0, 0xffffffff]).toContain(u32le(stdout, 4));
    const streamed = join(tmp.dir, 'streamed.wav');
    writeFileSync(streamed, stdout);
    // The strict walk WebP uses still refuses it.
    await expectTamgaError(readRiffChunks(new BufferReader(stdout)), 'CORRUPT_INPUT');
    const out = await rewrite(stdout);
    const dest = join(tmp.dir, 'streamed.out.wav');
    writeFileSync(dest, out);
    const riff = await readRiffChunks(new BufferReader(out));
    expect(u32le(out, 4)).toBe(out.length - 8);
    const data = riff.chunks.find((c) => c.id === 'data')!;
    expect(data.end).toBe(out.length);
    expect(await decodedPcmSha256(dest)).toBe(await decodedPcmSha256(streamed));
  });

  it('broken files are CORRUPT_INPUT, never a crash', async () => {
    const input = readFileSync(wav);
    await expectTamgaError(rewrite(Buffer.concat([input.subarray(0, 8), Buffer.from('WAVX'), input.subarray(12)])), 'CORRUPT_INPUT', /not 'WAVE'/);
    const noData = Buffer.from(riffChunk('RIFF', Buffer.concat([Buffer.from('WAVE'), riffChunk('fmt ', Buffer.alloc(16))])));
    await expectTamgaError(rewrite(noData), 'CORRUPT_INPUT', /no 'data' chunk/);
    const labelled = await rewrite(input);
    const head = labelled.subarray(0, 4096);
    head.writeUInt32LE(head.length - 8, 4);
    await expectOnlyCorruptUnderDamage((b) => wavContainer.read(new BufferReader(b), 'wav'), head, 11, 300);
  });
});

describe.skipIf(!hasCorpus)('WAV corpus (C2PA chunk)', () => {
  it('sample1-signed.wav: detect reports the manifest; label refuses, or strips on request, samples untouched', async () => {
    const signed = corpusFile('c2pa/sample1-signed.wav');
    const before = await detect(signed);
    expect(before.findings.some((f) => f.layer === 'c2pa' && f.where?.startsWith('wav:C2PA'))).toBe(true);
    await expect(label(signed, {}, { output: join(tmp.dir, 'x.wav'), visible: false })).rejects.toMatchObject({ code: 'C2PA_CONFLICT' });
    const out = join(tmp.dir, 'sample1.out.wav');
    await label(signed, {}, { output: out, visible: false, onExistingC2pa: 'strip' });
    const riff = await readRiffChunks(new BufferReader(readFileSync(out)));
    expect(riff.chunks.some((c) => c.id === 'C2PA')).toBe(false);
    expect(await decodedPcmSha256(out)).toBe(await decodedPcmSha256(signed));
  });
});
