import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferReader, FileReader } from '../../src/core/source.js';
import { buildPngChunk, buildPngXmpChunk, MAX_INFLATED_TEXT_BYTES, pngContainer, pngCornerPixels, PNG_SIGNATURE } from '../../src/formats/png.js';
import type { MetadataWrite } from '../../src/formats/types.js';
import { corpusFile, decodedPixels, exiftool, exiftoolJson, hasCorpus, hasExiftool, tempDir, expectOnlyCorruptUnderDamage, expectTamgaError, writeMetadata, TAM_URI, xmpPacket } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const DST = TAM_URI;
const packet = xmpPacket;

const makePng = (background = '#3366cc') => sharp({ create: { width: 64, height: 48, channels: 3, background } }).png().toBuffer();

/** An independent chunk lister (no code shared with the module under test). */
function chunks(b: Uint8Array): { type: string; bytes: Buffer }[] {
  const buf = Buffer.from(b);
  const out: { type: string; bytes: Buffer }[] = [];
  for (let o = 8; o + 12 <= buf.length; ) {
    const end = o + 12 + buf.readUInt32BE(o);
    out.push({ type: buf.toString('latin1', o + 4, o + 8), bytes: buf.subarray(o, end) });
    o = end;
  }
  return out;
}
const keywordOf = (c: { bytes: Buffer }) => c.bytes.toString('latin1', 8, c.bytes.indexOf(0, 8));
const isXmpChunk = (c: { type: string; bytes: Buffer }) => c.type === 'iTXt' && keywordOf(c) === 'XML:com.adobe.xmp';

/** Puts extra chunks right after IHDR. */
const withChunks = (png: Uint8Array, ...extra: Uint8Array[]) => Buffer.concat([png.subarray(0, 33), ...extra, png.subarray(33)]);

const write = (input: Uint8Array, w: MetadataWrite) => writeMetadata(pngContainer, input, w);
const read = (b: Uint8Array) => pngContainer.read(new BufferReader(b));

const expectCorrupt = (b: Uint8Array, message?: RegExp) => expectTamgaError(read(b), 'CORRUPT_INPUT', message);

