import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { latin1, putU16be, putU32be, putU32le, u16be, u32be, u32le } from '../../src/core/bytes.js';
import { renderPlan } from '../../src/core/edit.js';
import { TamgaError } from '../../src/core/errors.js';
import { BufferReader } from '../../src/core/source.js';
import {
  TIFF_TAG,
  TIFF_TYPE,
  asciiTagValue,
  buildMinimalTiff,
  decodeUserComment,
  planTiffIfd0Update,
  readIfd,
  readTiffHeader,
  readTiffTextTags,
  tiffContainer,
} from '../../src/formats/tiff.js';
import type { MetadataWrite } from '../../src/formats/types.js';
import { corpusFile, decodedPixels, exiftoolJson, hasCorpus, hasExiftool, tempDir, expectTamgaError, validateWarnings, writeMetadata, xmpPacket } from '../helpers.js';

const DST = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const packet = xmpPacket;
const DESCRIPTION = 'AI-generated image / ЖИ жасаған сурет';

const tmp = tempDir('tamga-tiff-');
afterAll(() => tmp.cleanup());

const label = (input: Uint8Array, write: MetadataWrite) => writeMetadata(tiffContainer, input, write);

const expectCorrupt = (p: Promise<unknown>) => expectTamgaError(p);


/**
 * A 4x3 RGB big-endian (MM) TIFF built by hand: IFD0 right after the header, pixels after it, and
 * optionally a second page (2x2 grey, all values inline) linked as IFD1.
 */
function handMadeMmTiff(secondPage = false): Buffer {
  const short = (tag: number, ...v: number[]) => {
    const data = new Uint8Array(2 * v.length);
    v.forEach((x, i) => putU16be(data, 2 * i, x));
    return { tag, type: TIFF_TYPE.SHORT, data };
  };
  const long = (tag: number, v: number) => {
    const data = new Uint8Array(4);
    putU32be(data, 0, v);
    return { tag, type: TIFF_TYPE.LONG, data };
  };
  const page = (w: number, h: number, channels: 1 | 3, stripOffset: number) => [
    short(256, w),
    short(257, h),
    channels === 3 ? short(258, 8, 8, 8) : short(258, 8),
    short(259, 1),
    short(262, channels === 3 ? 2 : 1),
    ...(channels === 3 ? [asciiTagValue(TIFF_TAG.Make, 'HandCam')] : []),
    long(273, stripOffset),
    short(277, channels),
    short(278, h),
    long(279, w * h * channels),
  ];
  const headerAndIfd = buildMinimalTiff(page(4, 3, 3, 0)).length;
  const pixels = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) & 0xff);
  const first = Buffer.concat([buildMinimalTiff(page(4, 3, 3, headerAndIfd)), pixels]);
  if (!secondPage) return first;
  // IFD1 at an even offset after page 1; its values are all inline, so its bytes do not depend on where it sits.
  const ifd1At = first.length + (first.length & 1);
  const ifd1 = buildMinimalTiff(page(2, 2, 1, 0)).subarray(8);
  const pixels2At = ifd1At + ifd1.length;
  const ifd1Final = Buffer.from(buildMinimalTiff(page(2, 2, 1, pixels2At)).subarray(8));
  const out = Buffer.concat([first, Buffer.alloc(ifd1At - first.length), ifd1Final, Uint8Array.of(10, 80, 160, 250)]);
  putU32be(out, 8 + 2 + 12 * u16be(out, 8), ifd1At);
  return out;
}

const base = sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 30, b: 90 } } }).composite([
  { input: { create: { width: 10, height: 10, channels: 3, background: { r: 0, g: 255, b: 0 } } }, left: 5, top: 7 },
]);
const fixtures: Record<string, () => Promise<Buffer>> = {
  'sharp II uncompressed': () => base.clone().tiff({ compression: 'none' }).toBuffer(),
  'sharp II lzw': () => base.clone().tiff({ compression: 'lzw' }).toBuffer(),
  'hand-made MM': async () => handMadeMmTiff(),
};

