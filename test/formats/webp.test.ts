import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { latin1, putU32le, u24le, u32le } from '../../src/core/bytes.js';
import { renderPlan } from '../../src/core/edit.js';
import { TamgaError } from '../../src/core/errors.js';
import { BufferReader } from '../../src/core/source.js';
import { VP8X_FLAG, readRiffChunks, riffChunk, webpContainer } from '../../src/formats/riff.js';
import { TIFF_TAG, readTiffTextTags } from '../../src/formats/tiff.js';
import type { MetadataWrite } from '../../src/formats/types.js';
import { corpusFile, decodedPixels, exiftoolJson, hasCorpus, hasExiftool, tempDir, expectTamgaError, validateWarnings, writeMetadata, xmpPacket } from '../helpers.js';

const DST = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const packet = xmpPacket;

const tmp = tempDir('tamga-webp-');
afterAll(() => tmp.cleanup());

const label = (input: Uint8Array, write: MetadataWrite) => writeMetadata(webpContainer, input, write);

const expectCorrupt = (p: Promise<unknown>) => expectTamgaError(p);


const ids = async (b: Uint8Array) => (await readRiffChunks(new BufferReader(b))).chunks.map((c) => c.id);

const scene = (channels: 3 | 4) =>
  sharp({ create: { width: 37, height: 23, channels, background: { r: 20, g: 120, b: 220, alpha: channels === 4 ? 0.5 : 1 } } }).composite([
    { input: { create: { width: 9, height: 7, channels: 3, background: { r: 250, g: 200, b: 0 } } }, left: 3, top: 4 },
  ]);

interface Fixture {
  make: () => Promise<Buffer>;
  /** First chunk of the input. */
  first: string;
  alpha: boolean;
}
const fixtures: Record<string, Fixture> = {
  'lossy (VP8)': { make: () => scene(3).webp({ quality: 80 }).toBuffer(), first: 'VP8 ', alpha: false },
  'lossless (VP8L)': { make: () => scene(3).webp({ lossless: true }).toBuffer(), first: 'VP8L', alpha: false },
  'lossless with alpha (VP8L)': { make: () => scene(4).webp({ lossless: true }).toBuffer(), first: 'VP8L', alpha: true },
  'lossy with alpha (VP8X + ALPH)': { make: () => scene(4).webp({ quality: 80 }).toBuffer(), first: 'VP8X', alpha: true },
  ...(hasCorpus
    ? {
        'ComfyUI animated (VP8X + ANMF + EXIF)': { make: async () => readFileSync(corpusFile('generators/comfyui-mochi-animated.webp')), first: 'VP8X', alpha: true },
        'DALL-E with C2PA (VP8 + C2PA)': { make: async () => readFileSync(corpusFile('c2pa/openai-dalle-puppy.webp')), first: 'VP8 ', alpha: false },
      }
    : {}),
};

describe('readRiffChunks', () => {
  const riff = (body: Buffer, sizeDelta = 0) => {
    const h = Buffer.alloc(12);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(4 + body.length + sizeDelta, 4);
    h.write('TEST', 8, 'latin1');
    return Buffer.concat([h, body]);
  };

  it('walks odd-sized chunks with their pad byte and ignores trailing junk', async () => {
    const body = Buffer.concat([riffChunk('odd1', Uint8Array.of(1, 2, 3)), riffChunk('even', Uint8Array.of(1, 2))]);
    const f = await readRiffChunks(new BufferReader(Buffer.concat([riff(body), Buffer.from('junk!')])));
    expect(f.form).toBe('TEST');
    expect(f.end).toBe(12 + body.length);
    expect(f.chunks).toEqual([
      { id: 'odd1', offset: 12, size: 3, dataOffset: 20, end: 24 },
      { id: 'even', offset: 24, size: 2, dataOffset: 32, end: 34 },
    ]);
  });

  it('tolerates a missing pad byte after the last chunk', async () => {
    const body = riffChunk('odd1', Uint8Array.of(1, 2, 3)).subarray(0, 11);
    const f = await readRiffChunks(new BufferReader(riff(Buffer.from(body))));
    expect(f.chunks[0]).toMatchObject({ size: 3, end: 23 });
  });

  it('rejects a chunk past the end, a RIFF size past the file, a cut chunk header', async () => {
    const chunk = Buffer.from(riffChunk('abcd', new Uint8Array(8)));
    chunk.writeUInt32LE(9, 4);
    await expectCorrupt(readRiffChunks(new BufferReader(riff(chunk))));
    await expectCorrupt(readRiffChunks(new BufferReader(riff(Buffer.from(riffChunk('abcd', new Uint8Array(8))), 10))));
    await expectCorrupt(readRiffChunks(new BufferReader(riff(Buffer.concat([Buffer.from(riffChunk('abcd', new Uint8Array(8))), Buffer.alloc(4)])))));
    await expectCorrupt(readRiffChunks(new BufferReader(Buffer.from('RIFX\0\0\0\0WEBP', 'latin1'))));
  });
});

