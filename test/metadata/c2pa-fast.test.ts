import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeProvenance } from '../../src/core/provenance.js';
import type { Format } from '../../src/core/types.js';
import { fastC2paCheck, fastC2paStats, learnC2paVerdict, resetFastC2pa, fastC2paStore } from '../../src/metadata/c2pa-fast.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { readC2pa, reportFromStore, signC2pa } from '../../src/metadata/c2pa.js';
import { localSigner, type C2paSigner, type C2paSigningAlg } from '../../src/metadata/cose.js';
import { corpusFile, hasCorpus, ROOT } from '../helpers.js';
import { bare } from './c2pa-mutants.js';

/**
 * The native C2PA fast path must give exactly c2pa-rs's report: every comparison below reads a
 * file with the fast path off (c2pa-rs only), then twice with it on (the first learns the
 * credential verdict, the second is answered natively), and asserts the three reports are equal.
 */

const FORMAT_OF: Record<string, Format> = { '.jpg': 'jpeg', '.png': 'png', '.webp': 'webp', '.dng': 'tiff', '.tif': 'tiff', '.gif': 'gif', '.avif': 'avif', '.heic': 'heif', '.mp3': 'mp3', '.wav': 'wav', '.mp4': 'mp4', '.pdf': 'pdf', '.svg': 'svg' };
const demo = (name: string) => readFileSync(join(ROOT, 'fixtures', 'demo', name));
const provenance = makeProvenance({ generator: 'Stable Diffusion XL/1.0', provider: 'Example AI LLP' });


/** Reads with c2pa-rs only, then with the fast path twice; returns the reports and whether the last was native. */
async function threeWays(bytes: Uint8Array, format: Format) {
  const slow = await readC2pa(bytes, format, { fast: false });
  const learning = await readC2pa(bytes, format);
  const before = fastC2paStats.fast;
  const answered = await readC2pa(bytes, format);
  const native = fastC2paStats.fast > before;
  expect(slow?.validatedBy === undefined || slow.validatedBy === 'c2pa-rs').toBe(true);
  if (answered) expect(answered.validatedBy).toBe(native ? 'native' : 'c2pa-rs');
  return { slow: bare(slow), learning: bare(learning), answered: bare(answered), native };
}

let signers: Record<'es256' | 'ps256', C2paSigner>;
beforeAll(async () => {
  const ec = await makeDevChain();
  const rsa = await makeDevChain({ leafKey: 'rsa' });
  signers = { es256: localSigner({ cert: ec.chainPem, key: ec.keyPem }), ps256: localSigner({ cert: rsa.chainPem, key: rsa.keyPem }) };
});
beforeEach(() => resetFastC2pa());

