import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, LabelResult, Policy } from '../../src/core/types.js';
import { label } from '../../src/index.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { POLICY_DEFINITIONS, verify } from '../../src/verify/index.js';
import { decideVerdict } from '../../src/verify/verdict.js';
import { buildPngXmpChunk } from '../../src/formats/png.js';
import { ROOT, tempDir } from '../helpers.js';
import { pngWithText } from './make.js';

const DEMO = join(ROOT, 'fixtures', 'demo');
const demoFiles = readdirSync(DEMO).filter((f) => /\.(jpe?g|png|webp|gif|tiff?)$/.test(f));
const POLICIES: Policy[] = ['kz', 'eu', 'cn', 'ca'];

/** Which requirement ids a labelled file can satisfy, given the layers label() reports it wrote. */
function expectedMissing(policy: Policy, layers: LabelResult['layers']): string[] {
  const has = (l: string) => layers.includes(l as LabelResult['layers'][number]);
  const missing: Record<Policy, string[]> = {
    kz: [...(has('visible') ? [] : ['visible']), ...(has('metadata') || has('c2pa') ? [] : ['machine-readable'])],
    eu: [...(has('metadata') || has('c2pa') ? [] : ['machine-readable']), ...(has('c2pa') || has('watermark') ? [] : ['detectable'])],
    cn: [...(has('visible') ? [] : ['explicit']), ...(has('metadata') ? [] : ['implicit'])],
    ca: has('metadata') || has('c2pa') ? [] : ['latent'],
  };
  return missing[policy];
}

