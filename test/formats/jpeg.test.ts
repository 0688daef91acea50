import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { BufferReader, FileReader } from '../../src/core/source.js';
import { buildJpegSegment, jpegContainer, MAX_STANDARD_XMP, readJpegLayout, XMP_EXT_SIGNATURE } from '../../src/formats/jpeg.js';
import { corpusFile, decodedPixels, exiftool, exiftoolJson, hasCorpus, hasExiftool, tempDir, writeMetadata, xmpPacket } from '../helpers.js';
import type { MetadataWrite } from '../../src/formats/types.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const packet = xmpPacket;

const write = (input: Uint8Array, w: MetadataWrite) => writeMetadata(jpegContainer, input, w);
const markers = async (b: Uint8Array) => (await readJpegLayout(new BufferReader(b))).segments.map((s) => s.marker.toString(16));

describe('JPEG segments', () => {
  it('inserts EXIF then XMP first in a bare JPEG, copying the scan verbatim', async () => {
    const input = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808040' } }).jpeg().toBuffer();
    expect(await markers(input)).not.toContain('e1');
    const outb = await write(input, { xmp: packet(), exifIfd0Text: { 270: 'AI-generated' } });
    const ms = await markers(outb);
    expect(ms.slice(0, 2)).toEqual(['e1', 'e1']);
    expect(ms.slice(2)).toEqual(await markers(input));
    const meta = await jpegContainer.read(new BufferReader(outb));
    expect(Buffer.from(meta.xmp!.packet).equals(packet())).toBe(true);
    const inLayout = await readJpegLayout(new BufferReader(input));
    const outLayout = await readJpegLayout(new BufferReader(outb));
    expect(Buffer.from(outb.subarray(outLayout.scanOffset)).equals(input.subarray(inLayout.scanOffset))).toBe(true);
    if (hasExiftool) {
      const p = join(tmp.dir, 'bare.jpg');
      writeFileSync(p, outb);
      expect(exiftoolJson(p)['IFD0:ImageDescription']).toBe('AI-generated');
      expect(exiftoolJson(p, ['-validate', '-warning'])).toMatchObject({ 'ExifTool:Validate': 'OK' });
    }
  });

  it('puts new segments after a JFIF APP0', async () => {
    const bare = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).jpeg().toBuffer();
    const jfif = Buffer.from([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    const input = Buffer.concat([bare.subarray(0, 2), jfif, bare.subarray(2)]);
    const plain = await write(input, { xmp: packet() });
    const ms = await markers(plain);
    const before = await markers(input);
    expect(before[0]).toBe('e0');
    expect(ms[0]).toBe('e0');
    expect(ms.filter((m) => m === 'e1').length).toBe(before.filter((m) => m === 'e1').length + 1);
  });

  it('replaces an existing XMP segment in place instead of adding a second', async () => {
    const input = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const once = await write(input, { xmp: packet() });
    const twice = await write(once, { xmp: packet('<rdf:Description rdf:about=""/>') });
    expect((await markers(twice)).filter((m) => m === 'e1')).toHaveLength(1);
    expect((await markers(twice)).indexOf('e1')).toBe((await markers(once)).indexOf('e1'));
  });

  it('refuses a packet larger than one APP1 segment with METADATA_TOO_LARGE', async () => {
    const input = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const big = packet(`<!-- ${'x'.repeat(MAX_STANDARD_XMP)} -->`);
    await expect(write(input, { xmp: big })).rejects.toMatchObject({ code: 'METADATA_TOO_LARGE' });
    expect(() => buildJpegSegment(0xe1, new Uint8Array(70000))).toThrow(TamgaError);
  });

  it.skipIf(!hasExiftool)('reassembles extended XMP that exiftool wrote and checks its MD5', async () => {
    const p = join(tmp.dir, 'ext.jpg');
    writeFileSync(p, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } }).jpeg().toBuffer());
    const long = 'steppe '.repeat(12000);
    exiftool(['-q', '-overwrite_original', `-XMP-dc:Description=${long}`, `-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`, p]);
    const bytes = readFileSync(p);
    const meta = await jpegContainer.read(new BufferReader(bytes));
    expect(meta.extendedXmp).toBeDefined();
    expect(createHash('md5').update(meta.extendedXmp!.packet).digest('hex').toUpperCase()).toBe(meta.extendedXmp!.guid);
    expect(Buffer.from(meta.extendedXmp!.packet).toString()).toContain('steppe steppe');
    // Corrupt one byte of an extension chunk: the reassembled packet no longer matches its GUID and is ignored.
    const at = bytes.indexOf(Buffer.from(XMP_EXT_SIGNATURE)) + XMP_EXT_SIGNATURE.length + 60;
    const bad = Buffer.from(bytes);
    bad[at] = bad[at]! ^ 1;
    expect((await jpegContainer.read(new BufferReader(bad))).extendedXmp).toBeUndefined();
  });

  it.skipIf(!hasCorpus)('finds the C2PA APP11 store and strips only it', async () => {
    const input = readFileSync(corpusFile('c2pa/C-algorithmic.jpg'));
    const meta = await jpegContainer.read(new BufferReader(input));
    expect(meta.c2pa?.name).toBe('jpeg:APP11-C2PA');
    const outb = await write(input, { xmp: packet(), stripC2pa: true });
    expect((await jpegContainer.read(new BufferReader(outb))).c2pa).toBeUndefined();
    expect(outb.length).toBeLessThan(input.length);
    const [a, b] = await Promise.all([decodedPixels(input), decodedPixels(outb)]);
    expect(a.data.equals(b.data)).toBe(true);
  });

  it.skipIf(!hasCorpus)('reads every camera JPEG in the corpus and labels it losslessly', async () => {
    for (const f of ['Canon_40D', 'DSCN0010', 'Fujifilm_FinePix_E500', 'Nikon_D70', 'Panasonic_DMC-FZ30', 'Pentax_K10D', 'sony-cybershot']) {
      const input = readFileSync(corpusFile(`camera/${f}.jpg`));
      const outb = await write(input, { xmp: packet(), exifIfd0Text: { 270: 'AI' } });
      const [a, b] = await Promise.all([decodedPixels(input), decodedPixels(outb)]);
      expect(b.data.equals(a.data), f).toBe(true);
    }
  });
});

