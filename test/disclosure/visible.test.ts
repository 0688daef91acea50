import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import type { DetectResult, LabelOptions } from '../../src/core/types.js';
import type { DisclosureLang } from '../../src/disclosure/catalogue.js';
import { matchDisclosures } from '../../src/disclosure/ocr.js';
import { visibleBadgeFindings, type BadgeFinding } from '../../src/disclosure/visible.js';
import { corpusFile, exiftoolJson, hasCorpus, hasExiftool, ROOT, tempDir } from '../helpers.js';

const tmp = tempDir('tamga-visible-');
afterAll(() => tmp.cleanup());

/** The attacks the badge must survive: JPEG q50, half size, and a "screenshot" (0.8x + JPEG q80). */
const ATTACKS: Record<string, (b: Uint8Array) => Promise<Buffer>> = {
  none: async (b) => Buffer.from(b),
  'jpeg q50': (b) => sharp(b).jpeg({ quality: 50 }).toBuffer(),
  'resize 0.5x': async (b) => {
    const m = await sharp(b).metadata();
    return sharp(b).resize(Math.round(m.width! / 2)).png().toBuffer();
  },
  screenshot: async (b) => {
    const m = await sharp(b).metadata();
    return sharp(b).resize(Math.round(m.width! * 0.8)).jpeg({ quality: 80 }).toBuffer();
  },
};

const badges = (d: DetectResult | { findings: DetectResult['findings'] }) => d.findings.filter((f) => f.kind === 'visible:tamga-badge').map((f) => f.value as BadgeFinding);

