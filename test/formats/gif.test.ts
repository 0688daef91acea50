import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/core/source.js';
import { buildGifXmpExtension, gifContainer, GIF_XMP_MAGIC_TRAILER } from '../../src/formats/gif.js';
import type { MetadataWrite } from '../../src/formats/types.js';
import { decodedPixels, exiftool, exiftoolJson, hasExiftool, tempDir, expectOnlyCorruptUnderDamage, expectTamgaError, writeMetadata, TAM_URI, xmpPacket } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const DST = TAM_URI;
const packet = xmpPacket;

/** A 3-frame animation (distinct frames) from raw RGBA pages. */
async function makeAnimatedGif(): Promise<Buffer> {
  const [w, h, pages] = [32, 24, 3];
  const raw = Buffer.alloc(w * h * pages * 4);
  for (let i = 0; i < w * h * pages; i++) raw.set([((i / (w * h)) | 0) * 90, (i % w) * 8, 120, 255], i * 4);
  return sharp(raw, { raw: { width: w, height: h * pages, channels: 4, pageHeight: h } })
    .gif({ loop: 0, delay: [100, 100, 100] })
    .toBuffer();
}
const makeStaticGif = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } }).gif().toBuffer();

/** Data sub-blocks: 255-byte pieces, each with its length byte, then the 0x00 terminator. */
function subBlocks(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const piece = data.subarray(i, i + 255);
    parts.push(Buffer.from([piece.length]), Buffer.from(piece));
  }
  return Buffer.concat([...parts, Buffer.from([0])]);
}
const commentExtension = (text: string) => Buffer.concat([Buffer.from([0x21, 0xfe]), subBlocks(Buffer.from(text))]);
const appExtension = (id11: string, data: Uint8Array) => Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from(id11, 'latin1'), subBlocks(data)]);
const c2paExtension = (store: Uint8Array) => appExtension('C2PA_GIF\x01\x00\x00', store);

const headerEnd = (b: Uint8Array) => 13 + (b[10]! & 0x80 ? 3 << ((b[10]! & 7) + 1) : 0);
/** Puts extra blocks right after the global colour table. */
const withBlocks = (gif: Uint8Array, ...blocks: Uint8Array[]) => Buffer.concat([gif.subarray(0, headerEnd(gif)), ...blocks, gif.subarray(headerEnd(gif))]);

/** An independent block lister: generic sub-block skipping, as any GIF reader does. */
function blocks(b: Uint8Array): { kind: string; bytes: Buffer }[] {
  const buf = Buffer.from(b);
  const out: { kind: string; bytes: Buffer }[] = [];
  const skip = (p: number) => {
    while (buf[p]) p += 1 + buf[p]!;
    return p + 1;
  };
  for (let p = headerEnd(buf); p < buf.length; ) {
    const start = p;
    let kind: string;
    if (buf[p] === 0x3b) {
      out.push({ kind: 'trailer', bytes: buf.subarray(p, p + 1) });
      break;
    } else if (buf[p] === 0x2c) {
      const lct = buf[p + 9]! & 0x80 ? 3 << ((buf[p + 9]! & 7) + 1) : 0;
      p = skip(p + 11 + lct);
      kind = 'image';
    } else {
      kind = buf[p + 1] === 0xff ? `app:${buf.toString('latin1', p + 3, p + 14)}` : `ext:${buf[p + 1]!.toString(16)}`;
      p = skip(p + 2);
    }
    out.push({ kind, bytes: buf.subarray(start, p) });
  }
  return out;
}
const isXmp = (b: { kind: string }) => b.kind === 'app:XMP DataXMP';

const write = (input: Uint8Array, w: MetadataWrite) => writeMetadata(gifContainer, input, w);
const read = (b: Uint8Array) => gifContainer.read(new BufferReader(b));

const expectCorrupt = (b: Uint8Array, message?: RegExp) => expectTamgaError(read(b), 'CORRUPT_INPUT', message);

