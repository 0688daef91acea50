/**
 * CI-sized fuzz run: a fixed number of mutated cases per target, deterministic seeds.
 * The long run is `npm run fuzz -- --minutes N` (test/fuzz/run.ts).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { TamgaError } from '../../src/core/errors.js';
import { readTamgaProvenance, parseXmp } from '../../src/metadata/xmp.js';
import { fuzzTargets, mutate, Rand, runCase, type FuzzTarget } from './engine.js';

/** Per target; the slow ones (PDF through pdf.js/pdf-lib, multi-MB structured mutations) get fewer. */
const CASES_PER_TARGET = Number(process.env.TAMGA_FUZZ_CASES ?? 150);
const casesFor = (name: string) => (/pdf|matroska|webm|mkv|text|isobmff|m4a|mp4|mov|differential/.test(name) ? Math.ceil(CASES_PER_TARGET / 5) : CASES_PER_TARGET);
let targets: FuzzTarget[] = [];
beforeAll(async () => {
  targets = await fuzzTargets();
}, 60_000);

describe('fuzz: mutated inputs end in a result or a TamgaError', () => {
  it('covers every parser in src/formats and every adapter\'s detect and label', () => {
    const names = targets.map((t) => t.name);
    for (const f of ['jpeg', 'png', 'webp', 'tiff', 'gif']) {
      expect(names).toContain(`formats/${f}: read + planWrite`);
      expect(names).toContain(`detect: ${f}`);
      expect(names).toContain(`label: ${f}`);
    }
    expect(names).toContain('metadata/xmp: parse + merge');
    // Audio and video: each container module, through detect and the metadata-only label.
    for (const [container, f] of [['id3', 'mp3'], ['wav', 'wav'], ['flac', 'flac'], ['ogg', 'ogg'], ['isobmff', 'm4a'], ['isobmff', 'mp4'], ['isobmff', 'mov'], ['matroska', 'webm'], ['matroska', 'mkv']]) {
      expect(names).toContain(`formats/${container} (${f}): read + planWrite`);
      expect(names).toContain(`detect: ${f}`);
      expect(names).toContain(`label (metadata): ${f}`);
    }
    for (const n of ['formats/pdf: tail + incremental update', 'formats/pdf-fonts: font runs', 'detect: pdf', 'label: pdf']) expect(names).toContain(n);
    for (const f of ['plain', 'markdown', 'html', 'srt', 'vtt', 'json']) {
      expect(names).toContain(`formats/text (${f}): labeller`);
      expect(names).toContain(`detect: text (${f})`);
      expect(names).toContain(`label: text (${f})`);
    }
  });

  it('runs every target without a crash or a hang', { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    for (const [i, t] of targets.entries()) {
      const r = new Rand(0x7a3c + i);
      for (let n = 0; n < casesFor(t.name); n++) {
        const { input, steps } = mutate(t, r);
        const res = await runCase(t, input, 5000);
        if (!res.ok) failures.push(`${t.name} [${steps.join(' > ')}] ${res.kind}: ${res.message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('properties (fast-check)', () => {
  it('detect() of arbitrary bytes returns or throws a TamgaError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        try {
          await detect(bytes);
        } catch (e) {
          if (!(e instanceof TamgaError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary image-magic prefixes with random tails never crash the parsers', async () => {
    const magics = [
      [0xff, 0xd8, 0xff],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      [...Buffer.from('GIF89a')],
      [...Buffer.from('II*\0')],
      [...Buffer.from('MM\0*')],
      [...Buffer.from('RIFF')],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 512 }), async (magic, tail) => {
        const input = Buffer.concat([Buffer.from(magic), magic[0] === 0x52 ? Buffer.from('\x10\0\0\0WEBP') : Buffer.alloc(0), tail]);
        try {
          await detect(input);
          await label(input, {}, { visible: false });
        } catch (e) {
          if (!(e instanceof TamgaError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('any provenance text survives label -> detect exactly (XML escaping, Unicode)', async () => {
    const png = await label((await import('node:fs')).readFileSync(new URL('../../fixtures/demo/sample.png', import.meta.url)), {}, { visible: false });
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0 && !/[\u0000-\u001f]/.test(s));
    await fc.assert(
      fc.asyncProperty(text, text, async (provider, model) => {
        const r = await label(png.data!, { provider, model }, { visible: false });
        const d = await detect(r.data!);
        const prov = d.findings.find((f) => f.kind === 'xmp:tamga')?.value as { provider?: string; model?: string };
        expect(prov.provider).toBe(provider.trim());
        expect(prov.model).toBe(model.trim());
      }),
      { numRuns: 60 },
    );
  });

  it('deeply nested and huge XMP are refused within bounds', () => {
    const nest = (depth: number) =>
      Buffer.from(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description>${'<a:b xmlns:a="urn:a">'.repeat(depth)}${'</a:b>'.repeat(depth)}</rdf:Description></rdf:RDF></x:xmpmeta>`);
    expect(() => parseXmp(nest(10_000))).toThrow(TamgaError);
    expect(readTamgaProvenance(parseXmp(nest(10)))).toBeUndefined();
    const wide = Buffer.from(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description>${'<a:b xmlns:a="urn:a"/>'.repeat(300_000)}</rdf:Description></rdf:RDF></x:xmpmeta>`);
    expect(() => parseXmp(wide)).toThrow(/nodes/);
  });
});
