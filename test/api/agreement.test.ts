import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { TamgaError } from '../../src/core/errors.js';
import type { LabelOptions, Policy } from '../../src/core/types.js';
import { makeDevChain, type DevChain } from '../../src/metadata/c2pa-devcert.js';
import { verify } from '../../src/verify/index.js';
import { makeAvFixture } from '../../fixtures/make-av.js';
import { runFfmpeg } from '../../src/media/ffmpeg.js';
import { tempDir } from '../helpers.js';

/**
 * The agreement matrix (issue 18, rule 3): every format tamga labels x every policy x the default
 * and the explicit layers. `label --policy P` either writes a file `scan --policy P` (verify with
 * the same policy and watermark key) rates `labelled`, or refuses before writing anything with a
 * typed error naming what is missing. EXPECTED is the spec, mirrored in README "Policies and
 * layers".
 */

const KEY = 'agreement-matrix-key';
const NAMED = { provider: 'Example AI LLP', generator: { name: 'Model', version: '1' } };
type Variant = 'defaults' | 'named' | 'keyed' | 'signed';
type Outcome = 'labelled' | 'POLICY_UNMET' | 'UNSUPPORTED_LAYER' | 'INVALID_OPTION';
const POLICIES: Policy[] = ['kz', 'eu', 'cn', 'ca'];
const VARIANTS: Variant[] = ['defaults', 'named', 'keyed', 'signed'];

/** One letter per variant (defaults, named provider+generator, + watermark key, + C2PA): L labelled, P POLICY_UNMET, U UNSUPPORTED_LAYER, N nothing to write (INVALID_OPTION). */
const EXPECTED: Record<string, Record<Policy, string>> = {
  jpeg: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  png: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  webp: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  tiff: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  gif: { kz: 'LLUL', eu: 'PPUL', cn: 'PLUL', ca: 'PLUL' },
  mp3: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  wav: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  flac: { kz: 'LLLU', eu: 'PPLU', cn: 'PLLU', ca: 'PLLU' },
  opus: { kz: 'LLLU', eu: 'PPLU', cn: 'PLLU', ca: 'PLLU' },
  m4a: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  mp4: { kz: 'LLLL', eu: 'PPLL', cn: 'PLLL', ca: 'PLLL' },
  mkv: { kz: 'LLLU', eu: 'PPLU', cn: 'PLLU', ca: 'PLLU' },
  pdf: { kz: 'LLUU', eu: 'LLUU', cn: 'PLUU', ca: 'PLUU' },
  txt: { kz: 'PPLU', eu: 'PPLU', cn: 'PPPU', ca: 'NNLU' },
  md: { kz: 'LLLU', eu: 'LLLU', cn: 'PLLU', ca: 'LLLU' },
  html: { kz: 'LLLU', eu: 'LLLU', cn: 'PLLU', ca: 'LLLU' },
  json: { kz: 'PPLU', eu: 'PPLU', cn: 'PPPU', ca: 'NNLU' },
};

const tmp = tempDir('tamga-agreement-');
let chain: DevChain;
const files: Record<string, string> = {};

async function image(format: 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif'): Promise<string> {
  const raw = Buffer.alloc(256 * 256 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + ((i / 768) | 0) * 3) & 0xff;
  const path = join(tmp.dir, `in.${format === 'jpeg' ? 'jpg' : format}`);
  await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } })
    .toFormat(format)
    .toFile(path);
  return path;
}

async function pdf(): Promise<string> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage([400, 300]).drawText('Quarterly notes', { x: 40, y: 200, size: 14, font });
  const path = join(tmp.dir, 'in.pdf');
  writeFileSync(path, await doc.save());
  return path;
}

/** 2 s of testsrc at 256x144 (the watermark needs a 128 px short side) with a tone. */
async function video(name: string, args: string[]): Promise<string> {
  const path = join(tmp.dir, name);
  await runFfmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=256x144:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2', '-map', '0:v', '-map', '1:a', ...args, path]);
  return path;
}