describe('a labelled copy of the demo fixtures verifies as labelled', () => {
  const tmp = tempDir('tamga-verify-');
  const results = new Map<string, LabelResult>();
  beforeAll(async () => {
    const chain = await makeDevChain();
    for (const f of demoFiles) {
      // Every layer tamga writes: the badge (visible), metadata with provider and system (TC260 fields, SB 942 latent fields), signed C2PA.
      const r = await label(join(DEMO, f), { provider: 'Example AI LLP', generator: 'Kandinsky/3.1' }, { output: join(tmp.dir, f), visible: true, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
      results.set(f, r);
    }
  });
  afterAll(() => tmp.cleanup());

  it.each(demoFiles.flatMap((f) => POLICIES.map((p) => [f, p] as const)))('%s under %s', async (f, policy) => {
    const r = results.get(f)!;
    const v = await verify(join(tmp.dir, f), { policy });
    const missing = expectedMissing(policy, r.layers);
    expect({ verdict: v.verdict, missing: v.missing }).toEqual({ verdict: missing.length ? 'partially-labelled' : 'labelled', missing });
    expect(v.synthetic?.grade).toBe(r.layers.includes('c2pa') ? 'hard' : 'strong');
  });

  it.each(demoFiles)('the unlabelled original %s is not-synthetic', async (f) => {
    const v = await verify(join(DEMO, f));
    expect(v.verdict).toBe('not-synthetic');
  });

  it('metadata only (no badge, no C2PA): kz lacks the visible layer, eu the detectable one, ca is satisfied', async () => {
    const r = await label(join(DEMO, 'sample.png'), { provider: 'Example AI LLP', generator: 'Kandinsky/3.1' }, { output: join(tmp.dir, 'meta-only.png'), visible: false });
    expect(r.layers).toEqual(['metadata']);
    const file = join(tmp.dir, 'meta-only.png');
    expect(await verify(file, { policy: 'kz' })).toMatchObject({ verdict: 'partially-labelled', missing: ['visible'] });
    expect(await verify(file, { policy: 'eu' })).toMatchObject({ verdict: 'partially-labelled', missing: ['detectable'] });
    expect(await verify(file, { policy: 'eu', deepfake: true })).toMatchObject({ verdict: 'partially-labelled', missing: ['detectable', 'visible'] });
    expect(await verify(file, { policy: 'cn' })).toMatchObject({ verdict: 'partially-labelled', missing: ['explicit'] });
    expect(await verify(file, { policy: 'ca' })).toMatchObject({ verdict: 'labelled', missing: [] });
  });

  it("tamga's keyed watermark: with the key it is hard evidence and satisfies eu's detectable, also after the metadata is stripped", async () => {
    const key = 'correct horse battery staple';
    const file = join(tmp.dir, 'watermarked.png');
    const r = await label(join(DEMO, 'sample.png'), { provider: 'Example AI LLP', generator: 'Kandinsky/3.1' }, { output: file, visible: false, watermarkKey: key });
    expect(r.layers).toContain('watermark');
    expect(await verify(file, { policy: 'eu', visible: false })).toMatchObject({ verdict: 'partially-labelled', missing: ['detectable'] });
    expect(await verify(file, { policy: 'eu', visible: false, watermarkKey: 'some other key' })).toMatchObject({ missing: ['detectable'] });
    const withKey = await verify(file, { policy: 'eu', visible: false, watermarkKey: key });
    expect(withKey).toMatchObject({ verdict: 'labelled', missing: [], synthetic: { grade: 'hard' } });
    expect(withKey.evidence[0]?.kind).toBe('tamga:watermark');
    // A lossless re-encode drops every metadata chunk; the pixels, and so the watermark, stay.
    const stripped = await sharp(file).png().toBuffer();
    expect(await verify(stripped, { policy: 'kz', visible: false })).toMatchObject({ verdict: 'not-synthetic' });
    expect(await verify(stripped, { policy: 'kz', visible: false, watermarkKey: key })).toMatchObject({ verdict: 'partially-labelled', missing: ['visible'], synthetic: { grade: 'hard' } });
  });

  it('ca names the latent-disclosure fields a label lacks', async () => {
    await label(join(DEMO, 'sample.png'), {}, { output: join(tmp.dir, 'no-provider.png'), visible: false });
    const v = await verify(join(tmp.dir, 'no-provider.png'), { policy: 'ca' });
    expect(v).toMatchObject({ verdict: 'unlabelled', missing: ['latent'] });
    expect(v.requirements.find((r) => r.id === 'latent')?.missingFields).toEqual(['provider', 'system']);
  });
});

describe('verdict rules', () => {
  const ai: Finding = { layer: 'signal', kind: 'png:a1111-parameters', value: { grade: 'strong', generator: 'AUTOMATIC1111' }, confidence: 0.8 };
  const weak: Finding = { layer: 'signal', kind: 'exif:generator-string', value: { grade: 'weak', generator: 'SDXL' }, confidence: 0.4 };
  const kz = POLICY_DEFINITIONS.kz;

  it('a malformed XMP packet or a TC260 field that is not JSON makes the label invalid', () => {
    const malformed: Finding = { layer: 'metadata', kind: 'xmp:malformed', value: 'DOCTYPE refused', confidence: 1 };
    expect(decideVerdict([malformed], [ai], kz, 'image', {})).toMatchObject({ verdict: 'invalid', problems: ['xmp:malformed: DOCTYPE refused'] });
    const tc260: Finding = { layer: 'metadata', kind: 'xmp:tc260-aigc', value: { raw: 'Label=1' }, confidence: 0.5 };
    expect(decideVerdict([tc260], [], kz, 'image', {}).verdict).toBe('invalid');
  });

  it('a real PNG whose XMP has a DOCTYPE is invalid, whatever else it carries', async () => {
    const png = await pngWithText([['parameters', 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 8x8']]);
    const xmp = buildPngXmpChunk(Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>'));
    const v = await verify(Buffer.concat([png.subarray(0, 33), xmp, png.subarray(33)]), { visible: false });
    expect(v.verdict).toBe('invalid');
    expect(v.problems?.[0]).toMatch(/^xmp:malformed: /);
    expect(v.synthetic?.generators).toEqual(['AUTOMATIC1111']);
  });

  it('minGrade decides whether weak evidence alone makes a file synthetic', () => {
    expect(decideVerdict([], [weak], kz, 'image', {}).verdict).toBe('unlabelled');
    expect(decideVerdict([], [weak], kz, 'image', { minGrade: 'strong' }).verdict).toBe('not-synthetic');
    expect(decideVerdict([], [ai, weak], kz, 'image', { minGrade: 'strong' }).synthetic).toEqual({ grade: 'strong', generators: ['AUTOMATIC1111'] });
  });

  it('policies are data: every media kind of every policy names its requirements', () => {
    for (const p of Object.values(POLICY_DEFINITIONS)) {
      for (const kind of ['image', 'audio', 'video', 'text', 'pdf'] as const) expect(Array.isArray(p.requirements[kind]), `${p.id} ${kind}`).toBe(true);
    }
    expect(POLICY_DEFINITIONS.ca.requirements.text).toEqual([]);
    expect(decideVerdict([], [ai], POLICY_DEFINITIONS.ca, 'text', {}).verdict).toBe('labelled');
  });
});
