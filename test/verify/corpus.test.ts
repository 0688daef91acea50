import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTamgaError } from '../../src/core/errors.js';
import { label } from '../../src/index.js';
import { verify } from '../../src/verify/index.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { CORPUS, corpusFile, hasCorpus, tempDir } from '../helpers.js';

interface CorpusEntry {
  file: string;
  format: string;
  synthetic: boolean | 'unknown';
  signals: string[];
  has_c2pa: boolean;
}

const AI_TERMS = ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'compositeSynthetic'];
/** corpus.json signal names -> the evidence kind our detectors must report for them. */
const EVIDENCE_FOR_SIGNAL: Record<string, string> = {
  'a1111-parameters': 'png:a1111-parameters',
  'a1111-parameters-exif-usercomment': 'exif:a1111-parameters',
  'a1111-stealth-pnginfo': 'png:stealth-pnginfo',
  'fooocus-parameters': 'png:fooocus-parameters',
  'invokeai-dream': 'png:invokeai-dream',
  'invokeai-sd-metadata': 'png:invokeai-sd-metadata',
  'invokeai-metadata': 'png:invokeai-metadata',
  novelai: 'png:novelai-parameters',
  'comfyui-prompt': 'png:comfyui-prompt',
  'comfyui-workflow': 'png:comfyui-workflow',
  'comfyui-workflow-exif': 'exif:comfyui-workflow',
  'iptc-digital-source-type': 'xmp:ai-digital-source-type',
  'xmp-photoshop-credit': 'xmp:generator-string',
  ...Object.fromEntries(AI_TERMS.map((t) => [`c2pa:${t}`, 'c2pa:ai-digital-source-type'])),
};

/**
 * The verdict corpus.json implies under the kz policy (visible + machine-readable): tampered
 * manifests are invalid; synthetic files with an AI claim in XMP or C2PA lack only the visible
 * layer; other synthetic files lack both; the rest (real photos, `unknown` ones: algorithmicMedia
 * is not AI under IPTC, the ComfyUI input pose has no metadata) are not-synthetic.
 */
function expectedUnderKz(e: CorpusEntry): { verdict: FileVerdict['verdict']; missing: string[] } {
  if (e.signals.includes('c2pa:invalid')) return { verdict: 'invalid', missing: [] };
  if (e.synthetic !== true) return { verdict: 'not-synthetic', missing: [] };
  const claims = e.signals.some((s) => s === 'iptc-digital-source-type' || AI_TERMS.some((t) => s === `c2pa:${t}`));
  return claims ? { verdict: 'partially-labelled', missing: ['visible'] } : { verdict: 'unlabelled', missing: ['visible', 'machine-readable'] };
}

const entries: CorpusEntry[] = hasCorpus ? (JSON.parse(readFileSync(corpusFile('corpus.json'), 'utf8')) as { files: CorpusEntry[] }).files : [];
/** The Kodak photographs (images/natural/SOURCES.md: no AI label, no AI signal). */
const natural = hasCorpus ? readdirSync(`${CORPUS}/images/natural`).filter((f) => f.endsWith('.png')) : [];

describe.skipIf(!hasCorpus)('verdicts on ../shared/corpus match corpus.json (policy kz)', async () => {
  const results = new Map<string, FileVerdict>();
  for (const e of entries) results.set(e.file, await verify(corpusFile(e.file), { visible: false }));
  // A file is out of reach when no reader in this checkout handles its format, or its C2PA store is not read yet.
  const unreachable = entries.filter((e) => {
    const v = results.get(e.file)!;
    return v.error?.code === 'UNSUPPORTED_FORMAT' || (e.has_c2pa && !v.labels.some((f) => f.kind === 'c2pa:manifest'));
  });
  if (unreachable.length) console.warn(`[tamga tests] corpus files no reader here reaches yet (verdict not checked): ${unreachable.map((e) => e.file).join(', ')}`);

  it.each(entries.filter((e) => !unreachable.includes(e)).map((e) => [e.file, e] as const))('%s', (_file, e) => {
    const v = results.get(e.file)!;
    const want = expectedUnderKz(e);
    expect({ verdict: v.verdict, missing: v.missing }, JSON.stringify(v.evidence.map((x) => x.kind))).toEqual(want);
    for (const s of e.signals) {
      const kind = EVIDENCE_FOR_SIGNAL[s];
      if (kind) expect(v.evidence.map((x) => x.kind), s).toContain(kind);
    }
    if (want.verdict === 'not-synthetic') expect(v.evidence).toEqual([]);
  });

  it('reaches every image file (only non-image formats may wait for their adapters)', () => {
    expect(unreachable.filter((e) => ['png', 'jpeg', 'webp', 'gif', 'tiff', 'dng'].includes(e.format)).map((e) => e.file)).toEqual([]);
  });

  it.each(natural)('images/natural/%s is not-synthetic', async (f) => {
    const v = await verify(corpusFile(`images/natural/${f}`), { visible: false });
    expect(v.verdict).toBe('not-synthetic');
    expect(v.evidence).toEqual([]);
  });
});

describe.skipIf(!hasCorpus)('a labelled copy of the corpus images verifies as labelled (policy kz)', async () => {
  const tmp = tempDir('tamga-verify-corpus-');
  afterAll(() => tmp.cleanup());
  const sources = entries.filter((e) => !e.has_c2pa && e.file.startsWith('camera/')).map((e) => e.file).concat(natural.slice(0, 3).map((f) => `images/natural/${f}`));
  const outcomes: [file: string, layers: string[] | undefined][] = [];
  for (const f of sources) {
    const out = join(tmp.dir, f.replaceAll('/', '_'));
    try {
      const r = await label(corpusFile(f), { provider: 'Example AI LLP', generator: 'Kandinsky/3.1' }, { output: out, visible: true });
      outcomes.push([f, r.layers]);
    } catch (e) {
      // A format whose adapter cannot write yet: verified below that it is only those.
      if (!isTamgaError(e) || e.code !== 'UNSUPPORTED_FORMAT') throw e;
      outcomes.push([f, undefined]);
    }
  }
  const skipped = outcomes.filter(([, l]) => !l).map(([f]) => f);
  if (skipped.length) console.warn(`[tamga tests] not labelled (no writer for the format yet): ${skipped.join(', ')}`);

  it.each(outcomes.filter(([, l]) => l))('%s', async (f, layers) => {
    const v = await verify(join(tmp.dir, f.replaceAll('/', '_')));
    const missing = layers!.includes('visible') ? [] : ['visible'];
    expect({ verdict: v.verdict, missing: v.missing }).toEqual({ verdict: missing.length ? 'partially-labelled' : 'labelled', missing });
  });
});
