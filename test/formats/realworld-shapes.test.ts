/**
 * Images and audio shaped like files in other projects' test suites (Pillow Tests/images,
 * exiftool t/images, music-metadata test/samples), built here: readers open them, so tamga labels
 * them, keeps every byte it does not own, reads the label back, and exiftool reports nothing new.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { concat } from '../../src/core/bytes.js';
import { buildPngChunk } from '../../src/formats/png.js';
import { buildMinimalTiff, TIFF_TYPE } from '../../src/formats/tiff.js';
import { runFfmpeg, probe } from '../../src/media/ffmpeg.js';
import { getProperty, mergeXmp, NS, parseXmp, valueText, type XmpLabel } from '../../src/metadata/xmp.js';
import { hasExiftool, tempDir, validateWarnings, exiftool } from '../helpers.js';

const tmp = tempDir('tamga-shapes-');
afterAll(() => tmp.cleanup());
let n = 0;
const file = (bytes: Uint8Array, ext: string) => {
  const p = join(tmp.dir, `f${n++}.${ext}`);
  writeFileSync(p, bytes);
  return p;
};

/** Labels `input` (metadata only), checks the label reads back and exiftool has nothing new to say. */
async function labelled(input: Uint8Array, ext: string): Promise<Buffer> {
  const r = await label(input, {}, { visible: false });
  const out = Buffer.from(r.data!);
  const d = await detect(out);
  expect(d.findings.find((f) => f.kind === 'xmp:tamga' || f.kind.endsWith(':tamga'))).toBeDefined();
  if (hasExiftool) {
    const before = validateWarnings(file(input, ext));
    const fresh = [...validateWarnings(file(out, ext))].filter((w) => !before.has(w) && !/^\d+ Warnings? \(/.test(w));
    expect(fresh).toEqual([]);
  }
  return out;
}

const pixels = async (b: Uint8Array) => (await sharp(b, { failOn: 'none' }).raw().toBuffer()).toString('base64');
const jpeg = () => sharp({ create: { width: 32, height: 24, channels: 3, background: '#4080c0' } }).jpeg().toBuffer();
const segment = (marker: number, content: Uint8Array) => concat([Uint8Array.of(0xff, marker, (content.length + 2) >> 8, (content.length + 2) & 255), content]);
const ascii = (s: string) => Buffer.from(s, 'latin1');
/** Offset of the first segment after SOI + APP0 (JFIF). */
const afterApp0 = (b: Buffer) => (b[3] === 0xe0 ? 2 + 2 + b.readUInt16BE(4) : 2);

describe('JPEG shapes', () => {
  it('junk bytes and a stray 0xFF00 between segments (libjpeg: "extraneous bytes before marker") are kept, the label written', async () => {
    const base = await jpeg();
    // After the first segment (JFIF or a table): a JPEG still starts FF D8 FF.
    const at = 2 + 2 + base.readUInt16BE(4);
    const input = Buffer.concat([base.subarray(0, at), ascii('JUNK!'), Uint8Array.of(0xff, 0x00), base.subarray(at)]);
    const out = await labelled(input, 'jpg');
    expect(out.includes(Buffer.concat([ascii('JUNK!'), Uint8Array.of(0xff, 0x00)]))).toBe(true);
    expect(await pixels(out)).toBe(await pixels(input));
  });

  it('EXIF that cannot be followed does not block the XMP label; the EXIF block is kept byte for byte', async () => {
    const base = await jpeg();
    // A TIFF header whose IFD0 offset points far past the block.
    const brokenExif = segment(0xe1, concat([ascii('Exif\0\0'), ascii('MM\0*'), Uint8Array.of(0x7f, 0, 0, 0), new Uint8Array(16)]));
    const at = afterApp0(base);
    const input = Buffer.concat([base.subarray(0, at), brokenExif, base.subarray(at)]);
    const out = await labelled(input, 'jpg');
    expect(out.includes(Buffer.from(brokenExif))).toBe(true);
    expect(await pixels(out)).toBe(await pixels(input));
  });

  it('an EXIF block continued in FlashPix APP2 segments is not split: the XMP goes after the run', async () => {
    const base = await jpeg();
    const exif = segment(0xe1, concat([ascii('Exif\0\0'), buildMinimalTiff([{ tag: 0x010f, type: TIFF_TYPE.ASCII, data: ascii('Cam\0') }])]));
    const fpxr = segment(0xe2, concat([ascii('FPXR\0'), new Uint8Array(20).fill(1)]));
    const at = afterApp0(base);
    const input = Buffer.concat([base.subarray(0, at), exif, fpxr, base.subarray(at)]);
    const out = await labelled(input, 'jpg');
    const fpxrAt = out.indexOf(Buffer.from(fpxr));
    const xmpAt = out.indexOf(ascii('http://ns.adobe.com/xap/1.0/\0'));
    expect(fpxrAt).toBeGreaterThan(0);
    expect(xmpAt).toBeGreaterThan(fpxrAt);
  });

  it('an AFCP trailer keeps pointing at its data after the label moves it', async () => {
    const base = await jpeg();
    const text = ascii('archive note');
    const start = base.length;
    const dir = Buffer.alloc(12 + 12);
    dir.write('AXS!', 0, 'latin1');
    dir.writeUInt16BE(0x0100, 4);
    dir.writeUInt16BE(1, 6);
    dir.write('TEXT', 12, 'latin1');
    dir.writeUInt32BE(text.length, 16);
    dir.writeUInt32BE(start + dir.length, 20);
    const eof = Buffer.alloc(12);
    eof.write('AXS!', 0, 'latin1');
    eof.writeUInt32BE(start, 4);
    const input = Buffer.concat([base, dir, text, eof]);
    const out = await labelled(input, 'jpg');
    const newStart = out.readUInt32BE(out.length - 8);
    expect(out.subarray(newStart, newStart + 4).toString('latin1')).toBe('AXS!');
    const off = out.readUInt32BE(newStart + 20);
    expect(out.subarray(off, off + text.length).equals(text)).toBe(true);
    if (hasExiftool) expect(exiftool(['-s3', '-AFCP:Text', file(out, 'jpg')]).trim()).toBe('archive note');
  });
});

describe('XMP packets as others write them', () => {
  const label_: XmpLabel = { provenance: { digitalSourceType: 'trainedAlgorithmicMedia', createdAt: '2026-01-01T00:00:00Z', contentId: 'c-1' }, disclosure: { line: 'AI-generated', texts: [{ lang: 'en', text: 'AI-generated' }] } };
  const packet = (about: string) =>
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description ${about} xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>image/jpeg</dc:format></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;

  it.each([
    ['rdf:about="uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b"', 'uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b'],
    ['about="uuid:80056b68-1045-fa97-3401-6f4ed84cd53d"', 'uuid:80056b68-1045-fa97-3401-6f4ed84cd53d'],
    ['rdf:about=""', ''],
  ])('our rdf:Description takes the packet\'s about value (%s): one about per packet', (attr, about) => {
    const merged = Buffer.from(mergeXmp(Buffer.from(packet(attr)), label_)).toString('utf8');
    const abouts = [...merged.matchAll(/\babout="([^"]*)"/g)].map((m) => m[1]);
    expect(abouts.length).toBe(2);
    expect(new Set(abouts)).toEqual(new Set([about]));
  });

  it('a standard prefix used without its declaration (dc:, xmp: as some PDF producers write them) is read and merged, declared', () => {
    const undeclared = Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""><dc:format>application/pdf</dc:format><xmp:CreatorTool>Writer</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>');
    expect(valueText(getProperty(parseXmp(undeclared), NS.dc, 'format'))).toBe('application/pdf');
    const merged = parseXmp(mergeXmp(undeclared, label_));
    expect(valueText(getProperty(merged, NS.xmp, 'CreatorTool'))).toBe('Writer');
    expect(valueText(getProperty(merged, NS.tamga, 'contentId'))).toBe('c-1');
    // An unknown prefix stays an error: it names no namespace anyone could guess.
    expect(() => parseXmp(Buffer.from(undeclared.toString().replace('dc:format', 'zz:format').replace('/dc:format', '/zz:format')))).toThrow(/unbound/);
  });

  it('an empty <x:xmpmeta/> is an empty packet: read with no properties, merged into', () => {
    const empty = Buffer.from('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>');
    expect(parseXmp(empty).properties).toEqual([]);
    expect(valueText(getProperty(parseXmp(mergeXmp(empty, label_)), NS.tamga, 'contentId'))).toBe('c-1');
  });

  it.each([
    ['UTF-16LE with BOM', (s: string) => Buffer.concat([Uint8Array.of(0xff, 0xfe), Buffer.from(s, 'utf16le')])],
    ['UTF-16BE with BOM', (s: string) => Buffer.concat([Uint8Array.of(0xfe, 0xff), Buffer.from(s, 'utf16le').swap16()])],
    ['UTF-16BE without BOM', (s: string) => Buffer.from(s, 'utf16le').swap16()],
    ['UTF-16LE without BOM', (s: string) => Buffer.from(s, 'utf16le')],
  ])('a %s packet is read (exiftool reads them), not reported malformed', (_what, encode) => {
    const s = packet('rdf:about=""').replace('\uFEFF', '');
    expect(valueText(getProperty(parseXmp(encode(s)), NS.dc, 'format'))).toBe('image/jpeg');
  });

  it('a JPEG whose XMP is UTF-16 is labelled and read back', async () => {
    const base = await jpeg();
    const at = afterApp0(base);
    const xmp = segment(0xe1, concat([ascii('http://ns.adobe.com/xap/1.0/\0'), Buffer.concat([Uint8Array.of(0xfe, 0xff), Buffer.from(packet('rdf:about=""'), 'utf16le').swap16()])]));
    const input = Buffer.concat([base.subarray(0, at), xmp, base.subarray(at)]);
    expect((await detect(input)).findings.map((f) => f.kind)).not.toContain('xmp:malformed');
    await labelled(input, 'jpg');
  });
});

describe('PNG, GIF, TIFF shapes', () => {
  it('XMP in a zTXt chunk keyed XML:com.adobe.xmp (ImageMagick) is replaced, not joined by a second packet', async () => {
    const base = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#102030' } }).png().toBuffer();
    const xmp = Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>image/png</dc:format></rdf:Description></rdf:RDF></x:xmpmeta>');
    const ztxt = buildPngChunk('zTXt', concat([ascii('XML:com.adobe.xmp\0\0'), deflateSync(xmp)]));
    const input = Buffer.concat([base.subarray(0, 33), ztxt, base.subarray(33)]);
    const out = await labelled(input, 'png');
    expect(out.includes(ascii('zTXtXML:com.adobe.xmp'))).toBe(false);
    expect(out.toString('latin1').split('iTXtXML:com.adobe.xmp').length).toBe(2);
    expect(out.toString('utf8')).toContain('<dc:format>image/png</dc:format>');
  });

  it('a GIF followed by bytes that start no block (a second GIF pasted on) is labelled; the rest is copied after the XMP', async () => {
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).gif().toBuffer();
    const input = Buffer.concat([gif.subarray(0, gif.length - 1), gif]);
    const out = await labelled(input, 'gif');
    expect(out.subarray(out.length - gif.length).equals(gif)).toBe(true);
    expect(await pixels(out)).toBe(await pixels(input));
  });

  it.each([
    ['IFD0 pointing at itself', (b: Buffer, ifd0: number) => b.writeUInt32LE(ifd0, ifd0 + 2 + 12 * b.readUInt16LE(ifd0))],
  ])('a TIFF whose IFD chain loops (%s) reads as libtiff reads it, labelled with no page added', async (_what, loop) => {
    const input = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).tiff().toBuffer());
    const ifd0 = input.readUInt32LE(4);
    loop(input, ifd0);
    const out = await labelled(input, 'tif');
    expect((await sharp(out).metadata()).pages ?? 1).toBe(1);
    expect(await pixels(out)).toBe(await pixels(input));
  });
});

