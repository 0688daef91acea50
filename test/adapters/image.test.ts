import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { detect, label, TamgaError } from '../../src/index.js';
import { IMAGE_CONTAINERS } from '../../src/adapters/image.js';
import { BufferReader } from '../../src/core/source.js';
import type { ImageFormat } from '../../src/core/types.js';
import { corpusFile, decodedPixels, exiftool, exiftoolJson, hasCorpus, hasExiftool, ROOT, tempDir } from '../helpers.js';

const TAM = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const demo = (f: string) => join(ROOT, 'fixtures', 'demo', f);
const SAMPLES: [string, string][] = [
  ['jpeg', demo('sample.jpg')],
  ['png', demo('sample.png')],
  ['webp', demo('sample.webp')],
  ['gif', demo('sample.gif')],
  ['tiff', demo('sample.tif')],
];
const CORPUS_SAMPLES: [string, string][] = [
  ['jpeg', 'camera/Canon_40D.jpg'],
  ['jpeg', 'camera/Nikon_D70.jpg'],
  ['jpeg', 'generators/automatic1111_cropped.jpg'],
  ['png', 'images/natural/kodim23.png'],
  ['png', 'generators/comfyui-lora-multiple.png'],
  ['png', 'generators/novelai1_cropped.png'],
  ['webp', 'generators/comfyui-mochi-animated.webp'],
];

let n = 0;
const out = (ext: string) => join(tmp.dir, `out-${n++}.${ext}`);

async function xmpCarriers(path: string): Promise<number> {
  const bytes = readFileSync(path);
  const format = (await detect(bytes)).format as ImageFormat;
  const meta = await IMAGE_CONTAINERS[format]!.read(new BufferReader(bytes));
  return meta.xmp ? 1 : 0;
}

async function roundTrip(format: string, input: string) {
  const output = out(format === 'jpeg' ? 'jpg' : format);
  const r = await label(input, { generator: 'Test Model/2.1', provider: 'Example AI LLP' }, { output, visible: false });
  expect(r).toMatchObject({ format, kind: 'image', layers: ['metadata'], output });
  expect(r.skipped).toBeUndefined();
  // Lossless: every decoded pixel (every frame) is the same.
  const [a, b] = await Promise.all([decodedPixels(input), decodedPixels(output)]);
  expect(b.width).toBe(a.width);
  expect(b.data.equals(a.data)).toBe(true);
  const d = await detect(output);
  expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:iptc-digital-source-type', value: expect.objectContaining({ uri: TAM }) }));
  expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:tamga', value: r.provenance }));
  expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:tc260-aigc', value: expect.objectContaining({ Label: '1' }) }));
  // exifr is a second, independent reader (it handles JPEG, PNG and TIFF, not WebP or GIF).
  if (format === 'jpeg' || format === 'png' || format === 'tiff') {
    const x = await exifr.parse(output, { xmp: true, tiff: true, mergeOutput: true });
    expect(x.DigitalSourceType).toBe(TAM);
    if (format !== 'png') expect(x.ImageDescription).toMatch(/Жасанды интеллект/);
  }
  if (hasExiftool) {
    const tags = exiftoolJson(output);
    expect(tags['XMP-iptcExt:DigitalSourceType']).toBe(TAM);
    expect(tags['XMP-iptcExt:AISystemUsed']).toBe('Test Model');
    if (format === 'jpeg' || format === 'tiff') expect(tags['IFD0:ImageDescription']).toMatch(/Жасанды интеллект/);
    expect(String(tags['ExifTool:Warning'] ?? '')).not.toMatch(/corrupt|CRC|error/i);
  }
  return { output, r };
}

describe('image adapter: lossless metadata label -> detect, every container', () => {
  it.each(SAMPLES)('%s sample', async (format, input) => {
    await roundTrip(format, input);
  });

  it.skipIf(!hasCorpus).each(CORPUS_SAMPLES)('%s corpus %s', async (format, rel) => {
    await roundTrip(format, corpusFile(rel));
  });

  it.each(SAMPLES)('%s: labelling twice gives one packet with the second label', async (_format, input) => {
    const first = out('x');
    const second = out('x');
    await label(input, {}, { output: first, visible: false });
    const r2 = await label(first, { contentId: 'second' }, { output: second, visible: false });
    expect(await xmpCarriers(second)).toBe(1);
    const d = await detect(second);
    expect(d.findings.filter((f) => f.kind === 'xmp:iptc-digital-source-type')).toHaveLength(1);
    expect(d.findings.find((f) => f.kind === 'xmp:tamga')?.value).toEqual(r2.provenance);
    if (hasExiftool) {
      const tags = exiftoolJson(second);
      expect(tags['XMP-tamga:ContentId'] ?? tags['XMP-tamga:contentId']).toBe('second');
      const lines = exiftool(['-a', '-G1', '-s', '-XMP-iptcExt:DigitalSourceType', second]).trim().split('\n');
      expect(lines).toHaveLength(1);
    }
  });
});

