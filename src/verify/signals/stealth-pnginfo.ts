import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { u32be } from '../../core/bytes.js';
import { pngCornerPixels, type PngCorner } from '../../formats/png.js';
import type { Finding } from '../../core/types.js';
import { parseInfotextSettings } from './a1111.js';
import { isNovelAiSettings } from './novelai.js';
import { brief, parseJsonObject, signal, type SignalDetector } from './types.js';

/**
 * "Stealth pnginfo" (§8.4): NovelAI's scheme, also written by the A1111 stealth-pnginfo extension.
 * Bits are taken from the least significant bit of alpha (or of R, G, B in the `rgb` variants),
 * pixel by pixel in column-major order (x outer, y inner), packed MSB first: a 15-byte magic,
 * a 32-bit big-endian payload length in bits, then the payload (gzip for the `comp` magics).
 * It survives metadata strippers, so it is read from pixels: only for PNGs with an alpha channel
 * (colour type 4 or 6), the only ones the alpha variant can live in.
 */
const MAGICS: Record<string, { mode: 'alpha' | 'rgb'; compressed: boolean }> = {
  stealth_pnginfo: { mode: 'alpha', compressed: false },
  stealth_pngcomp: { mode: 'alpha', compressed: true },
  stealth_rgbinfo: { mode: 'rgb', compressed: false },
  stealth_rgbcomp: { mode: 'rgb', compressed: true },
};
const MAGIC_BITS = 15 * 8;
/** Decoded payloads above this are refused (a real one is a few KiB of settings). */
const MAX_PAYLOAD_BYTES = 1 << 20;

/** Reads LSBs in the scheme's order from raw RGBA pixels, `stride` pixels per row of the buffer. */
class LsbStream {
  private i = 0;
  constructor(
    private readonly rgba: Uint8Array,
    private readonly stride: number,
    private readonly width: number,
    private readonly height: number,
    private readonly mode: 'alpha' | 'rgb',
  ) {}
  get remaining(): number {
    return this.width * this.height * (this.mode === 'alpha' ? 1 : 3) - this.i;
  }
  private bit(): number {
    const per = this.mode === 'alpha' ? 1 : 3;
    const pixel = Math.floor(this.i / per);
    const x = Math.floor(pixel / this.height);
    const y = pixel % this.height;
    const channel = this.mode === 'alpha' ? 3 : this.i % per;
    this.i++;
    return this.rgba[(y * this.stride + x) * 4 + channel]! & 1;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let b = 0; b < n; b++) {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | this.bit();
      out[b] = v;
    }
    return out;
  }
  /** The variant whose magic starts the stream, if any. */
  magic(): (typeof MAGICS)[string] | undefined {
    if (this.remaining < MAGIC_BITS + 32) return undefined;
    const magic = MAGICS[Buffer.from(this.bytes(15)).toString('latin1')];
    return magic?.mode === this.mode ? magic : undefined;
  }
}

/** Pixels the magics and the length field span in the scheme's column-major order (alpha: 1 bit per pixel). */
const HEADER_PIXELS = MAGIC_BITS + 32;

/**
 * Whether the first `pixels` pixels of column-major order, from a `pngCornerPixels` decode of
 * min(height, pixels) rows and ceil(pixels / height) columns, may start a stealth magic: the
 * bytes they hold are a prefix of one. With HEADER_PIXELS pixels that is the whole magic.
 */
export function cornerMayHoldStealthMagic(corner: PngCorner, pixels: number): boolean {
  return (['alpha', 'rgb'] as const).some((mode) => {
    const s = new LsbStream(corner.rgba, corner.cols, corner.width, corner.height, mode);
    if (s.remaining < MAGIC_BITS + 32) return false;
    const head = Buffer.from(s.bytes(Math.min(15, Math.floor((pixels * (mode === 'alpha' ? 1 : 3)) / 8)))).toString('latin1');
    return Object.entries(MAGICS).some(([magic, v]) => v.mode === mode && magic.startsWith(head));
  });
}

/** The decoded payload text and its variant, or undefined when the pixels carry no stealth magic. */
export function decodeStealthPngInfo(rgba: Uint8Array, width: number, height: number): { text: string; mode: 'alpha' | 'rgb'; compressed: boolean } | undefined {
  for (const mode of ['alpha', 'rgb'] as const) {
    const s = new LsbStream(rgba, width, width, height, mode);
    const magic = s.magic();
    if (!magic) continue;
    const lenBits = Buffer.from(s.bytes(4)).readUInt32BE(0);
    if (lenBits % 8 !== 0 || lenBits > s.remaining || lenBits / 8 > MAX_PAYLOAD_BYTES) continue;
    const payload = s.bytes(lenBits / 8);
    let text: string;
    try {
      text = (magic.compressed ? gunzipSync(payload, { maxOutputLength: MAX_PAYLOAD_BYTES }) : Buffer.from(payload)).toString('utf8');
    } catch {
      continue;
    }
    return { text, ...magic };
  }
  return undefined;
}

function pngHasAlpha(head: Uint8Array): boolean {
  // Signature (8) + IHDR length and type (8) + width, height, bit depth: colour type is byte 25.
  return head.length > 25 && (head[25] === 4 || head[25] === 6);
}

export const stealthPngInfoDetector: SignalDetector = {
  id: 'stealth-pnginfo',
  async detect(ctx): Promise<Finding[]> {
    if (ctx.format !== 'png' || !pngHasAlpha(await ctx.head(26))) return [];
    const png = await ctx.load();
    if (!png) return [];
    // Most RGBA PNGs carry no magic: the top-left corner says so without decoding the whole image,
    // mostly from its first 8 pixels (the "s" every magic starts with), else from the whole magic.
    const height = Math.max(1, u32be(png, 20));
    for (const pixels of [8, HEADER_PIXELS]) {
      const corner = pngCornerPixels(png, pixels, Math.ceil(pixels / height));
      if (!corner) break; // a layout the corner reader leaves to sharp
      if (!cornerMayHoldStealthMagic(corner, pixels)) return [];
    }
    let found: ReturnType<typeof decodeStealthPngInfo>;
    try {
      // sRGB with alpha: four channels whatever the PNG's colour type, as the LSB reader expects.
      const raw = await sharp(png, { limitInputPixels: 1 << 26 }).toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      found = decodeStealthPngInfo(raw.data, raw.info.width, raw.info.height);
    } catch {
      // Undecodable pixels: the container reader already vouched for the structure; no evidence here.
      return [];
    }
    if (!found) return [];
    const json = parseJsonObject(found.text);
    let generator = 'unknown';
    let model: string | undefined;
    if (json && (json['Software'] === 'NovelAI' || isNovelAiSettings(parseJsonObject(String(json['Comment'] ?? ''))))) {
      generator = 'NovelAI';
      model = brief(json['Source'], 80);
    } else {
      const settings = parseInfotextSettings(found.text);
      if (settings) {
        generator = 'AUTOMATIC1111';
        model = brief(settings['Model'], 80);
      }
    }
    return [signal('png:stealth-pnginfo', 'strong', { generator, mode: found.mode, compressed: found.compressed, ...(model ? { model } : {}) }, 'png:IDAT')];
  },
};