function text(name: string, body: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, body);
  return path;
}

const PROSE = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} says something about the quarterly numbers and the weather.`).join(' ');

beforeAll(async () => {
  chain = await makeDevChain();
  for (const f of ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const) files[f] = await image(f);
  files['pdf'] = await pdf();
  files['txt'] = text('in.txt', `${PROSE}\n`);
  files['md'] = text('in.md', `# Notes\n\n${PROSE}\n`);
  files['html'] = text('in.html', `<!doctype html><html><head><title>Notes</title></head><body><p>${PROSE}</p></body></html>\n`);
  files['json'] = text('in.json', JSON.stringify({ choices: [{ message: { content: PROSE } }] }));
  const av = [
    { name: 'in.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '96k'] },
    { name: 'in.wav', args: ['-c:a', 'pcm_s16le'] },
    { name: 'in.flac', args: ['-c:a', 'flac'] },
    { name: 'in.opus', args: ['-c:a', 'libopus', '-b:a', '48k'] },
    { name: 'in.m4a', args: ['-c:a', 'aac', '-b:a', '96k'] },
    { name: 'in.mp4', video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart'] },
    { name: 'in.mkv', video: true, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] },
  ];
  for (const f of av) files[f.name.slice(3)] = f.video ? await video(f.name, f.args) : await makeAvFixture(tmp.dir, { ...f, seconds: 11 });
}, 120_000);
afterAll(() => tmp.cleanup());

function optionsOf(policy: Policy, variant: Variant): { provenance: object; opts: LabelOptions } {
  const provenance = variant === 'defaults' ? {} : NAMED;
  const opts: LabelOptions = { policy };
  if (variant === 'keyed') opts.watermarkKey = KEY;
  if (variant === 'signed') opts.c2pa = { cert: chain.chainPem, key: chain.keyPem };
  return { provenance, opts };
}

async function outcome(format: string, policy: Policy, variant: Variant): Promise<Outcome> {
  // (TamgaError codes this matrix accepts as a refusal.)
  const out = join(tmp.dir, `out-${policy}-${variant}.${format}`);
  const { provenance, opts } = optionsOf(policy, variant);
  try {
    await label(files[format]!, provenance, { ...opts, output: out });
  } catch (e) {
    if (!(e instanceof TamgaError) || !['POLICY_UNMET', 'UNSUPPORTED_LAYER', 'INVALID_OPTION'].includes(e.code)) throw e;
    if (e.code === 'INVALID_OPTION') expect(e.message).toMatch(/nothing to write/);
    // Refused before writing: no output, and the message says what is missing.
    expect(existsSync(out)).toBe(false);
    if (e.code === 'POLICY_UNMET') expect(e.message).toMatch(/give |cannot carry/);
    return e.code as Outcome;
  }
  const v = await verify(out, { policy, watermarkKey: KEY });
  expect({ format, policy, variant, verdict: v.verdict, missing: v.missing }).toEqual({ format, policy, variant, verdict: 'labelled', missing: [] });
  return 'labelled';
}

const letter = (o: Outcome) => ({ labelled: 'L', POLICY_UNMET: 'P', UNSUPPORTED_LAYER: 'U', INVALID_OPTION: 'N' })[o];
const results: Record<string, Partial<Record<Policy, string>>> = {};

describe('label --policy P and scan --policy P agree', () => {
  const formats = ['jpeg', 'png', 'webp', 'tiff', 'gif', 'mp3', 'wav', 'flac', 'opus', 'm4a', 'mp4', 'mkv', 'pdf', 'txt', 'md', 'html', 'json'];
  it.each(formats)('%s: every policy, default and explicit layers', async (format) => {
    const row: Partial<Record<Policy, string>> = {};
    for (const policy of POLICIES) {
      let cell = '';
      for (const variant of VARIANTS) cell += letter(await outcome(format, policy, variant));
      row[policy] = cell;
    }
    results[format] = row;
    expect(row).toEqual(EXPECTED[format]);
  }, 240_000);

  afterAll(() => {
    // The table README "Policies and layers" documents (printed for review when it changes).
    if (process.env['TAMGA_PRINT_MATRIX']) console.log(JSON.stringify(results));
  });
});