describe('tiff header and IFDs', () => {
  it('refuses BigTIFF with UNSUPPORTED_FORMAT', async () => {
    for (const magic of ['II+\0', 'MM\0+']) {
      const b = Buffer.alloc(32);
      b.write(magic, 'latin1');
      await expect(readTiffHeader(new BufferReader(b))).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: /BigTIFF/ });
    }
  });

  it('reads both byte orders', async () => {
    const mm = handMadeMmTiff();
    expect(await readTiffHeader(new BufferReader(mm))).toEqual({ littleEndian: false, firstIfdOffset: 8 });
    const ifd = await readIfd(new BufferReader(mm), 0, 8, false);
    expect(ifd.entries.map((e) => e.tag)).toEqual([256, 257, 258, 259, 262, 271, 273, 277, 278, 279]);
    expect(ifd.nextIfdOffset).toBe(0);
    const texts = await readTiffTextTags(new BufferReader(mm));
    expect(texts.ifd0.get(TIFF_TAG.Make)).toBe('HandCam');
  });

  it('builds a minimal TIFF that readers accept', async () => {
    for (const le of [false, true]) {
      const t = buildMinimalTiff([asciiTagValue(TIFF_TAG.ImageDescription, DESCRIPTION), asciiTagValue(TIFF_TAG.Software, 'tamga')], le);
      const texts = await readTiffTextTags(new BufferReader(t));
      expect(texts.ifd0.get(TIFF_TAG.ImageDescription)).toBe(DESCRIPTION);
      expect(texts.ifd0.get(TIFF_TAG.Software)).toBe('tamga');
      const parsed = await exifr.parse(Buffer.from(t), { ifd0: {} as object });
      expect(parsed.ImageDescription).toBe(DESCRIPTION);
    }
  });
});

describe('decodeUserComment', () => {
  const prefixed = (prefix: string, body: Uint8Array) => Buffer.concat([Buffer.from(prefix, 'latin1'), body]);
  it('decodes each character code', () => {
    expect(decodeUserComment(prefixed('ASCII\0\0\0', Buffer.from('hello\0\0')))).toBe('hello');
    expect(decodeUserComment(prefixed('\0\0\0\0\0\0\0\0', Buffer.from('жасанды', 'utf8')))).toBe('жасанды');
    const be = Buffer.from('Steps: 20, ЖИ', 'utf16le').swap16();
    expect(decodeUserComment(prefixed('UNICODE\0', be), false)).toBe('Steps: 20, ЖИ');
    // A1111 writes UTF-16BE even when the TIFF says II: the text itself decides.
    expect(decodeUserComment(prefixed('UNICODE\0', be), true)).toBe('Steps: 20, ЖИ');
    expect(decodeUserComment(prefixed('UNICODE\0', Buffer.from('Steps: 20', 'utf16le')), true)).toBe('Steps: 20');
    expect(decodeUserComment(prefixed('ASCII\0\0\0', Buffer.from('   '.repeat(10))))).toBe('');
    expect(decodeUserComment(Buffer.from('abc'))).toBe('abc');
  });
});