/** A photo when the corpus is there, else a synthetic one with texture and both light and dark areas. */
async function photo(): Promise<Buffer> {
  if (hasCorpus) return readFileSync(corpusFile('images/natural/kodim05.png'));
  const w = 768;
  const h = 512;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (x * (c + 1) + y * 3 + ((x * y) % 97)) & 255;
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

const solid = (w: number, h: number, background: string, fmt: 'png' | 'jpeg' = 'png') => sharp({ create: { width: w, height: h, channels: 3, background } })[fmt]().toBuffer();

async function labelled(input: Uint8Array, opts: LabelOptions): Promise<Uint8Array> {
  const r = await label(input, { generator: 'Test Model/1' }, opts);
  expect(r.layers).toEqual(['visible', 'metadata']);
  expect(r.skipped).toBeUndefined();
  return r.data!;
}

describe('every language on a photo is detected after JPEG q50, 0.5x and a screenshot', () => {
  const cases: [string, LabelOptions, DisclosureLang[]][] = [
    ['kk', { lang: ['kk'], position: 'bottom-left' }, ['kk']],
    ['ru', { lang: ['ru'], position: 'top-right' }, ['ru']],
    ['en', { lang: ['en'], position: 'top-left' }, ['en']],
    ['zh', { policy: 'cn', position: 'bottom' }, ['zh']],
    ['kk,ru (kz default)', {}, ['kk', 'ru']],
    ['all four', { lang: ['kk', 'ru', 'en', 'zh'], position: 'top' }, ['kk', 'ru', 'en', 'zh']],
    ['own text', { disclosureText: 'Synthetic image — made by a model', position: 'bottom-right' }, []],
  ];
  it.each(cases)('%s', async (_name, opts, langs) => {
    const out = await labelled(await photo(), opts);
    const position = opts.position ?? 'bottom-right';
    for (const [attack, run] of Object.entries(ATTACKS)) {
      const found = badges({ findings: await visibleBadgeFindings(await run(out)) });
      expect(found, attack).toEqual([expect.objectContaining({ position, langs, customText: langs.length === 0 })]);
    }
  });
});

describe('any image: light, dark, tiny, portrait, alpha, animated, huge', () => {
  it.each([
    ['light', '#f8f8f8'],
    ['dark', '#080808'],
    ['mid grey', '#808080'],
  ])('%s background: labelled and detected after the attacks', async (_n, bg) => {
    const out = await labelled(await solid(900, 600, bg, 'jpeg'), { lang: ['en', 'ru'] });
    expect((await sharp(out).metadata()).format).toBe('jpeg');
    for (const [attack, run] of Object.entries(ATTACKS)) expect(badges({ findings: await visibleBadgeFindings(await run(out)) }), attack).toHaveLength(1);
  });

  it('tiny 64x64 and narrow portrait images hold the whole badge and it is found', async () => {
    for (const [w, h] of [
      [64, 64],
      [120, 400],
    ] as const) {
      for (const lang of [['en'], ['kk', 'ru'], ['zh']]) {
        const out = await labelled(await solid(w, h, '#e0e0e0'), { lang });
        const m = await sharp(out).metadata();
        expect([m.width, m.height]).toEqual([w, h]);
        expect(badges(await detect(out)), `${w}x${h} ${lang}`).toEqual([expect.objectContaining({ langs: lang })]);
      }
    }
  });

  it('alpha: a transparent PNG keeps its alpha, the badge is opaque enough to read and is found', async () => {
    const input = await sharp({ create: { width: 600, height: 400, channels: 4, background: { r: 0, g: 120, b: 200, alpha: 0 } } }).png().toBuffer();
    const out = await labelled(input, { lang: ['en'] });
    const m = await sharp(out).metadata();
    expect(m.hasAlpha).toBe(true);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect(data[3]).toBe(0); // top-left corner still transparent
    expect(data[((info.height - 20) * info.width + info.width - 40) * 4 + 3]).toBeGreaterThan(200); // inside the badge
    expect(badges(await detect(out))).toHaveLength(1);
  });

  it.each(['gif', 'webp'] as const)('animated %s: the badge is on every frame, frames and timing are kept', async (fmt) => {
    const colours = ['#202020', '#f0f0f0', '#3070c0', '#c04020'];
    const frames = await Promise.all(colours.map((c) => solid(320, 240, c)));
    const input = await sharp(frames, { join: { animated: true } })
      [fmt]({ delay: [100, 200, 100, 300], loop: 0 })
      .toBuffer();
    const out = await labelled(input, { lang: ['kk', 'ru'] });
    const m = await sharp(out, { animated: true }).metadata();
    expect(m.format).toBe(fmt);
    expect(m.pages).toBe(colours.length);
    expect(m.pageHeight).toBe(240);
    expect(m.delay).toEqual([100, 200, 100, 300]);
    for (let page = 0; page < colours.length; page++) {
      const frame = await sharp(out, { page }).png().toBuffer();
      expect(badges({ findings: await visibleBadgeFindings(frame) }), `frame ${page}`).toEqual([expect.objectContaining({ langs: ['kk', 'ru'] })]);
    }
  });

  it.skipIf(!hasCorpus)('a real animated WebP (ComfyUI, 25 frames)', async () => {
    const out = await labelled(readFileSync(corpusFile('generators/comfyui-mochi-animated.webp')), { lang: ['en'] });
    const m = await sharp(out, { animated: true }).metadata();
    expect(m.pages).toBe(25);
    for (const page of [0, 12, 24]) expect(badges({ findings: await visibleBadgeFindings(await sharp(out, { page }).png().toBuffer()) })).toHaveLength(1);
  });

  it('huge 12000x12000 JPEG: labelled and detected (streamed by libvips, analysed downscaled)', { timeout: 120_000 }, async () => {
    const input = join(tmp.dir, 'huge.jpg');
    const output = join(tmp.dir, 'huge.labelled.jpg');
    await sharp({ create: { width: 12000, height: 12000, channels: 3, background: '#5a7d9a' } }).jpeg({ quality: 80 }).toFile(input);
    const r = await label(input, {}, { output, lang: ['kk', 'ru'] });
    expect(r.layers).toEqual(['visible', 'metadata']);
    const m = await sharp(output).metadata();
    expect([m.width, m.height]).toEqual([12000, 12000]);
    const d = await detect(output, { labelsOnly: true });
    expect(badges(d)).toEqual([expect.objectContaining({ langs: ['kk', 'ru'], position: 'bottom-right' })]);
    expect(badges(d)[0]!.seal.size).toBeGreaterThan(0.05 * 12000);
    expect(d.findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
  });
});

describe('the image adapter: visible, then metadata on the re-encoded file', () => {
  it.each(['jpg', 'png', 'webp', 'gif', 'tif'] as const)('%s: same format out, badge and label both found', async (ext) => {
    const input = join(ROOT, 'fixtures', 'demo', `sample.${ext}`);
    const output = join(tmp.dir, `adapter.${ext}`);
    const r = await label(input, { generator: 'Test Model/2' }, { output });
    expect(r.layers).toEqual(['visible', 'metadata']);
    expect(r.format).toBe((await detect(input)).format);
    const d = await detect(output);
    expect(d.format).toBe(r.format);
    expect(badges(d)).toEqual([expect.objectContaining({ langs: ['kk', 'ru'] })]);
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:tamga', value: expect.objectContaining({ contentId: r.provenance.contentId }) }));
    if (hasExiftool) {
      const x = exiftoolJson(output);
      expect(String(x['XMP-iptcExt:DigitalSourceType'])).toMatch(/trainedAlgorithmicMedia/);
      expect(x['ExifTool:Error']).toBeUndefined();
    }
  });

  it('bad pixels or a multi-page TIFF: a TamgaError, nothing half-written', async () => {
    const jpeg = readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.jpg'));
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    await expect(label(truncated, {}, {})).rejects.toMatchObject({ code: 'CORRUPT_INPUT' });
    const page = await solid(100, 80, '#808080');
    const multi = await sharp([page, page], { join: { animated: true } }).tiff().toBuffer();
    expect((await sharp(multi).metadata()).pages).toBe(2);
    const output = join(tmp.dir, 'multi.tif');
    await expect(label(multi, {}, { output })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect((await label(multi, {}, { visible: false })).layers).toEqual(['metadata']);
  });

  it('--no-visible keeps the lossless path: pixels identical, no badge found', async () => {
    const input = readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.jpg'));
    const r = await label(input, {}, { visible: false });
    expect(r.layers).toEqual(['metadata']);
    expect(Buffer.from(r.data!).subarray(-1000).equals(input.subarray(-1000))).toBe(true);
    expect(badges(await detect(r.data!))).toEqual([]);
  });

  it('detect with visible: false reads headers only and reports no badge', async () => {
    const out = await labelled(await photo(), {});
    expect(badges(await detect(out, { visible: false }))).toEqual([]);
    expect(badges(await detect(out))).toHaveLength(1);
  });
});

describe.skipIf(!hasCorpus)('no false findings on unlabelled photos', () => {
  it('corpus natural and camera images', async () => {
    const files = [
      ...readdirSync(corpusFile('images/natural')).map((f) => `images/natural/${f}`),
      ...readdirSync(corpusFile('camera')).map((f) => `camera/${f}`),
    ].filter((f) => /\.(png|jpe?g|gif|webp|tiff?)$/i.test(f));
    expect(files.length).toBeGreaterThan(25);
    for (const f of files) expect(badges({ findings: await visibleBadgeFindings(corpusFile(f)) }), f).toEqual([]);
  });
});

describe('renders without system fonts, and OCR reads it (offline)', () => {
  const hasUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;
  it('a child with an empty fontconfig renders the same badge; tesseract.js reads "AI-generated" with no network', { timeout: 120_000 }, async () => {
    const conf = join(tmp.dir, 'no-fonts.conf');
    writeFileSync(conf, '<?xml version="1.0"?>\n<fontconfig><dir>/nonexistent</dir><cachedir>/nonexistent</cachedir></fontconfig>\n');
    const src = join(tmp.dir, 'ocr-src.png');
    const dst = join(tmp.dir, 'ocr-badge.png');
    await sharp(await photo()).png().toFile(src);
    const script = `import { label } from ${JSON.stringify(join(ROOT, 'src', 'api.ts'))};
await label(${JSON.stringify(src)}, {}, { output: ${JSON.stringify(dst)}, lang: ['en'], visible: true, size: 6 });`;
    const renderScript = join(tmp.dir, 'render.mts');
    writeFileSync(renderScript, script);
    const child = spawnSync(process.execPath, ['--import', 'tsx', renderScript], {
      cwd: ROOT,
      env: { ...process.env, FONTCONFIG_FILE: conf, FONTCONFIG_PATH: tmp.dir },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    // Same pixels as a render in this process (which can see the system's fonts): no font was used.
    const here = await label(src, {}, { output: join(tmp.dir, 'ocr-here.png'), lang: ['en'], visible: true, size: 6 });
    const [a, b] = await Promise.all([sharp(dst).raw().toBuffer(), sharp(here.output!).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);

    // OCR in a child without any network (its own network namespace) when the machine allows it.
    const ocr = `import { detect } from ${JSON.stringify(join(ROOT, 'src', 'api.ts'))};
const d = await detect(${JSON.stringify(dst)}, { ocr: true, labelsOnly: true });
console.log(JSON.stringify(d.findings.filter((f) => f.layer === 'visible')));`;
    const ocrScript = join(tmp.dir, 'ocr.mts');
    writeFileSync(ocrScript, ocr);
    const args = ['--import', 'tsx', ocrScript];
    const run = hasUnshare ? spawnSync('unshare', ['-n', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8' }) : spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
    if (!hasUnshare) console.warn('[tamga tests] unshare -n not permitted: the OCR test ran with the network available');
    expect(run.status, run.stderr).toBe(0);
    const findings = JSON.parse(run.stdout.trim().split('\n').pop()!) as { kind: string; value: { phrase?: string } }[];
    expect(findings).toContainEqual(expect.objectContaining({ kind: 'visible:ocr-text', value: expect.objectContaining({ phrase: 'AI-generated' }) }));
    expect(findings).toContainEqual(expect.objectContaining({ kind: 'visible:tamga-badge' }));
  });

  it('the OCR matcher knows the common third-party phrasings and their OCR confusions', () => {
    const phrases = (t: string) => matchDisclosures(t).map((m) => m.phrase);
    for (const misread of ['Al-generated', 'At-generated', 'Atgenerated', 'A1 generated', 'AI generated']) expect(phrases(misread)).toEqual(['AI-generated']);
    expect(phrases('Made with AI')).toEqual(['Made with AI']);
    expect(phrases('Generated by AI')).toEqual(['Generated by AI']);
    expect(phrases('Создано ИИ')).toEqual(['Создано ИИ']);
    expect(phrases('AI生成')).toEqual(['AI生成']);
    expect(phrases('A fair day at the lake\nSaid with aid')).toEqual([]);
  });
});
