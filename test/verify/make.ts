import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { concat } from '../../src/core/bytes.js';
import { buildPngChunk } from '../../src/formats/png.js';

/** A real PNG (sharp) with tEXt chunks inserted after IHDR, as generators write them. */
export async function pngWithText(texts: [keyword: string, text: string][], opts: { alpha?: boolean } = {}): Promise<Buffer> {
  const channels = opts.alpha ? 4 : 3;
  const png = await sharp({ create: { width: 8, height: 8, channels, background: { r: 40, g: 90, b: 160, alpha: 1 } } }).png().toBuffer();
  const chunks = texts.map(([k, t]) => buildPngChunk('tEXt', Buffer.concat([Buffer.from(k, 'latin1'), Buffer.of(0), Buffer.from(t, 'latin1')])));
  return Buffer.from(concat([png.subarray(0, 33), ...chunks, png.subarray(33)]));
}

/** A real JPEG with a COM segment right after SOI (Fooocus writes its JSON there). */
export async function jpegWithComment(text: string): Promise<Buffer> {
  const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 90, b: 60 } } }).jpeg().toBuffer();
  const body = Buffer.from(text, 'utf8');
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpg.subarray(0, 2), seg, body, jpg.subarray(2)]);
}

/**
 * Writes NovelAI-style stealth metadata into the alpha LSBs of an RGBA image (the encoder side of
 * labelling-standards.md §8.4: column-major, MSB first, magic + 32-bit bit length + payload).
 */
export async function pngWithStealth(payload: string, opts: { compressed: boolean; width?: number; height?: number; magic?: string }): Promise<Buffer> {
  const width = opts.width ?? 64;
  const height = opts.height ?? 64;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i * 7) & 255, (i * 13) & 255, (i * 29) & 255, 255], i * 4);
  const body = opts.compressed ? gzipSync(Buffer.from(payload, 'utf8')) : Buffer.from(payload, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length * 8, 0);
  const bytes = Buffer.concat([Buffer.from(opts.magic ?? (opts.compressed ? 'stealth_pngcomp' : 'stealth_pnginfo'), 'latin1'), len, body]);
  if (bytes.length * 8 > width * height) throw new Error('payload does not fit');
  let bit = 0;
  for (const b of bytes) {
    for (let k = 7; k >= 0; k--, bit++) {
      const x = Math.floor(bit / height);
      const y = bit % height;
      const at = (y * width + x) * 4 + 3;
      data[at] = (data[at]! & 0xfe) | ((b >> k) & 1);
    }
  }
  return sharp(data, { raw: { width, height, channels: 4 } }).png().toBuffer();
}