describe('C2PA fast path', () => {
  describe.skipIf(!hasCorpus)('every corpus C2PA file: same report as c2pa-rs', () => {
    const dir = corpusFile('c2pa');
    const files = hasCorpus ? readdirSync(dir).filter((f) => FORMAT_OF[extname(f)]) : [];
    /** Intact, canonical stores in containers the fast path reads; the rest (tampered, unreferenced manifests, audio, PDF, SVG) go to c2pa-rs every time. */
    const NATIVE = new Set([
      'C-capture-cawg.jpg',
      'bing-creator-puppy.jpg',
      'cards-signed.avif',
      'trustnxt-icon-signed.heic',
      'video1-signed.mp4',
      'C-algorithmic.dng',
      'C-algorithmic.jpg',
      'adobe-firefly.png',
      'amazon-titan-g1.png',
      'nikon-z9-camera-signed.jpg',
      'openai-dalle-puppy.webp',
      'photoshop-genfill-ocsp.jpg',
    ]);
    it.each(files)('%s', async (f) => {
      const r = await threeWays(readFileSync(join(dir, f)), FORMAT_OF[extname(f)]!);
      expect(r.learning).toEqual(r.slow);
      expect(r.answered).toEqual(r.slow);
      expect(r.native).toBe(NATIVE.has(f));
      expect(fastC2paStats.pinned).toBe(0);
    });
  });

  const FORMATS: [Format, string][] = [
    ['jpeg', 'sample.jpg'],
    ['png', 'sample.png'],
    ['webp', 'sample.webp'],
    ['gif', 'sample.gif'],
    ['tiff', 'sample.tif'],
  ];
  it.each(FORMATS)('%s signed by tamga (ES256 and PS256): answered natively, same report', async (format, name) => {
    for (const alg of ['es256', 'ps256'] as const satisfies C2paSigningAlg[]) {
      const signed = await signC2pa(demo(name), format, provenance, { signer: signers[alg], reserveTraining: true });
      const r = await threeWays(signed, format);
      expect(r.answered).toEqual(r.slow);
      expect(r.native).toBe(true);
      expect(r.slow?.trainingMining).toBeDefined();
    }
  });

  it('AVIF signed by tamga (c2pa.hash.bmff.v3): answered natively, same report; a changed mdat goes to c2pa-rs', async () => {
    const avif = await sharp(demo('sample.png')).avif({ quality: 60 }).toBuffer();
    const signed = Buffer.from(await signC2pa(avif, 'avif', provenance, { signer: signers.ps256 }));
    const r = await threeWays(signed, 'avif');
    expect(r.native).toBe(true);
    expect(r.answered).toEqual(r.slow);
    const bad = Buffer.from(signed);
    bad[bad.length - 10]! ^= 0x04; // in mdat, at the end of the file
    expect((await fastC2paCheck(bad, 'avif')).reason).toBe('bmff hash mismatch');
    expect(bare(await readC2pa(bad, 'avif'))).toEqual(bare(await readC2pa(bad, 'avif', { fast: false })));
  });

  it('a second file with the same signer and shape is answered natively without asking c2pa-rs', async () => {
    const a = await signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: signers.es256 });
    const b = await signC2pa(demo('sample.jpg'), 'jpeg', makeProvenance({ generator: 'Stable Diffusion XL/1.0', provider: 'Other LLP' }), { signer: signers.es256 });
    await readC2pa(a, 'jpeg');
    const slowBefore = fastC2paStats.slow;
    const rb = await readC2pa(b, 'jpeg');
    expect(fastC2paStats.slow).toBe(slowBefore);
    expect(rb?.validatedBy).toBe('native');
    expect(bare(rb)).toEqual(bare(await readC2pa(b, 'jpeg', { fast: false })));
  });

  /** A tampered store always goes to c2pa-rs, so every mutant's report is exactly c2pa-rs's, however often it is read. */
  it('random damage inside and outside the manifest store: c2pa-rs\'s report on every mutant', async () => {
    let seed = 20261123;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const [format, name] of FORMATS.slice(0, 3)) {
      const signed = Buffer.from(await signC2pa(demo(name), format, provenance, { signer: signers.ps256 }));
      // The pristine file teaches the verdict for its key: a mutant the fast path took for intact would get it.
      await readC2pa(signed, format);
      const store = signed.indexOf(Buffer.from('jumb'));
      for (let i = 0; i < 24; i++) {
        const bad = Buffer.from(signed);
        // Two thirds inside the store (claim, assertions, signature), a third in the asset.
        const at = i % 3 === 2 ? Math.floor(rand() * signed.length) : store + Math.floor(rand() * 6000);
        bad[Math.min(at, bad.length - 1)]! ^= 1 << Math.floor(rand() * 8);
        const slow = await readC2pa(bad, format, { fast: false });
        for (const pass of ['learning', 'answered']) expect(bare(await readC2pa(bad, format)), `${format} mutant ${i} (${pass})`).toEqual(bare(slow));
      }
    }
    expect(fastC2paStats.fast).toBeGreaterThan(0);
  });

  it('an edited image: found tampered natively, answered by c2pa-rs even after the intact original', async () => {
    const signed = Buffer.from(await signC2pa(demo('sample.png'), 'png', provenance, { signer: signers.es256 }));
    const edited = (k: number) => {
      const bad = Buffer.from(signed);
      bad[bad.length - 30 - k]! ^= 0x10; // inside the last IDAT, outside the store
      return bad;
    };
    expect((await fastC2paCheck(edited(0), 'png')).reason).toBe('tampered: assertion.dataHash.mismatch');
    await readC2pa(signed, 'png'); // the intact original teaches the credential verdict
    const r = await threeWays(edited(1), 'png');
    expect(r.native).toBe(false);
    expect(r.answered).toEqual(r.slow);
    expect(r.slow?.statusCodes).toEqual(['signingCredential.untrusted', 'assertion.dataHash.mismatch']);
  });

  it('never reuses a verdict c2pa-rs gave with integrity codes for a store the fast path found intact', async () => {
    const signed = await signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: signers.es256 });
    const { candidate } = await fastC2paCheck(signed, 'jpeg');
    expect(candidate).toBeDefined();
    const lying = { active_manifest: candidate!.store.active_manifest, manifests: candidate!.store.manifests, validation_state: 'Invalid', validation_status: [{ code: 'assertion.action.malformed' }] };
    learnC2paVerdict(candidate!, lying, (s) => reportFromStore(s as Parameters<typeof reportFromStore>[0]));
    expect(fastC2paStats.pinned).toBe(1);
    expect(fastC2paStore(candidate!)).toBeUndefined();
  });

  it('declines what it does not check, with the reason', async () => {
    const signed = await signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: signers.es256 });
    expect((await fastC2paCheck(signed, 'mp3')).reason).toMatch(/no fast path for mp3/);
    expect((await fastC2paCheck(signed, 'mp4')).candidate).toBeUndefined();
    expect((await fastC2paCheck(demo('sample.jpg'), 'jpeg')).reason).toMatch(/no single store/);
    const truncated = signed.subarray(0, Buffer.from(signed).indexOf('c2pa.signature') + 40);
    expect((await fastC2paCheck(truncated, 'jpeg')).candidate).toBeUndefined();
  });
});