describe('tiffContainer write', () => {
  for (const [name, make] of Object.entries(fixtures)) {
    it(`${name}: XMP + ImageDescription round-trip, lossless, idempotent`, async () => {
      const input = await make();
      const write: MetadataWrite = { xmp: packet(), exifIfd0Text: { [TIFF_TAG.ImageDescription]: DESCRIPTION } };
      const once = await label(input, write);
      const meta = await tiffContainer.read(new BufferReader(once));
      expect(Buffer.from(meta.xmp!.packet).equals(packet())).toBe(true);
      expect(meta.xmp!.carrier.name).toBe('tiff:IFD0/700');
      expect(meta.exif).toMatchObject({ fileIsTiff: true, carrier: { name: 'tiff:IFD0' } });
      expect((await readTiffTextTags(new BufferReader(once))).ifd0.get(TIFF_TAG.ImageDescription)).toBe(DESCRIPTION);
      // Every byte except the header's IFD0 pointer is kept (the old IFD0 may be replaced when it was the tail).
      expect(once.subarray(0, 4).equals(input.subarray(0, 4))).toBe(true);

      const twice = await label(once, write);
      expect(twice.length).toBe(once.length);
      const ifd0 = await readIfd(new BufferReader(twice), 0, (await readTiffHeader(new BufferReader(twice))).firstIfdOffset, input[0] === 0x49);
      expect(ifd0.entries.filter((e) => e.tag === TIFF_TAG.XMP)).toHaveLength(1);
      const tags = ifd0.entries.map((e) => e.tag);
      expect(tags).toEqual([...tags].sort((a, b) => a - b));

      expect((await decodedPixels(twice)).data.equals((await decodedPixels(input)).data)).toBe(true);

      if (hasExiftool) {
        const src = join(tmp.dir, `${name}.tif`.replace(/ /g, '_'));
        const dst = src.replace('.tif', '-labelled.tif');
        writeFileSync(src, input);
        writeFileSync(dst, twice);
        const j = exiftoolJson(dst);
        expect(j['XMP-iptcExt:DigitalSourceType']).toBe(DST);
        expect(j['IFD0:ImageDescription']).toBe(DESCRIPTION);
        const before = validateWarnings(src);
        expect([...validateWarnings(dst)].filter((w) => !before.has(w))).toEqual([]);
      }
    });
  }

  it('keeps the IFD chain (second page) linked', async () => {
    const input = handMadeMmTiff(true);
    const out = await label(input, { xmp: packet() });
    const r = new BufferReader(out);
    const ifd0 = await readIfd(r, 0, (await readTiffHeader(r)).firstIfdOffset, false);
    expect(ifd0.nextIfdOffset).toBe(u32be(input, 8 + 2 + 12 * u16be(input, 8)));
    const page2 = await readIfd(r, 0, ifd0.nextIfdOffset, false);
    expect([...page2.entries.find((e) => e.tag === 256)!.raw.subarray(8, 10)]).toEqual([0, 2]);
    if (hasExiftool) {
      const dst = join(tmp.dir, 'two-pages.tif');
      writeFileSync(dst, out);
      const j = exiftoolJson(dst);
      expect(j['IFD1:ImageWidth']).toBe(2);
      expect(j['XMP-iptcExt:DigitalSourceType']).toBe(DST);
    }
  });

  it.skipIf(!hasCorpus)('DNG with a C2PA store: reads carriers, keeps or strips C2PA, keeps every other tag', async () => {
    const input = readFileSync(corpusFile('c2pa/C-algorithmic.dng'));
    const meta = await tiffContainer.read(new BufferReader(input));
    expect(meta.c2pa?.name).toBe('tiff:IFD0/C2PA');
    expect(latin1(input.subarray(meta.c2pa!.offset + 4, meta.c2pa!.offset + 8))).toBe('jumb');
    expect(latin1(meta.xmp!.packet)).toContain('Adobe XMP Core');

    const kept = await label(input, { xmp: packet() });
    const keptMeta = await tiffContainer.read(new BufferReader(kept));
    expect(keptMeta.c2pa).toEqual(meta.c2pa);
    const stripped = await label(input, { xmp: packet(), stripC2pa: true });
    const strippedMeta = await tiffContainer.read(new BufferReader(stripped));
    expect(strippedMeta.c2pa).toBeUndefined();
    expect(Buffer.from(strippedMeta.xmp!.packet).equals(packet())).toBe(true);
    // Re-labelling the stripped file replaces our tail IFD0 instead of growing.
    expect((await label(stripped, { xmp: packet() })).length).toBe(stripped.length);

    if (hasExiftool) {
      const src = join(tmp.dir, 'in.dng');
      const dst = join(tmp.dir, 'out.dng');
      writeFileSync(src, input);
      writeFileSync(dst, stripped);
      const strip = (j: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(j).filter(([k]) => !/^(System|ExifTool|XMP-|SourceFile)/.test(k) && k !== 'IFD0:XMP'));
      const a = strip(exiftoolJson(src, ['-n', '-b']));
      const b = strip(exiftoolJson(dst, ['-n', '-b']));
      expect(b).toEqual(a);
      expect(exiftoolJson(dst)['XMP-iptcExt:DigitalSourceType']).toBe(DST);
      const before = validateWarnings(src);
      expect([...validateWarnings(dst)].filter((w) => !before.has(w))).toEqual([]);
      expect((await decodedPixels(stripped)).data.equals((await decodedPixels(input)).data)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// EXIF blocks inside JPEG: the same IFD code, with offsets relative to the block

/** The APP1 `Exif\0\0` segment of a JPEG: where it is and its TIFF payload. */
function findExifApp1(jpeg: Buffer): { start: number; end: number; tiff: Buffer } | undefined {
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1]!;
    if (marker === 0xda || marker === 0xd9) return undefined;
    const len = u16be(jpeg, at + 2);
    if (marker === 0xe1 && jpeg.subarray(at + 4, at + 10).equals(Buffer.from('Exif\0\0', 'latin1'))) {
      return { start: at, end: at + 2 + len, tiff: jpeg.subarray(at + 10, at + 2 + len) };
    }
    at += 2 + len;
  }
  return undefined;
}

function withExifApp1(jpeg: Buffer, tiff: Uint8Array, replace?: { start: number; end: number }): Buffer {
  const seg = Buffer.alloc(10);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(8 + tiff.length, 2);
  seg.write('Exif\0\0', 4, 'latin1');
  const [s, e] = replace ? [replace.start, replace.end] : [2, 2];
  return Buffer.concat([jpeg.subarray(0, s), seg, tiff, jpeg.subarray(e)]);
}

const CAMERA = ['Canon_40D', 'DSCN0010', 'Fujifilm_FinePix_E500', 'Nikon_D70', 'Panasonic_DMC-FZ30', 'Pentax_K10D', 'sony-cybershot'];

describe('EXIF block (JPEG APP1)', () => {
  for (const cam of CAMERA) {
    it.skipIf(!hasCorpus)(`${cam}: sets ImageDescription, every other tag (MakerNotes included) unchanged`, async () => {
      const jpeg = readFileSync(corpusFile(`camera/${cam}.jpg`));
      const app1 = findExifApp1(jpeg)!;
      expect(app1).toBeDefined();
      const r = new BufferReader(app1.tiff);
      const plan = await planTiffIfd0Update(r, 0, r.size, [asciiTagValue(TIFF_TAG.ImageDescription, DESCRIPTION)]);
      const tiff = await renderPlan(r, plan);
      const texts = await readTiffTextTags(new BufferReader(tiff));
      expect(texts.ifd0.get(TIFF_TAG.ImageDescription)).toBe(DESCRIPTION);
      const original = await readTiffTextTags(r);
      for (const [tag, v] of original.ifd0) if (tag !== TIFF_TAG.ImageDescription) expect(texts.ifd0.get(tag)).toBe(v);
      expect(texts.exif).toEqual(original.exif);

      // Labelling the new block again does not grow it.
      const r2 = new BufferReader(tiff);
      expect((await renderPlan(r2, await planTiffIfd0Update(r2, 0, r2.size, [asciiTagValue(TIFF_TAG.ImageDescription, DESCRIPTION)]))).length).toBe(tiff.length);

      const rebuilt = withExifApp1(jpeg, tiff, app1);
      const parsed = await exifr.parse(rebuilt, { makerNote: true, userComment: true });
      expect(parsed.ImageDescription).toBe(DESCRIPTION);
      // exifr trims trailing spaces (Pentax pads Make with one).
      expect(parsed.Make).toBe(original.ifd0.get(TIFF_TAG.Make)?.trim());

      if (hasExiftool) {
        const src = join(tmp.dir, `${cam}.jpg`);
        const dst = join(tmp.dir, `${cam}-labelled.jpg`);
        writeFileSync(src, jpeg);
        writeFileSync(dst, rebuilt);
        const drop = (j: Record<string, unknown>) =>
          Object.fromEntries(Object.entries(j).filter(([k]) => !/^(System|ExifTool|SourceFile)/.test(k) && k !== 'IFD0:ImageDescription'));
        expect(drop(exiftoolJson(dst, ['-n', '-b']))).toEqual(drop(exiftoolJson(src, ['-n', '-b'])));
        expect(exiftoolJson(dst)['IFD0:ImageDescription']).toBe(DESCRIPTION);
        const before = validateWarnings(src);
        expect([...validateWarnings(dst)].filter((w) => !before.has(w))).toEqual([]);
      }
    });
  }

  it.skipIf(!hasCorpus)('reads the A1111 UserComment (UNICODE, big-endian)', async () => {
    const app1 = findExifApp1(readFileSync(corpusFile('generators/automatic1111_cropped.jpg')))!;
    const texts = await readTiffTextTags(new BufferReader(app1.tiff));
    const uc = texts.exif.get(TIFF_TAG.UserComment);
    expect(uc).toBeInstanceOf(Uint8Array);
    const text = decodeUserComment(uc as Uint8Array, texts.littleEndian);
    expect(text).toMatch(/^photo of a duck/);
    expect(text).toContain('Seed: 235284042');
  });

  it.skipIf(!hasExiftool)('buildMinimalTiff gives a JPEG without EXIF a valid EXIF block', async () => {
    const jpeg = await base.clone().jpeg().toBuffer();
    expect(findExifApp1(jpeg)).toBeUndefined();
    const out = withExifApp1(jpeg, buildMinimalTiff([asciiTagValue(TIFF_TAG.ImageDescription, DESCRIPTION)]));
    const src = join(tmp.dir, 'plain.jpg');
    const dst = join(tmp.dir, 'plain-exif.jpg');
    writeFileSync(src, jpeg);
    writeFileSync(dst, out);
    expect(exiftoolJson(dst)['IFD0:ImageDescription']).toBe(DESCRIPTION);
    expect((await decodedPixels(out)).data.equals((await decodedPixels(jpeg)).data)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Broken input: always CORRUPT_INPUT, never another exception

describe('corrupt TIFF', () => {
  it('truncated files', async () => {
    const mm = await label(handMadeMmTiff(), { xmp: packet() });
    const ifd0 = u32be(mm, 4);
    const xmp = (await tiffContainer.read(new BufferReader(mm))).xmp!.carrier;
    for (const cut of [0, 3, 7, 8, 9, ifd0 + 1, ifd0 + 13, xmp.offset, xmp.offset + xmp.length - 1]) {
      await expectCorrupt(tiffContainer.read(new BufferReader(mm.subarray(0, cut))));
    }
    // Anything else either works or is CORRUPT_INPUT.
    for (let cut = 0; cut < mm.length; cut++) {
      const r = new BufferReader(mm.subarray(0, cut));
      try {
        await tiffContainer.planWrite(r, await tiffContainer.read(r), { xmp: packet() });
      } catch (e) {
        expect(e).toBeInstanceOf(TamgaError);
        expect((e as TamgaError).code).toBe('CORRUPT_INPUT');
      }
    }
  });

  it('IFD offset out of range or inside the header; a chain that loops is read up to the loop', async () => {
    const ii = await fixtures['sharp II lzw']!();
    const bad = (patch: (b: Buffer) => void) => {
      const b = Buffer.from(ii);
      patch(b);
      return new BufferReader(b);
    };
    await expectCorrupt(tiffContainer.read(bad((b) => putU32le(b, 4, b.length + 100))));
    await expectCorrupt(tiffContainer.read(bad((b) => putU32le(b, 4, 4))));
    const ifd0 = u32le(ii, 4);
    const n = ii.readUInt16LE(ifd0);
    // An offset past the end is broken; IFD0's next pointer to itself is a loop libtiff stops at
    // ("IFD looping detected") and opens the file: read, one page (realworld-shapes.test.ts labels it).
    expect((await tiffContainer.read(bad((b) => putU32le(b, ifd0 + 2 + 12 * n, ifd0)))).format).toBe('tiff');
    await expectCorrupt(tiffContainer.read(bad((b) => putU32le(b, ifd0 + 2 + 12 * n, 0x7ffffff0))));
    // An absurd entry count.
    await expectCorrupt(tiffContainer.read(bad((b) => b.writeUInt16LE(60000, ifd0))));
    await expectCorrupt(planTiffIfd0Update(bad((b) => putU32le(b, 4, b.length)), 0, ii.length, []));
  });

  it.skipIf(!hasCorpus)('Exif sub-IFD pointing back at IFD0 is a loop', async () => {
    const tiff = Buffer.from(findExifApp1(readFileSync(corpusFile('camera/Canon_40D.jpg')))!.tiff);
    const r = new BufferReader(tiff);
    const h = await readTiffHeader(r);
    const ifd0 = await readIfd(r, 0, h.firstIfdOffset, h.littleEndian);
    const ptr = ifd0.entries.find((e) => e.tag === TIFF_TAG.ExifIFD)!;
    putU32le(tiff, ptr.entryOffset + 8, h.firstIfdOffset);
    await expectCorrupt(readTiffTextTags(new BufferReader(tiff)));
  });

  it('random byte damage never escapes as a non-TamgaError', async () => {
    const src = await label(handMadeMmTiff(), { xmp: packet() });
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(src);
      for (let k = 0; k < 1 + rand(4); k++) b[rand(Math.min(b.length, 200))] = rand(256);
      const r = new BufferReader(b);
      try {
        await readTiffTextTags(r);
        await renderPlan(r, await tiffContainer.planWrite(r, await tiffContainer.read(r), { xmp: packet(), exifIfd0Text: { 270: 'x' } }));
      } catch (e) {
        if (!(e instanceof TamgaError)) throw e;
        expect(['CORRUPT_INPUT', 'UNSUPPORTED_FORMAT']).toContain(e.code);
      }
    }
  });
});