describe('PNG read', () => {
  it.skipIf(!hasCorpus)('reads generator text chunks with their carriers', async () => {
    const a1111 = readFileSync(corpusFile('generators/automatic1111_cropped.png'));
    const m = await read(a1111);
    expect(m.format).toBe('png');
    expect(m.xmp).toBeUndefined();
    expect(m.texts.map((t) => t.keyword)).toEqual(['parameters']);
    expect(m.texts[0]!.text).toMatch(/Steps: \d+/);
    expect(m.texts[0]!.carrier).toEqual({ name: 'png:tEXt', offset: 33, length: chunks(a1111)[1]!.bytes.length });

    const comfy = await read(readFileSync(corpusFile('generators/comfyui-lora-multiple.png')));
    expect(comfy.texts.map((t) => t.keyword)).toEqual(['prompt', 'workflow']);
    for (const t of comfy.texts) expect(() => JSON.parse(t.text)).not.toThrow();

    const novel = await read(readFileSync(corpusFile('generators/novelai1_cropped.png')));
    expect(novel.texts.map((t) => t.keyword)).toEqual(['Title', 'Description', 'Software', 'Source', 'Comment']);
    expect(novel.texts.find((t) => t.keyword === 'Software')!.text).toBe('NovelAI');
  });

  it('decodes zTXt (Latin-1) and iTXt (UTF-8, language tag, compressed) text', async () => {
    const ztxt = buildPngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.from('caf\xe9 '.repeat(50), 'latin1'))]));
    const itxt = buildPngChunk('iTXt', Buffer.concat([Buffer.from('Title\0\0\0kk\0Атауы\0'), Buffer.from('Жасанды интеллект')]));
    const itxtZ = buildPngChunk('iTXt', Buffer.concat([Buffer.from('Description\0\x01\0ru\0\0'), deflateSync(Buffer.from('Сгенерировано ИИ'))]));
    const m = await read(withChunks(await makePng(), ztxt, itxt, itxtZ));
    expect(m.texts).toEqual([
      { keyword: 'Comment', text: 'café '.repeat(50), carrier: { name: 'png:zTXt', offset: 33, length: ztxt.length } },
      { keyword: 'Title', text: 'Жасанды интеллект', lang: 'kk', carrier: { name: 'png:iTXt', offset: 33 + ztxt.length, length: itxt.length } },
      { keyword: 'Description', text: 'Сгенерировано ИИ', lang: 'ru', carrier: { name: 'png:iTXt', offset: 33 + ztxt.length + itxt.length, length: itxtZ.length } },
    ]);
  });

  it('tolerates a compressed XMP iTXt and reads eXIf as TIFF bytes', async () => {
    const xmpZ = buildPngChunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0'), deflateSync(packet())]));
    const tiff = Buffer.from('4d4d002a00000008000000000000', 'hex');
    const exif = buildPngChunk('eXIf', tiff);
    const m = await read(withChunks(await makePng(), exif, xmpZ));
    expect(Buffer.from(m.xmp!.packet).equals(packet())).toBe(true);
    expect(m.xmp!.carrier).toEqual({ name: 'png:iTXt', offset: 33 + exif.length, length: xmpZ.length });
    expect(m.exif && 'tiff' in m.exif && Buffer.from(m.exif.tiff).equals(tiff)).toBe(true);
    expect(m.exif!.carrier).toEqual({ name: 'png:eXIf', offset: 33, length: exif.length });
    expect(m.texts).toEqual([]);
  });

  it.skipIf(!hasCorpus)('finds caBX, zTXt and XMP in a Firefly PNG', async () => {
    const m = await read(readFileSync(corpusFile('c2pa/adobe-firefly.png')));
    expect(m.c2pa?.name).toBe('png:caBX');
    expect(m.xmp?.carrier.name).toBe('png:iTXt');
    expect(Buffer.from(m.xmp!.packet).toString()).toContain('<x:xmpmeta');
    expect(m.texts.map((t) => [t.keyword, t.carrier.name])).toEqual([['Raw profile type iptc', 'png:zTXt']]);
  });

  it.skipIf(!hasCorpus)('skips IDAT by offset: a 680 KiB image costs one 64 KiB read-ahead window', async () => {
    const path = corpusFile('images/natural/kodim01.png');
    const r = await FileReader.open(path);
    try {
      const m = await pngContainer.read(r);
      expect(m.texts).toEqual([]);
      expect(r.bytesRead).toBeLessThan(70_000);
      expect(r.size).toBeGreaterThan(600_000);
    } finally {
      await r.close();
    }
  });
});