describe('GIF read', () => {
  it('finds comments, the C2PA_GIF store and skips other extensions', async () => {
    const gif = await makeAnimatedGif();
    const comment = commentExtension('made by a model, ' + 'é'.repeat(200));
    const c2pa = c2paExtension(Buffer.alloc(600, 0x6a));
    const input = withBlocks(gif, c2pa, comment);
    const m = await read(input);
    expect(m.format).toBe('gif');
    expect(m.xmp).toBeUndefined();
    const at = headerEnd(gif);
    expect(m.c2pa).toEqual({ name: 'gif:C2PA', offset: at, length: c2pa.length });
    expect(m.texts).toEqual([
      { keyword: 'comment', text: 'made by a model, ' + 'é'.repeat(200), carrier: { name: 'gif:comment', offset: at + c2pa.length, length: comment.length } },
    ]);
    const latin = await read(withBlocks(gif, Buffer.from([0x21, 0xfe, 4, 0x63, 0x61, 0x66, 0xe9, 0])));
    expect(latin.texts[0]!.text).toBe('café');
  });

  it('reads an XMP packet that a generic sub-block skipper walks over', async () => {
    const gif = await makeAnimatedGif();
    const long = packet(`<!-- ${'Жасанды интеллект '.repeat(400)} -->`);
    const input = withBlocks(gif, buildGifXmpExtension(long));
    expect(blocks(input).map((b) => b.kind)).toContain('app:XMP DataXMP');
    const m = await read(input);
    expect(Buffer.from(m.xmp!.packet).equals(long)).toBe(true);
    expect(m.xmp!.carrier).toEqual({ name: 'gif:XMP', offset: headerEnd(gif), length: 14 + long.length + 258 });
  });

  it('falls back to the xpacket trailer when the landing zone is non-standard', async () => {
    const gif = await makeStaticGif();
    // Some writers end the packet with a shorter ramp; the raw bytes of this packet still walk as sub-blocks.
    const xmp = Buffer.from(packet().toString().replace(/\n/g, ''));
    const odd = Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from('XMP DataXMP'), xmp, Buffer.from([3, 2, 1, 0, 0])]);
    const m = await read(withBlocks(gif, odd));
    expect(Buffer.from(m.xmp!.packet).equals(xmp)).toBe(true);
  });

  it('the magic trailer is 0x01, 0xFF..0x00, then the block terminator', () => {
    expect(GIF_XMP_MAGIC_TRAILER.length).toBe(258);
    expect([...GIF_XMP_MAGIC_TRAILER.subarray(0, 3)]).toEqual([0x01, 0xff, 0xfe]);
    expect([...GIF_XMP_MAGIC_TRAILER.subarray(255)]).toEqual([0x01, 0x00, 0x00]);
  });
});