describe('audio shapes', () => {
  const id3v23 = (title: string) => {
    const text = concat([Uint8Array.of(0), ascii(title)]);
    const frame = Buffer.alloc(10 + text.length);
    frame.write('TIT2', 0, 'latin1');
    frame.writeUInt32BE(text.length, 4);
    frame.set(text, 10);
    const size = frame.length;
    const head = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 127, (size >> 14) & 127, (size >> 7) & 127, size & 127]);
    return Buffer.concat([head, frame]);
  };

  it('a FLAC with a leading ID3v2 tag is labelled in its Vorbis comment; the ID3 tag is kept as it is', async () => {
    const flac = join(tmp.dir, 'tone.flac');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.3', '-c:a', 'flac', flac]);
    const id3 = id3v23('Old title');
    const input = Buffer.concat([id3, readFileSync(flac)]);
    const d = await detect(input);
    expect(d.format).toBe('flac');
    const out = await labelled(input, 'flac');
    expect(out.subarray(0, id3.length).equals(id3)).toBe(true);
    const tags = (await probe(file(out, 'flac'))).format.tags ?? {};
    expect(Object.keys(tags).map((k) => k.toUpperCase())).toContain('AIGC');
    expect((await runFfmpeg(['-i', file(out, 'flac'), '-f', 'md5', '-'])).stdout.toString()).toBe((await runFfmpeg(['-i', flac, '-f', 'md5', '-'])).stdout.toString());
  });

  it('a WAV whose RIFF size is too small for its chunks (exiftool: "Incorrect RIFF chunk size") is labelled with the right size', async () => {
    const wav = join(tmp.dir, 'tone.wav');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.1', '-c:a', 'pcm_s16le', wav]);
    const input = readFileSync(wav);
    input.writeUInt32LE(input.readUInt32LE(4) - 40, 4);
    const out = await labelled(input, 'wav');
    expect(out.readUInt32LE(4)).toBe(out.length - 8);
  });

  it('an Ogg stream with padding between pages (a tag editor\'s leftovers) is labelled; the audio packets are the same', async () => {
    const ogg = join(tmp.dir, 'tone.ogg');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'libvorbis', ogg]);
    const b = readFileSync(ogg);
    // After the first page (the identification header): 300 zero bytes, as in music-metadata's issue_62.ogg.
    const second = b.indexOf(ascii('OggS'), 4);
    const input = Buffer.concat([b.subarray(0, second), new Uint8Array(300), b.subarray(second)]);
    const out = await labelled(input, 'ogg');
    const md5 = async (p: string) => (await runFfmpeg(['-i', p, '-map', '0:a', '-f', 'md5', '-'])).stdout.toString();
    expect(await md5(file(out, 'ogg'))).toBe(await md5(ogg));
  });
});