describe('PNG write', () => {
  it('inserts the XMP iTXt right after IHDR and copies every other chunk verbatim', async () => {
    const input = await makePng();
    const out = await write(input, { xmp: packet(), exifIfd0Text: { 270: 'ignored for PNG' } });
    const before = chunks(input);
    const after = chunks(out);
    expect(after.map((c) => c.type)).toEqual(['IHDR', 'iTXt', ...before.slice(1).map((c) => c.type)]);
    expect(after[1]!.bytes.equals(Buffer.from(buildPngXmpChunk(packet())))).toBe(true);
    expect(after.filter((c) => !isXmpChunk(c)).map((c) => c.bytes)).toEqual(before.map((c) => c.bytes));
    // 22-byte fixed prefix (§2.2): keyword, NUL, flag 0, method 0, empty lang NUL, empty translated NUL.
    expect(after[1]!.bytes.subarray(8, 30).equals(Buffer.from('XML:com.adobe.xmp\0\0\0\0\0'))).toBe(true);
    const m = await read(out);
    expect(Buffer.from(m.xmp!.packet).equals(packet())).toBe(true);
    expect(m.xmp!.carrier.offset).toBe(33);
    expect(m.exif).toBeUndefined();
    expect((await decodedPixels(out)).data.equals((await decodedPixels(input)).data)).toBe(true);
  });

  it('replaces an existing XMP iTXt in place: writing twice leaves exactly one', async () => {
    const input = withChunks(await makePng(), buildPngChunk('tEXt', Buffer.from('Software\0test')));
    const once = await write(input, { xmp: packet() });
    expect(chunks(once).map((c) => c.type)).toEqual(['IHDR', 'iTXt', 'tEXt', 'pHYs', 'IDAT', 'IEND']);
    // Move the XMP behind the tEXt chunk: a rewrite must keep it there.
    const [ihdr, xmp, text, ...rest] = chunks(once).map((c) => c.bytes);
    const moved = Buffer.concat([once.subarray(0, 8), ihdr!, text!, xmp!, ...rest]);
    const second = packet('<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"/>');
    const twice = await write(moved, { xmp: second });
    expect(chunks(twice).map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'iTXt', 'pHYs', 'IDAT', 'IEND']);
    expect(chunks(twice).filter(isXmpChunk)).toHaveLength(1);
    expect(Buffer.from((await read(twice)).xmp!.packet).equals(second)).toBe(true);
  });

  it.skipIf(!hasCorpus)('keeps generator text chunks byte-identical and in order', async () => {
    for (const name of ['automatic1111_cropped.png', 'comfyui-lora-multiple.png', 'novelai1_cropped.png', 'fooocus1_cropped.png']) {
      const input = readFileSync(corpusFile(`generators/${name}`));
      const out = await write(input, { xmp: packet() });
      expect(chunks(out).filter((c) => !isXmpChunk(c)).map((c) => c.bytes), name).toEqual(chunks(input).map((c) => c.bytes));
      expect(chunks(out).filter(isXmpChunk), name).toHaveLength(1);
      expect((await read(out)).texts.map((t) => t.text)).toEqual((await read(input)).texts.map((t) => t.text));
      expect((await decodedPixels(out)).data.equals((await decodedPixels(input)).data), name).toBe(true);
    }
  });

  it.skipIf(!hasCorpus)('strips caBX only when asked (amazon-titan-g1.png)', async () => {
    const input = readFileSync(corpusFile('c2pa/amazon-titan-g1.png'));
    const m = await read(input);
    expect(m.c2pa).toEqual({ name: 'png:caBX', offset: 33, length: chunks(input)[1]!.bytes.length });
    const types = chunks(input).map((c) => c.type);
    expect(types.slice(0, 3)).toEqual(['IHDR', 'caBX', 'IDAT']);
    const kept = await write(input, { xmp: packet() });
    expect(chunks(kept).map((c) => c.type)).toEqual(['IHDR', 'iTXt', ...types.slice(1)]);
    const stripped = await write(input, { xmp: packet(), stripC2pa: true });
    expect(chunks(stripped).map((c) => c.type)).toEqual(['IHDR', 'iTXt', ...types.slice(2)]);
    expect(chunks(stripped).slice(2).map((c) => c.bytes)).toEqual(chunks(input).slice(2).map((c) => c.bytes));
    expect((await read(stripped)).c2pa).toBeUndefined();
    expect(stripped.length).toBe(input.length + buildPngXmpChunk(packet()).length - m.c2pa!.length);
    expect((await decodedPixels(stripped)).data.equals((await decodedPixels(input)).data)).toBe(true);
  });

  it.skipIf(!hasCorpus)('replaces Firefly XMP in place and strips its caBX', async () => {
    const input = readFileSync(corpusFile('c2pa/adobe-firefly.png'));
    const out = await write(input, { xmp: packet(), stripC2pa: true });
    expect(chunks(out).map((c) => c.type)).toEqual(chunks(input).map((c) => c.type).filter((t) => t !== 'caBX'));
    const m = await read(out);
    expect(Buffer.from(m.xmp!.packet).equals(packet())).toBe(true);
    expect(m.c2pa).toBeUndefined();
    expect(m.texts.map((t) => t.keyword)).toEqual(['Raw profile type iptc']);
  });
});