describe('webpContainer', () => {
  for (const [name, fx] of Object.entries(fixtures)) {
    it(`${name}: XMP round-trip, VP8X correct, pixels identical, idempotent`, async () => {
      const input = await fx.make();
      expect((await ids(input))[0]).toBe(fx.first);
      const once = await label(input, { xmp: packet(), exifIfd0Text: { [TIFF_TAG.ImageDescription]: 'ignored for WebP' } });

      const meta = await webpContainer.read(new BufferReader(once));
      expect(Buffer.from(meta.xmp!.packet).equals(packet())).toBe(true);
      expect(meta.xmp!.carrier.name).toBe('webp:XMP');
      const chunks = await ids(once);
      expect(chunks[0]).toBe('VP8X');
      expect(chunks.filter((c) => c === 'XMP ')).toHaveLength(1);
      // Container spec order: XMP after the image data and EXIF.
      expect(chunks.indexOf('XMP ')).toBeGreaterThan(Math.max(chunks.lastIndexOf('EXIF'), chunks.lastIndexOf('ANMF'), chunks.indexOf('VP8 '), chunks.indexOf('VP8L')));
      expect(u32le(once, 4)).toBe(once.length - 8);

      const before = await sharp(input, { animated: true }).metadata();
      const after = await sharp(once, { animated: true }).metadata();
      expect([after.width, after.height, after.hasAlpha, after.pages]).toEqual([before.width, before.height, before.hasAlpha, before.pages]);
      expect(after.hasAlpha).toBe(fx.alpha);
      const vp8x = once.subarray(20, 30);
      expect(vp8x[0]! & VP8X_FLAG.XMP).toBe(VP8X_FLAG.XMP);
      expect((vp8x[0]! & VP8X_FLAG.ALPHA) !== 0).toBe(fx.alpha);
      expect([u24le(vp8x, 4) + 1, u24le(vp8x, 7) + 1]).toEqual([before.width, before.pageHeight ?? before.height]);

      const twice = await label(once, { xmp: packet() });
      expect(twice.equals(once)).toBe(true);
      const longer = await label(once, { xmp: packet('<!-- longer, odd -->') });
      expect((await ids(longer)).filter((c) => c === 'XMP ')).toHaveLength(1);
      expect(Buffer.from((await webpContainer.read(new BufferReader(longer))).xmp!.packet).equals(packet('<!-- longer, odd -->'))).toBe(true);

      expect((await decodedPixels(once)).data.equals((await decodedPixels(input)).data)).toBe(true);

      if (hasExiftool) {
        const src = join(tmp.dir, `${name.replace(/\W+/g, '_')}.webp`);
        const dst = src.replace('.webp', '-labelled.webp');
        writeFileSync(src, input);
        writeFileSync(dst, once);
        expect(exiftoolJson(dst)['XMP-iptcExt:DigitalSourceType']).toBe(DST);
        const old = validateWarnings(src);
        expect([...validateWarnings(dst)].filter((w) => !old.has(w))).toEqual([]);
      }
    });
  }

  it.skipIf(!hasCorpus)('ComfyUI animated: EXIF block is read (its Make/Model hold the workflow)', async () => {
    const meta = await webpContainer.read(new BufferReader(readFileSync(corpusFile('generators/comfyui-mochi-animated.webp'))));
    expect(meta.exif).toMatchObject({ carrier: { name: 'webp:EXIF' } });
    const tiff = (meta.exif as { tiff: Uint8Array }).tiff;
    expect(latin1(tiff.subarray(0, 4))).toBe('MM\0*');
    const texts = await readTiffTextTags(new BufferReader(tiff));
    expect(texts.ifd0.get(TIFF_TAG.Make)).toMatch(/^workflow:\{/);
    expect(texts.ifd0.get(TIFF_TAG.Model)).toMatch(/^prompt:\{/);
  });

  it.skipIf(!hasCorpus)('DALL-E: C2PA chunk is reported, kept by default, dropped with stripC2pa', async () => {
    const input = readFileSync(corpusFile('c2pa/openai-dalle-puppy.webp'));
    const meta = await webpContainer.read(new BufferReader(input));
    expect(meta.c2pa).toEqual({ name: 'webp:C2PA', offset: 276518, length: 90294 });
    const kept = await label(input, { xmp: packet() });
    const keptC2pa = (await webpContainer.read(new BufferReader(kept))).c2pa!;
    expect(kept.subarray(keptC2pa.offset, keptC2pa.offset + keptC2pa.length).equals(input.subarray(meta.c2pa!.offset, meta.c2pa!.offset + meta.c2pa!.length))).toBe(true);
    const stripped = await label(input, { xmp: packet(), stripC2pa: true });
    expect(await ids(stripped)).toEqual(['VP8X', 'VP8 ', 'XMP ']);
    expect((await webpContainer.read(new BufferReader(stripped))).c2pa).toBeUndefined();
  });

  it('strips an `Exif\\0\\0` prefix from the EXIF chunk', async () => {
    const input = await label(await scene(3).webp().toBuffer(), { xmp: packet() });
    const tiff = Buffer.from('MM\0*\0\0\0\x08\0\0\0\0\0\0', 'latin1');
    const withExif = Buffer.concat([input, riffChunk('EXIF', Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]))]);
    putU32le(withExif, 4, withExif.length - 8);
    const meta = await webpContainer.read(new BufferReader(withExif));
    expect(Buffer.from((meta.exif as { tiff: Uint8Array }).tiff).equals(tiff)).toBe(true);
  });

  it('keeps trailing bytes after the RIFF data, outside the new RIFF size', async () => {
    const input = Buffer.concat([await scene(3).webp().toBuffer(), Buffer.from('trailing')]);
    const out = await label(input, { xmp: packet() });
    expect(out.subarray(-8).toString('latin1')).toBe('trailing');
    expect(u32le(out, 4)).toBe(out.length - 8 - 8);
  });
});

