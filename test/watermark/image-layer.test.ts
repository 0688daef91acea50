import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { BufferReader } from '../../src/core/source.js';
import { embedImageWatermarkBytes, keyFingerprint, watermarkFindings, watermarkImageStep } from '../../src/watermark/image-layer.js';
import { watermarkIdOf } from '../../src/watermark/payload.js';

const KEY = 'layer-key';

/** A textured test scene; `pages` > 1 makes an animation of distinct frames. */
async function scene(format: 'jpeg' | 'png' | 'webp' | 'gif', pages = 1): Promise<Uint8Array> {
  const w = 320;
  const h = 240;
  const frames = await Promise.all(
    Array.from({ length: pages }, (_, p) => {
      const raw = Buffer.alloc(w * h * 3);
      for (let i = 0; i < w * h; i++) {
        const x = i % w;
        const y = Math.floor(i / w);
        raw[i * 3] = (x * 3 + ((x * y) % 17) + p * 40) & 255;
        raw[i * 3 + 1] = (y * 2 + ((x ^ y) % 23)) & 255;
        raw[i * 3 + 2] = (128 + 60 * Math.sin(x / 9) * Math.cos(y / 7)) & 255;
      }
      return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    }),
  );
  const img = pages > 1 ? sharp(frames, { join: { animated: true } }) : sharp(frames[0]);
  const out = format === 'jpeg' ? img.jpeg({ quality: 92 }) : format === 'png' ? img.png() : format === 'webp' ? img.webp({ quality: 90 }) : img.gif();
  return out.toBuffer();
}

describe('image watermark layer', () => {
  it.each([
    ['jpeg', 1],
    ['png', 1],
    ['webp', 1],
    ['webp', 3],
  ] as const)('%s (%i frame(s)): embeds the content id, re-encodes in the same format, and is found', async (format, pages) => {
    const input = await scene(format, pages);
    const step = await watermarkImageStep(new BufferReader(input), format, 'content-123', KEY);
    if (!('reader' in step)) throw new Error(step.skipped);
    const out = step.reader.bytes();
    const meta = await sharp(out, { animated: true }).metadata();
    expect(meta.format).toBe(format === 'jpeg' ? 'jpeg' : format);
    expect(meta.pages ?? 1).toBe(pages);
    const findings = await watermarkFindings(new BufferReader(out), ['wrong', KEY]);
    expect(findings).toEqual([
      expect.objectContaining({ layer: 'watermark', kind: 'watermark:tamga', value: expect.objectContaining({ id: Buffer.from(watermarkIdOf('content-123')).toString('hex'), key: keyFingerprint(KEY) }) }),
    ]);
    expect(findings[0]!.confidence).toBeGreaterThan(0.999999);
    expect(await watermarkFindings(new BufferReader(input), [KEY])).toEqual([]);
  });

  it('skips GIF (palette) and images too small to carry the mark, with the reason', async () => {
    expect(await watermarkImageStep(new BufferReader(await scene('gif', 2)), 'gif', 'x', KEY)).toEqual({ skipped: expect.stringMatching(/palette/) });
    const tiny = await sharp({ create: { width: 100, height: 90, channels: 3, background: '#777' } }).png().toBuffer();
    expect(await watermarkImageStep(new BufferReader(tiny), 'png', 'x', KEY)).toEqual({ skipped: expect.stringMatching(/smaller than 128 px/) });
  });

  it('the id is the same for every medium and differs per content', () => {
    expect(Buffer.from(watermarkIdOf('a')).equals(Buffer.from(watermarkIdOf('a')))).toBe(true);
    expect(Buffer.from(watermarkIdOf('a')).equals(Buffer.from(watermarkIdOf('b')))).toBe(false);
    expect(keyFingerprint(KEY)).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('watermark through label() and detect()', () => {
  it('label with a watermarkKey writes the watermark layer before metadata; detect finds both', async () => {
    const input = await scene('jpeg');
    const r = await label(input, { contentId: 'api-content' }, { visible: false, watermarkKey: 'api-key-123' });
    expect(r.layers).toEqual(['watermark', 'metadata']);
    const d = await detect(r.data!, { watermarkKey: 'api-key-123', visible: false });
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'watermark:tamga', value: expect.objectContaining({ id: Buffer.from(watermarkIdOf('api-content')).toString('hex') }) }));
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:tamga' }));
    // Stripping the metadata (a re-encode) leaves the watermark.
    const stripped = await sharp(r.data!).jpeg({ quality: 70 }).toBuffer();
    const again = await detect(stripped, { watermarkKey: 'api-key-123', visible: false });
    expect(again.findings.map((f) => f.kind)).toEqual(['watermark:tamga']);
  });
});

describe('watermark embed keeps the image format', () => {
  it.each([
    ['RGB', 3],
    ['grey', 1],
    ['RGBA', 4],
  ] as const)('%s PNG stays %i channel(s), keeps its ICC profile and EXIF, and carries the mark', async (_name, channels) => {
    const w = 320;
    const h = 240;
    const raw = Buffer.alloc(w * h * channels);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < channels; c++) raw[i * channels + c] = c === 3 ? 255 : ((i % w) * (c + 2) + ((i * 7) % 31) + Math.floor(i / w)) & 255;
    const base = sharp(raw, { raw: { width: w, height: h, channels } });
    const input = await (channels === 1 ? base.toColourspace('b-w') : base)
      .withIccProfile(channels === 1 ? 'sgray' : 'p3')
      .withExif({ IFD0: { Artist: 'tamga test' } })
      .png()
      .toBuffer();
    const out = await embedImageWatermarkBytes(new BufferReader(input), 'png', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), KEY);
    expect((await sharp(input).metadata()).channels).toBe(channels);
    const m = await sharp(out).metadata();
    expect(m.channels).toBe(channels);
    expect(m.hasAlpha).toBe(channels === 4);
    expect(m.depth).toBe('uchar');
    // (libvips attaches no ICC profile to a one-channel PNG, so the grey case checks channels and EXIF.)
    const icc = (await sharp(input).metadata()).icc;
    expect(Boolean(icc)).toBe(channels > 1);
    expect(Buffer.compare(m.icc ?? Buffer.alloc(0), icc ?? Buffer.alloc(0))).toBe(0);
    expect(m.exif?.toString('latin1')).toContain('tamga test');
    const [hit] = await watermarkFindings(new BufferReader(out), [KEY]);
    expect((hit?.value as { id: string }).id).toBe('0102030405060708');
  });
});