describe.skipIf(!hasExiftool)('PNG interop with exiftool', () => {
  it('exiftool reads our packet and validates the file', async () => {
    const path = join(tmp.dir, 'labelled.png');
    writeFileSync(path, await write(withChunks(await makePng(), buildPngChunk('tEXt', Buffer.from('parameters\0a cat'))), { xmp: packet() }));
    const tags = exiftoolJson(path, ['-n']);
    expect(tags['XMP-iptcExt:DigitalSourceType']).toBe(DST);
    expect(tags['PNG:Parameters']).toBe('a cat');
    const validation = exiftoolJson(path, ['-validate', '-warning']);
    expect(validation['ExifTool:Validate']).toBe('OK');
    expect(validation['ExifTool:Warning']).toBeUndefined();
  });

  it('reads the XMP that exiftool writes', async () => {
    const path = join(tmp.dir, 'by-exiftool.png');
    writeFileSync(path, await makePng('#204060'));
    exiftool(['-q', '-overwrite_original', `-XMP-iptcExt:DigitalSourceType=${DST}`, path]);
    const m = await read(readFileSync(path));
    expect(m.xmp?.carrier.name).toBe('png:iTXt');
    expect(Buffer.from(m.xmp!.packet).toString()).toContain(DST);
  });
});

describe('PNG corruption is CORRUPT_INPUT, never another exception', () => {
  it('rejects truncation at every length before the image data is complete; a missing or cut IEND after it is read', async () => {
    const input = withChunks(await makePng(), buildPngChunk('tEXt', Buffer.from('Comment\0hello')));
    const iendAt = input.length - 12;
    for (let n = 0; n < iendAt; n++) await expectCorrupt(input.subarray(0, n));
    // libpng and libvips decode these (Pillow's truncated_end_chunk.png shape); a write copies the end as it is.
    for (let n = iendAt; n < input.length; n++) expect((await pngContainer.read(new BufferReader(input.subarray(0, n)))).format).toBe('png');
  });

  it('rejects a bad signature, a non-IHDR first chunk and a bad chunk type', async () => {
    const input = await makePng();
    const sig = Buffer.from(input);
    sig[1] = 0x51;
    await expectCorrupt(sig, /signature/);
    await expectCorrupt(Buffer.concat([input.subarray(0, 8), buildPngChunk('tEXt', Buffer.from('a\0b')), input.subarray(8)]), /IHDR/);
    const badType = Buffer.from(input);
    badType[33 + 4] = 0x31;
    await expectCorrupt(badType, /chunk type/);
  });

  it('rejects a bad CRC on text, eXIf and caBX chunks', async () => {
    const png = await makePng();
    for (const chunk of [
      buildPngChunk('tEXt', Buffer.from('Comment\0hello')),
      buildPngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.from('x'))])),
      buildPngXmpChunk(packet()),
      buildPngChunk('eXIf', Buffer.from('4d4d002a00000008', 'hex')),
      buildPngChunk('caBX', Buffer.alloc(100, 7)),
    ]) {
      const bad = Buffer.from(chunk);
      bad[10] = bad[10]! ^ 0x20;
      await expectCorrupt(withChunks(png, bad), /CRC/);
    }
  });

  it('rejects huge length fields', async () => {
    const input = await makePng();
    const over = Buffer.from(input);
    over.writeUInt32BE(0x80000000, 33);
    await expectCorrupt(over, /2\^31-1/);
    const past = Buffer.from(input);
    past.writeUInt32BE(0x7fffffff, 33);
    await expectCorrupt(past, /past the end/);
  });

  it('refuses a zTXt bomb (and a compressed iTXt one) above the inflate cap', async () => {
    const zeros = deflateSync(Buffer.alloc(MAX_INFLATED_TEXT_BYTES * 4));
    expect(zeros.length).toBeLessThan(100_000);
    const png = await makePng();
    await expectCorrupt(withChunks(png, buildPngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), zeros]))), /inflates to more than/);
    await expectCorrupt(withChunks(png, buildPngChunk('iTXt', Buffer.concat([Buffer.from('Comment\0\x01\0\0\0'), zeros]))), /inflates to more than/);
    await expectCorrupt(withChunks(png, buildPngChunk('zTXt', Buffer.from('Comment\0\0not zlib'))), /zlib/);
  });

  it('CRC-checks but does not decode a text chunk above 64 MiB; refuses such an XMP chunk', async () => {
    const png = await makePng();
    const huge = Buffer.alloc(64 * 1024 * 1024 + 10, 0x61);
    huge.write('Comment\0');
    const text = buildPngChunk('tEXt', huge);
    expect((await read(withChunks(png, text))).texts).toEqual([]);
    text[text.length - 1] = text[text.length - 1]! ^ 1;
    await expectCorrupt(withChunks(png, text), /CRC/);
    huge.write('XML:com.adobe.xmp\0\0\0\0\0');
    await expectCorrupt(withChunks(png, buildPngChunk('iTXt', huge)), /XMP packet larger/);
  });

  it('rejects malformed text chunk fields', async () => {
    const png = await makePng();
    await expectCorrupt(withChunks(png, buildPngChunk('tEXt', Buffer.from('no separator'))), /unterminated/);
    await expectCorrupt(withChunks(png, buildPngChunk('iTXt', Buffer.from('k\0\x02\0\0\0t'))), /compression/);
    await expectCorrupt(withChunks(png, buildPngChunk('iTXt', Buffer.from('k\0\0\0lang'))), /unterminated/);
  });

  it('random byte damage yields a result or CORRUPT_INPUT only', async () => {
    const input = withChunks(await makePng(), buildPngChunk('tEXt', Buffer.from('Comment\0hello')), buildPngXmpChunk(packet()));
    await expectOnlyCorruptUnderDamage(read, input, 42);
  });
});