describe('the pipeline decides for every medium', () => {
  it('an image, a PDF and a text file with every layer off all refuse: nothing to write', async () => {
    for (const f of ['png', 'pdf', 'md', 'wav']) {
      await expect(label(files[f]!, {}, { visible: false, metadata: false, output: join(tmp.dir, `none.${f}`) })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/nothing to write/) });
      expect(existsSync(join(tmp.dir, `none.${f}`))).toBe(false);
    }
  });

  it('an explicit layer the medium cannot carry is UNSUPPORTED_LAYER naming it; a default one is skipped with the reason', async () => {
    await expect(label(files['pdf']!, {}, { watermarkKey: KEY, output: join(tmp.dir, 'wm.pdf') })).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', details: { layer: 'watermark' } });
    await expect(label(files['md']!, {}, { c2pa: { cert: chain.chainPem, key: chain.keyPem }, output: join(tmp.dir, 'c2pa.md') })).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', message: expect.stringMatching(/c2pa/) });
    await expect(label(files['txt']!, {}, { metadata: true, output: join(tmp.dir, 'meta.txt') })).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', details: { layer: 'metadata' } });
    const r = await label(files['txt']!, {}, { output: join(tmp.dir, 'default.txt') });
    expect(r.layers).toEqual(['visible']);
    expect(r.skipped).toEqual([{ layer: 'metadata', reason: expect.stringMatching(/no metadata carrier/) }]);
  });

  it('badge and watermark in one pass (one decode, one encode): badge, mark and metadata all read back', async () => {
    for (const f of ['jpeg', 'png', 'webp']) {
      const r = await label(files[f]!, { contentId: `one-pass-${f}` }, { visible: true, watermarkKey: KEY, output: join(tmp.dir, `one-pass.${f}`) });
      expect(r.layers).toEqual(['visible', 'watermark', 'metadata']);
      const d = await detect(join(tmp.dir, `one-pass.${f}`), { watermarkKey: KEY });
      const kinds = d.findings.map((x) => x.kind);
      expect(kinds).toEqual(expect.arrayContaining(['visible:tamga-badge', 'watermark:tamga', 'xmp:tamga']));
    }
  });

  it('audio that takes the cue and the watermark is decoded and encoded once: cue, mark and metadata all read back', { timeout: 60_000 }, async () => {
    for (const f of ['wav', 'mp3']) {
      const out = join(tmp.dir, `one-pass.${f}`);
      const r = await label(files[f]!, { contentId: `one-pass-${f}` }, { visible: true, watermarkKey: KEY, output: out });
      expect(r.layers).toEqual(['visible', 'watermark', 'metadata']);
      const kinds = (await detect(out, { watermarkKey: KEY })).findings.map((x) => x.kind);
      expect(kinds).toEqual(expect.arrayContaining(['audio:tamga-cue', 'watermark:tamga', 'xmp:tamga']));
    }
  });

  it('one C2PA-conflict check and one wording for images and audio', async () => {
    const c2pa = { cert: chain.chainPem, key: chain.keyPem };
    const messages: string[] = [];
    for (const f of ['png', 'wav']) {
      const signed = join(tmp.dir, `signed.${f}`);
      await label(files[f]!, {}, { visible: false, c2pa, output: signed });
      const e = await label(signed, {}, { visible: false, output: join(tmp.dir, `again.${f}`) }).catch((x: unknown) => x as TamgaError);
      expect(e).toMatchObject({ code: 'C2PA_CONFLICT' });
      messages.push((e as TamgaError).message.replace(/^.*?: carries/, 'carries').replace(/\(.*?\)/, '(where)'));
    }
    expect(messages[0]).toBe(messages[1]);
    expect(messages[0]).toMatch(/writing the metadata layer would break its hash binding. Use onExistingC2pa 'strip' \(--on-c2pa strip\)/);
  });
});