describe('GIF write', () => {
  it('inserts XMP before the trailer of an animation, copying every other block verbatim', async () => {
    const input = await makeAnimatedGif();
    const out = await write(input, { xmp: packet(), exifIfd0Text: { 270: 'no EXIF in GIF' } });
    const before = blocks(input);
    const after = blocks(out);
    expect(after.map((b) => b.kind)).toEqual([...before.slice(0, -1).map((b) => b.kind), 'app:XMP DataXMP', 'trailer']);
    expect(after.filter((b) => !isXmp(b)).map((b) => b.bytes)).toEqual(before.map((b) => b.bytes));
    expect(out.subarray(0, headerEnd(out)).equals(input.subarray(0, headerEnd(input)))).toBe(true);
    expect(Buffer.from((await read(out)).xmp!.packet).equals(packet())).toBe(true);
    const [pixelsIn, pixelsOut] = [await decodedPixels(input), await decodedPixels(out)];
    expect(pixelsOut.height).toBe(24 * 3);
    expect(pixelsOut.data.equals(pixelsIn.data)).toBe(true);
  });

  it('replaces an existing XMP extension in place: writing twice leaves exactly one', async () => {
    const gif = await makeAnimatedGif();
    const input = withBlocks(gif, buildGifXmpExtension(packet()), commentExtension('keep me'));
    const second = packet(`<!-- ${'x'.repeat(1000)} -->`);
    const out = await write(input, { xmp: second });
    expect(blocks(out).filter(isXmp)).toHaveLength(1);
    expect(blocks(out).map((b) => b.kind)).toEqual(blocks(input).map((b) => b.kind));
    expect(blocks(out).findIndex(isXmp)).toBe(0);
    const again = await write(out, { xmp: packet() });
    expect(blocks(again).filter(isXmp)).toHaveLength(1);
    expect(Buffer.from((await read(out)).xmp!.packet).equals(second)).toBe(true);
    expect((await read(out)).texts.map((t) => t.text)).toEqual(['keep me']);
  });

  it('strips the C2PA_GIF extension only when asked', async () => {
    const input = withBlocks(await makeAnimatedGif(), c2paExtension(Buffer.alloc(300, 1)));
    expect((await read(await write(input, { xmp: packet() }))).c2pa?.name).toBe('gif:C2PA');
    const out = await write(input, { xmp: packet(), stripC2pa: true });
    expect((await read(out)).c2pa).toBeUndefined();
    expect(blocks(out).map((b) => b.kind)).not.toContain('app:C2PA_GIF\x01\x00\x00');
    expect((await decodedPixels(out)).data.equals((await decodedPixels(input)).data)).toBe(true);
  });

  it('upgrades a GIF87a header to GIF89a and copies the rest', async () => {
    const gif89 = await makeStaticGif();
    // A GIF87a with no extensions: drop the graphic control extension and patch the version.
    const noExt = Buffer.concat([gif89.subarray(0, headerEnd(gif89)), ...blocks(gif89).filter((b) => !b.kind.startsWith('ext:')).map((b) => b.bytes)]);
    const input = Buffer.concat([Buffer.from('GIF87a'), noExt.subarray(6)]);
    const out = await write(input, { xmp: packet() });
    expect(out.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const trailer = input.length - 1;
    expect(out.subarray(6, trailer).equals(input.subarray(6, trailer))).toBe(true);
    expect(Buffer.from((await read(out)).xmp!.packet).equals(packet())).toBe(true);
    expect((await decodedPixels(out)).data.equals((await decodedPixels(input)).data)).toBe(true);
  });

  it('refuses a packet with a NUL byte (it would end the unsplit block early)', async () => {
    const bad = Buffer.concat([packet(), Buffer.from([0])]);
    await expect(write(await makeStaticGif(), { xmp: bad })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});

describe.skipIf(!hasExiftool)('GIF interop with exiftool', () => {
  it('exiftool reads our packet and finds nothing to warn about', async () => {
    const path = join(tmp.dir, 'labelled.gif');
    writeFileSync(path, await write(withBlocks(await makeAnimatedGif(), commentExtension('hello')), { xmp: packet() }));
    const tags = exiftoolJson(path, ['-n']);
    expect(tags['XMP-iptcExt:DigitalSourceType']).toBe(DST);
    expect(tags['File:Comment']).toBe('hello');
    expect(tags['GIF:Duration']).toBeCloseTo(0.3);
    const validation = exiftoolJson(path, ['-validate', '-warning']);
    expect(validation['ExifTool:Warning']).toBeUndefined();
  });

  it('reads the XMP and comment that exiftool writes (it upgrades 87a too)', async () => {
    const path = join(tmp.dir, 'by-exiftool.gif');
    writeFileSync(path, await makeAnimatedGif());
    exiftool(['-q', '-overwrite_original', `-XMP-iptcExt:DigitalSourceType=${DST}`, '-Comment=AI-generated', path]);
    const m = await read(readFileSync(path));
    expect(m.xmp?.carrier.name).toBe('gif:XMP');
    const text = Buffer.from(m.xmp!.packet).toString();
    expect(text).toContain(DST);
    expect(text).toMatch(/<\?xpacket end=['"]w['"]\?>\s*$/);
    expect(m.texts.map((t) => t.text)).toEqual(['AI-generated']);
  });
});

describe('GIF corruption is CORRUPT_INPUT, never another exception', () => {
  it('rejects truncation at every length (header, descriptors, sub-blocks, missing trailer)', async () => {
    const input = withBlocks(await makeAnimatedGif(), commentExtension('hi'), buildGifXmpExtension(packet()));
    for (let n = 0; n < input.length; n++) await expectCorrupt(input.subarray(0, n));
    await expectCorrupt(input.subarray(0, input.length - 1), /trailer/);
  });

  it('rejects a bad signature and an unknown block introducer', async () => {
    const gif = await makeStaticGif();
    await expectCorrupt(Buffer.concat([Buffer.from('GIF90a'), gif.subarray(6)]), /signature/);
    await expectCorrupt(withBlocks(gif, Buffer.from([0x42])), /introducer 0x42/);
  });

  it('random byte damage yields a result or CORRUPT_INPUT only', async () => {
    const input = withBlocks(await makeAnimatedGif(), commentExtension('hi'), buildGifXmpExtension(packet()));
    await expectOnlyCorruptUnderDamage(read, input, 7);
  });
});