describe('pngCornerPixels: the top-left pixels without a full decode', () => {
  /** Pixels with structure and noise, so libpng's adaptive filtering uses every filter type. */
  const noisy = (width: number, height: number, channels: 2 | 4) => {
    const data = Buffer.alloc(width * height * channels);
    let seed = 12345;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = ((i % (width * channels)) * 3 + Math.floor(i / (width * channels)) * 5 + (seed >>> 28)) & 255;
    }
    return data;
  };
  /** sharp's own decode of the same corner, as RGBA. */
  const sharpCorner = async (png: Uint8Array, rows: number, cols: number) =>
    sharp(png).toColourspace('srgb').ensureAlpha().extract({ left: 0, top: 0, width: cols, height: rows }).raw().toBuffer();
  /** Re-chunks IDAT into pieces of `size` bytes (PNG allows any split). */
  const splitIdat = (png: Buffer, size: number) => {
    const cs = chunks(png);
    const data = Buffer.concat(cs.filter((c) => c.type === 'IDAT').map((c) => c.bytes.subarray(8, c.bytes.length - 4)));
    const pieces: Uint8Array[] = [];
    for (let o = 0; o < data.length; o += size) pieces.push(buildPngChunk('IDAT', data.subarray(o, o + size)));
    const before = cs.slice(0, cs.findIndex((c) => c.type === 'IDAT')).map((c) => c.bytes);
    const after = cs.filter((c, i) => i > cs.findIndex((d) => d.type === 'IDAT') && c.type !== 'IDAT').map((c) => c.bytes);
    return Buffer.concat([png.subarray(0, 8), ...before, ...pieces, ...after]);
  };

  /** An independent PNG encoder for the test: row y uses filter type y % 5 (PNG §9.2). */
  const pngWithEveryFilter = (raw: Buffer, width: number, height: number, channels: 2 | 4) => {
    const stride = width * channels;
    const out = Buffer.alloc(height * (stride + 1));
    const at = (y: number, i: number) => (y < 0 || i < 0 ? 0 : raw[y * stride + i]!);
    for (let y = 0; y < height; y++) {
      const type = y % 5;
      out[y * (stride + 1)] = type;
      for (let i = 0; i < stride; i++) {
        const [a, b, c] = [at(y, i - channels), at(y - 1, i), at(y - 1, i - channels)];
        const p = a + b - c;
        const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][type]!;
        out[y * (stride + 1) + 1 + i] = (raw[y * stride + i]! - pred) & 255;
      }
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr.set([8, channels === 4 ? 6 : 4, 0, 0, 0], 8);
    return Buffer.concat([PNG_SIGNATURE, buildPngChunk('IHDR', ihdr), buildPngChunk('IDAT', deflateSync(out)), buildPngChunk('IEND', new Uint8Array(0))]);
  };

  it('matches sharp for RGBA and grey+alpha PNGs, every filter type, one or many IDAT chunks', async () => {
    for (const channels of [4, 2] as const) {
      const [width, height] = [301, 257];
      const raw = noisy(width, height, channels);
      const png = pngWithEveryFilter(raw, width, height, channels);
      expect(png[25]).toBe(channels === 4 ? 6 : 4);
      const rgba = Buffer.alloc(width * height * 4);
      for (let p = 0; p < width * height; p++) rgba.set(channels === 4 ? raw.subarray(p * 4, p * 4 + 4) : [raw[p * 2]!, raw[p * 2]!, raw[p * 2]!, raw[p * 2 + 1]!], p * 4);
      expect(Buffer.compare(await sharpCorner(png, height, width), rgba)).toBe(0); // the test's encoder is right
      const bySharp = await sharp(raw, { raw: { width, height, channels } }).png({ compressionLevel: 9 }).toBuffer();
      for (const input of [png, splitIdat(png, 997), bySharp]) {
        for (const [rows, cols] of [[152, 1], [40, 4], [257, 301], [1, 301], [500, 500]] as const) {
          const corner = pngCornerPixels(input, rows, cols)!;
          expect(corner).toMatchObject({ width, height, rows: Math.min(rows, height), cols: Math.min(cols, width) });
          expect(Buffer.compare(Buffer.from(corner.rgba), await sharpCorner(input, corner.rows, corner.cols))).toBe(0);
        }
      }
    }
  });

  it.skipIf(!hasCorpus)('matches sharp on the corpus RGBA generator outputs', async () => {
    for (const name of ['generators/automatic1111_stealth.png', 'generators/comfyui-input-pose-nometa.png']) {
      const png = readFileSync(corpusFile(name));
      const corner = pngCornerPixels(png, 152, 2)!;
      expect(Buffer.compare(Buffer.from(corner.rgba), await sharpCorner(png, corner.rows, corner.cols))).toBe(0);
    }
  });

  it('declines layouts it does not decode, and a stream that stops before the rows', async () => {
    const rgba = noisy(40, 30, 4);
    const plain = await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).png().toBuffer();
    expect(pngCornerPixels(plain, 30, 1)).toBeDefined();
    expect(pngCornerPixels(await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).png({ progressive: true }).toBuffer(), 30, 1)).toBeUndefined();
    expect(pngCornerPixels(await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).removeAlpha().png().toBuffer(), 30, 1)).toBeUndefined();
    expect(pngCornerPixels(await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).toColourspace('rgb16').png().toBuffer(), 30, 1)).toBeUndefined();
    // IDAT cut short: the rows are not all there.
    const cs = chunks(plain);
    const idat = cs.find((c) => c.type === 'IDAT')!;
    const short = Buffer.concat([plain.subarray(0, 8), ...cs.filter((c) => c.type !== 'IDAT' && c.type !== 'IEND').map((c) => c.bytes), buildPngChunk('IDAT', idat.bytes.subarray(8, idat.bytes.length >> 1)), cs.at(-1)!.bytes]);
    expect(pngCornerPixels(short, 30, 1)).toBeUndefined();
    expect(pngCornerPixels(short, 1, 1)).toBeDefined();
    expect(pngCornerPixels(Buffer.from('not a png at all, not at all'), 1, 1)).toBeUndefined();
  });
});