describe.skipIf(!hasExiftool)('interop with XMP that exiftool wrote first', () => {
  it.each(SAMPLES)('%s keeps the other properties', async (format, input) => {
    const pre = out(format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : format);
    copyFileSync(input, pre);
    exiftool(['-q', '-overwrite_original', '-XMP-dc:Creator=Jane Doe', '-XMP-photoshop:Credit=Example Agency', '-XMP-xmp:Rating=4', '-XMP-dc:Subject=steppe', pre]);
    const output = out('y');
    await label(pre, {}, { output, visible: false });
    const tags = exiftoolJson(output);
    expect(tags['XMP-dc:Creator']).toEqual(['Jane Doe']);
    expect(tags['XMP-photoshop:Credit']).toBe('Example Agency');
    expect(tags['XMP-xmp:Rating']).toBe(4);
    expect(tags['XMP-dc:Subject']).toEqual(['steppe']);
    expect(tags['XMP-iptcExt:DigitalSourceType']).toBe(TAM);
  });

  it.skipIf(!hasCorpus).each([
    ['DSCN0010.jpg', 'Nikon'],
    ['Panasonic_DMC-FZ30.jpg', 'Panasonic'],
    ['Fujifilm_FinePix_E500.jpg', 'FujiFilm'],
  ])('keeps every EXIF and maker-note tag of %s (only ImageDescription changes)', async (file, makerGroup) => {
    const input = corpusFile(`camera/${file}`);
    const output = out('jpg');
    await label(input, {}, { output, visible: false });
    const strip = (t: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(t).filter(([k]) => !/^(System|File|XMP-|ExifTool|IFD0:ImageDescription|Composite)/.test(k) && k !== 'SourceFile'));
    const before = strip(exiftoolJson(input, ['-n']));
    const after = strip(exiftoolJson(output, ['-n']));
    expect(Object.keys(before).filter((k) => k.startsWith(`${makerGroup}:`)).length).toBeGreaterThan(15);
    expect(after).toEqual(before);
  });
});