describe('JPEG structure errors are CORRUPT_INPUT', () => {
  const base = async () => sharp({ create: { width: 64, height: 64, channels: 3, background: '#a0a0a0' } }).jpeg().withMetadata().toBuffer();
  it.each([1, 2, 3, 5, 20, 40])('truncated to %i bytes', async (len) => {
    const b = (await base()).subarray(0, len);
    await expect(jpegContainer.read(new BufferReader(b))).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
  });
  it('cut inside the scan (no EOI)', async () => {
    const b = await base();
    await expect(jpegContainer.read(new BufferReader(b.subarray(0, b.length - 10)))).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
  });
  it('a segment length past the end, and a length below 2', async () => {
    const b = Buffer.from(await base());
    const l1 = Buffer.from(b);
    l1.writeUInt16BE(0xfff0, 4);
    await expect(jpegContainer.read(new BufferReader(l1))).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
    const l2 = Buffer.from(b);
    l2.writeUInt16BE(1, 4);
    await expect(jpegContainer.read(new BufferReader(l2))).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
  });
  it('finds the EOI behind up to 64 KiB of trailing bytes, reading only the last 1 KiB when the file ends with it', async () => {
    const b = await base();
    const trailer = (n: number) => Buffer.alloc(n, 0x41);
    for (const n of [0, 1000, 5000, 60_000]) await expect(jpegContainer.read(new BufferReader(Buffer.concat([b, trailer(n)])))).resolves.toMatchObject({ format: 'jpeg' });
    await expect(jpegContainer.read(new BufferReader(Buffer.concat([b, trailer(70_000)])))).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
    // A large file that ends with its EOI: header windows and the last 1 KiB are all that is read (not the last 64 KiB).
    const big = Buffer.concat([b.subarray(0, b.length - 2), Buffer.alloc(1 << 20, 0x11), b.subarray(b.length - 2)]);
    const path = join(tmp.dir, 'big-scan.jpg');
    writeFileSync(path, big);
    const reader = await FileReader.open(path);
    try {
      await jpegContainer.read(reader);
      expect(reader.bytesRead).toBeLessThan(40 * 1024);
    } finally {
      await reader.close();
    }
  });
  it('keeps trailing bytes after EOI', async () => {
    const b = Buffer.concat([await base(), Buffer.from('TRAILER-DATA')]);
    const outb = await write(b, { xmp: packet() });
    expect(Buffer.from(outb.subarray(outb.length - 12)).toString()).toBe('TRAILER-DATA');
  });
});