describe('corrupt WebP', () => {
  it('truncated files and bad chunk sizes are CORRUPT_INPUT', async () => {
    const input = await label(await scene(4).webp({ lossless: true }).toBuffer(), { xmp: packet() });
    const f = await readRiffChunks(new BufferReader(input));
    const cuts = [0, 4, 11, 12, 16, 20, 30, ...f.chunks.map((c) => c.dataOffset + 1), input.length - 1];
    for (const cut of cuts) await expectCorrupt(webpContainer.read(new BufferReader(input.subarray(0, cut))));
    // A chunk size past the end.
    const bad = Buffer.from(input);
    bad.writeUInt32LE(0x7fffff00, f.chunks[1]!.offset + 4);
    await expectCorrupt(webpContainer.read(new BufferReader(bad)));
    // Not a WebP image chunk first.
    const wrongFirst = Buffer.from(input);
    wrongFirst.write('JUNK', 12, 'latin1');
    await expectCorrupt(webpContainer.read(new BufferReader(wrongFirst)));
    // A VP8L chunk without its signature cannot give a canvas size.
    const simple = Buffer.from(await scene(3).webp({ lossless: true }).toBuffer());
    simple[20] = 0;
    await expectCorrupt(webpContainer.planWrite(new BufferReader(simple), { format: 'webp', texts: [] }, { xmp: packet() }));
  });

  it('random byte damage never escapes as a non-TamgaError', async () => {
    const src = await scene(3).webp({ lossless: true }).toBuffer();
    let seed = 777;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(src);
      for (let k = 0; k < 1 + rand(3); k++) b[rand(40)] = rand(256);
      const r = new BufferReader(b);
      try {
        await renderPlan(r, await webpContainer.planWrite(r, await webpContainer.read(r), { xmp: packet() }));
      } catch (e) {
        if (!(e instanceof TamgaError)) throw e;
        expect(e.code).toBe('CORRUPT_INPUT');
      }
    }
  });
});