describe('third-party labels', () => {
  it.skipIf(!hasExiftool)('reads a DigitalSourceType that exiftool wrote', async () => {
    const p = out('png');
    copyFileSync(demo('sample.png'), p);
    exiftool(['-q', '-overwrite_original', `-XMP-iptcExt:DigitalSourceType=${TAM.replace('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')}`, p]);
    const d = await detect(p, { labelsOnly: true });
    expect(d.findings).toEqual([expect.objectContaining({ layer: 'metadata', kind: 'xmp:iptc-digital-source-type', value: expect.objectContaining({ class: 'ai-modified' }) })]);
  });

  it.skipIf(!hasCorpus)('reports raw PNG text chunks (A1111 parameters, ComfyUI prompt/workflow)', async () => {
    const a1111 = await detect(corpusFile('generators/automatic1111_cropped.png'));
    expect(a1111.findings).toContainEqual(expect.objectContaining({ kind: 'png:text', value: expect.objectContaining({ keyword: 'parameters', text: expect.stringMatching(/Steps: \d+, Sampler:/) }) }));
    const comfy = await detect(corpusFile('generators/comfyui-lora-multiple.png'));
    const keys = comfy.findings.filter((f) => f.kind === 'png:text').map((f) => (f.value as { keyword: string }).keyword);
    expect(keys).toEqual(expect.arrayContaining(['prompt', 'workflow']));
  });

  it.skipIf(!hasCorpus)('reads EXIF Make/Model/Software of camera files and A1111 UserComment', async () => {
    const cam = await detect(corpusFile('camera/Canon_40D.jpg'));
    expect(cam.findings).toContainEqual(expect.objectContaining({ kind: 'exif:make', value: 'Canon' }));
    const a1111 = await detect(corpusFile('generators/automatic1111_cropped.jpg'));
    expect(a1111.findings).toContainEqual(expect.objectContaining({ kind: 'exif:user-comment', value: expect.stringMatching(/Steps: \d+/) }));
  });

  it.skipIf(!hasCorpus)('reports a C2PA store and refuses to break it unless asked', async () => {
    const input = corpusFile('c2pa/C-algorithmic.jpg');
    const d = await detect(input);
    expect(d.findings).toContainEqual(expect.objectContaining({ layer: 'c2pa', kind: 'c2pa:manifest', value: expect.objectContaining({ validationState: 'untrusted' }) }));
    const dest = out('jpg');
    await expect(label(input, {}, { output: dest, visible: false })).rejects.toMatchObject({ code: 'C2PA_CONFLICT' });
    expect(existsSync(dest)).toBe(false);
    await label(input, {}, { output: dest, visible: false, onExistingC2pa: 'strip' });
    const after = await detect(dest);
    expect(after.findings.some((f) => f.layer === 'c2pa')).toBe(false);
    expect(after.findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
  });
});

describe('bad input: a TamgaError, and no output left behind', () => {
  const cases: [string, () => Buffer, string][] = [
    ['truncated JPEG (in the header)', () => readFileSync(demo('sample.jpg')).subarray(0, 300), 'CORRUPT_INPUT'],
    ['truncated JPEG (in the scan)', () => readFileSync(demo('sample.jpg')).subarray(0, 2000), 'CORRUPT_INPUT'],
    ['truncated PNG', () => readFileSync(demo('sample.png')).subarray(0, 5000), 'CORRUPT_INPUT'],
    ['truncated WebP', () => readFileSync(demo('sample.webp')).subarray(0, 900), 'CORRUPT_INPUT'],
    ['truncated GIF', () => readFileSync(demo('sample.gif')).subarray(0, 8000), 'CORRUPT_INPUT'],
    ['truncated TIFF', () => readFileSync(demo('sample.tif')).subarray(0, 100), 'CORRUPT_INPUT'],
    ['a ZIP named .jpg', () => Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00'), Buffer.alloc(200, 0x9c)]), 'UNSUPPORTED_FORMAT'],
    ['random bytes', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), 'UNSUPPORTED_FORMAT'],
    ['empty file', () => Buffer.alloc(0), 'CORRUPT_INPUT'],
  ];
  it.each(cases)('%s', async (_name, make, code) => {
    const input = join(tmp.dir, `bad-${n++}.jpg`);
    writeFileSync(input, make());
    const before = readFileSync(input);
    const dest = join(tmp.dir, `bad-out-${n++}.jpg`);
    const err = await label(input, {}, { output: dest, visible: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TamgaError);
    expect((err as TamgaError).code).toBe(code);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('tamga-tmp'))).toEqual([]);
    expect(readFileSync(input).equals(before)).toBe(true);
    await expect(detect(input)).rejects.toMatchObject({ code });
  });

  it('an AVIF (no container module yet): label refuses it, detect falls back to reading C2PA', async () => {
    const input = join(tmp.dir, `bad-${n++}.jpg`);
    writeFileSync(input, await sharp(readFileSync(demo('sample.png'))).avif().toBuffer());
    const dest = join(tmp.dir, `bad-out-${n++}.jpg`);
    await expect(label(input, {}, { output: dest, visible: false })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(existsSync(dest)).toBe(false);
    expect(await detect(input)).toMatchObject({ format: 'avif', kind: 'image', findings: [] });
  });

  it('a PNG with a .jpg extension is labelled as the PNG it is', async () => {
    const input = join(tmp.dir, 'really-a-png.jpg');
    copyFileSync(demo('sample.png'), input);
    const r = await label(input, {}, { output: out('jpg'), visible: false });
    expect(r.format).toBe('png');
  });

  it('refuses to overwrite the input without inPlace, and a missing file is READ_FAILED', async () => {
    const input = out('png');
    copyFileSync(demo('sample.png'), input);
    await expect(label(input, {}, { output: input })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(label(join(tmp.dir, 'nope.png'), {}, { output: out('png') })).rejects.toMatchObject({ code: 'READ_FAILED' });
  });

  it('rejects bad options naming the option', async () => {
    await expect(label(demo('sample.png'), { digitalSourceType: 'photo' as never }, { output: out('png') })).rejects.toThrow(/digitalSourceType/);
    await expect(label(demo('sample.png'), {}, { output: out('png'), policy: 'xx' as never })).rejects.toThrow(/policy/);
    await expect(label(demo('sample.png'), {}, { output: out('png'), lang: ['fr'] })).rejects.toThrow(/lang/);
  });
});

describe('API shapes', () => {
  it('labels a Buffer and returns the bytes; the input buffer is untouched', async () => {
    const input = readFileSync(demo('sample.webp'));
    const copy = Buffer.from(input);
    const r = await label(input, {}, { visible: false });
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(input.equals(copy)).toBe(true);
    expect((await detect(r.data!)).findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
  });

  it('in-place labelling replaces the file only with a verified result', async () => {
    const p = out('gif');
    copyFileSync(demo('sample.gif'), p);
    const r = await label(p, {}, { inPlace: true, visible: false });
    expect(r.output).toBe(p);
    expect((await detect(p)).findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
  });

  it('the kz policy asks for the visible layer: a kk+ru badge, then the metadata on the re-encoded PNG', async () => {
    const r = await label(readFileSync(demo('sample.png')), {}, {});
    expect(r.layers).toEqual(['visible', 'metadata']);
    expect(r.skipped).toBeUndefined();
    const d = await detect(r.data!);
    expect(d.format).toBe('png');
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'visible:tamga-badge', value: expect.objectContaining({ langs: ['kk', 'ru'] }) }));
    expect(d.findings).toContainEqual(expect.objectContaining({ kind: 'xmp:tamga', value: expect.objectContaining({ contentId: r.provenance.contentId }) }));
  });
});
