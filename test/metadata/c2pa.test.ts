// c2pa-ts's @peculiar/x509 resolves services through tsyringe, which needs this polyfill first.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { BMFF, JPEG, PNG } from '@trustnxt/c2pa-ts/asset';
import { SuperBox } from '@trustnxt/c2pa-ts/jumbf';
import { ManifestStore } from '@trustnxt/c2pa-ts/manifest';
import { beforeAll, describe, expect, it } from 'vitest';
import { remuxBmff, pcmWav } from '../../fixtures/make-c2pa-media.js';
import { detect, label } from '../../src/api.js';
import { makeProvenance } from '../../src/core/provenance.js';
import { sniff } from '../../src/core/sniff.js';
import type { Format } from '../../src/core/types.js';
import { makeDevChain, type DevChain } from '../../src/metadata/c2pa-devcert.js';
import { C2PA_SIGNABLE_MIME, mayHoldC2paStore, readC2pa, readManifestStore, signC2pa, type C2paManifestReport } from '../../src/metadata/c2pa.js';
import { ecdsaDerToP1363, localSigner, type C2paSigner } from '../../src/metadata/cose.js';
import { TOOL_ID } from '../../src/version.js';
import { corpusFile, expectTamgaError, hasCorpus, ROOT, TAM_URI } from '../helpers.js';

const demo = (name: string) => readFileSync(join(ROOT, 'fixtures', 'demo', name));

let chain: DevChain;
let signer: C2paSigner;
beforeAll(async () => {
  chain = await makeDevChain();
  signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
});

const provenance = makeProvenance({ generator: 'Stable Diffusion XL/1.0', provider: 'Example AI LLP', model: 'sdxl-base' });

/** One real file per container c2pa-rs embeds into (corpus files are skipped without the corpus). */
const SAMPLES: { name: string; format: Format; corpus?: boolean; make: () => Promise<Uint8Array> }[] = [
  { name: 'JPEG', format: 'jpeg', make: async () => demo('sample.jpg') },
  { name: 'PNG', format: 'png', make: async () => demo('sample.png') },
  { name: 'WebP', format: 'webp', make: async () => demo('sample.webp') },
  { name: 'GIF', format: 'gif', make: async () => demo('sample.gif') },
  { name: 'TIFF', format: 'tiff', make: async () => demo('sample.tif') },
  { name: 'AVIF (sharp)', format: 'avif', make: () => sharp(demo('sample.png')).avif({ quality: 60 }).toBuffer() },
  { name: 'HEIC (iPhone)', format: 'heif', corpus: true, make: async () => readFileSync(corpusFile('camera/IMG_5195.HEIC')) },
  { name: 'MP4', format: 'mp4', corpus: true, make: async () => remuxBmff(readFileSync(corpusFile('c2pa/video1-signed.mp4'))) },
  { name: 'MOV', format: 'mov', corpus: true, make: async () => remuxBmff(readFileSync(corpusFile('c2pa/video1-signed.mp4')), { brands: ['qt  ', 'qt  '] }) },
  {
    name: 'M4A (AAC track of the corpus MP4)',
    format: 'm4a',
    corpus: true,
    make: async () => remuxBmff(readFileSync(corpusFile('c2pa/video1-signed.mp4')), { handler: 'soun', brands: ['M4A ', 'M4A ', 'mp42', 'isom'] }),
  },
  { name: 'MP3', format: 'mp3', corpus: true, make: async () => readFileSync(corpusFile('c2pa/cicadas-unsigned.mp3')) },
  { name: 'WAV', format: 'wav', make: async () => pcmWav(0.5) },
];

/** Flips one byte of the original content (found again in the signed file), outside the manifest store. */
function tamper(input: Uint8Array, signed: Uint8Array): Buffer {
  const bad = Buffer.from(signed);
  const at = Math.floor(input.length * 0.6);
  const pos = bad.indexOf(Buffer.from(input.subarray(at, at + 32)));
  expect(pos).toBeGreaterThan(0);
  bad[pos + 16]! ^= 0x01;
  return bad;
}

const C2PA_STORE_UUID = Buffer.from('6332706100110010800000aa00389b71', 'hex');

/**
 * The manifest store bytes for c2pa-ts where it has no container parser (0.9.4 parses JPEG, PNG and
 * BMFF with `heic`/`mif1` brands; its MP3 reader expects the older GEOB MIME, not c2pa-rs's
 * `application/c2pa`): the contiguous JUMBF superbox found by its description box (GIF joins its
 * sub-blocks first).
 */
function jumbfOf(signed: Uint8Array, format: Format): Uint8Array {
  let bytes = Buffer.from(signed);
  if (format === 'gif') {
    const ext = bytes.indexOf(Buffer.from('C2PA_GIF\x01\x00\x00', 'latin1'));
    const parts: Buffer[] = [];
    for (let o = ext + 11; bytes[o] !== 0; o += 1 + bytes[o]!) parts.push(bytes.subarray(o + 1, o + 1 + bytes[o]!));
    bytes = Buffer.concat(parts);
  }
  const jumd = bytes.indexOf(Buffer.concat([Buffer.from('jumd'), C2PA_STORE_UUID]));
  expect(jumd).toBeGreaterThan(8);
  const start = jumd - 12;
  expect(bytes.toString('latin1', start + 4, start + 8)).toBe('jumb');
  return new Uint8Array(bytes.subarray(start, start + bytes.readUInt32BE(start)));
}

/**
 * Reads a signed file with @trustnxt/c2pa-ts: full validation (hard binding included) where it
 * parses the container (JPEG, PNG, HEIF, AVIF), else the store and its claim signature.
 */
async function crossCheck(signed: Uint8Array, format: Format): Promise<{ valid: boolean; label?: string; actions: unknown; training: unknown }> {
  const Asset = [JPEG, PNG, BMFF].find((A) => A.canRead(signed));
  const asset = Asset ? new Asset(signed) : undefined;
  const jumbf = asset?.getManifestJUMBF() ?? jumbfOf(signed, format);
  const store = ManifestStore.read(SuperBox.fromBuffer(new Uint8Array(jumbf)));
  const m = store.getActiveManifest()!;
  const result = asset ? await store.validate(asset) : await m.signature!.validate(m.claim!.getBytes(m.claim!)!);
  const data = (label: RegExp) => (m.assertions?.assertions.find((a) => label.test(a.label ?? '')) as unknown as { actions?: unknown; entries?: unknown } | undefined);
  return { valid: result.isValid, ...(m.label ? { label: m.label } : {}), actions: data(/^c2pa\.actions/)?.actions, training: data(/training-mining$/)?.entries };
}

describe('signing: every container c2pa-rs embeds into', () => {
  it('covers the formats the signable table claims', () => {
    expect(Object.keys(C2PA_SIGNABLE_MIME).sort()).toEqual([...new Set(SAMPLES.map((s) => s.format))].sort());
  });

  for (const s of SAMPLES) {
    it.skipIf(s.corpus && !hasCorpus)(`${s.name}: valid in c2pa-rs with the root as anchor, untrusted without, invalid after one byte changes; read by c2pa-ts`, async () => {
      const input = await s.make();
      expect(sniff(input.subarray(0, 64))?.format).toBe(s.format);
      const signed = await signC2pa(input, s.format, provenance, { signer, reserveTraining: true });
      expect(sniff(signed.subarray(0, 64))?.format).toBe(s.format);

      const trusted = (await readC2pa(signed, s.format, { trustAnchors: chain.rootPem }))!;
      expect(trusted).toMatchObject<Partial<C2paManifestReport>>({
        validationState: 'valid',
        statusCodes: [],
        claimGenerator: TOOL_ID,
        digitalSourceTypes: [TAM_URI],
        actions: ['c2pa.created'],
        manifests: 1,
        signer: { subject: expect.stringContaining('tamga development signer'), issuer: 'tamga development' },
        trainingMining: { 'cawg.ai_generative_training': { use: 'notAllowed' }, 'cawg.ai_training': { use: 'notAllowed' } },
      });

      const untrusted = (await readC2pa(signed, s.format))!;
      expect(untrusted.validationState).toBe('untrusted');
      expect(untrusted.statusCodes).toEqual(['signingCredential.untrusted']);

      const broken = (await readC2pa(tamper(input, signed), s.format, { trustAnchors: chain.rootPem }))!;
      expect(broken.validationState).toBe('invalid');
      expect(broken.statusCodes.join(' ')).toMatch(/(dataHash|bmffHash)\.mismatch/);

      const ts = await crossCheck(signed, s.format);
      expect(ts.valid).toBe(true);
      expect(ts.label).toBe(trusted.activeManifest);
      expect(ts.actions).toEqual([expect.objectContaining({ action: 'c2pa.created', digitalSourceType: TAM_URI, softwareAgent: { name: 'Stable Diffusion XL', version: '1.0' } })]);
      // c2pa-ts names the CAWG `use` field `choice`.
      expect(ts.training).toMatchObject({ 'cawg.ai_generative_training': { choice: 'notAllowed' } });
    });
  }

  it('writes the Provenance where C2PA has a place: action time, instance id, and the whole record in kz.tamga.provenance', async () => {
    const signed = await signC2pa(demo('sample.png'), 'png', provenance, { signer });
    const store = (await readManifestStore(signed, 'png')) as { active_manifest: string; manifests: Record<string, { instance_id: string; assertions: { label: string; data: Record<string, unknown> }[] }> };
    const m = store.manifests[store.active_manifest]!;
    expect(m.instance_id).toBe(`xmp:iid:${provenance.contentId}`);
    const data = (label: string) => m.assertions.find((a) => a.label === label)?.data;
    expect(data('c2pa.actions.v2')).toEqual({ actions: [expect.objectContaining({ action: 'c2pa.created', when: provenance.createdAt })] });
    expect(data('kz.tamga.provenance')).toEqual({ ...provenance, labeller: TOOL_ID });
    expect(data('cawg.training-mining')).toBeUndefined();
    // c2pa-ts reads the same instance id from the claim.
    const ts = ManifestStore.read(SuperBox.fromBuffer(new Uint8Array(new PNG(signed).getManifestJUMBF()!))).getActiveManifest()!;
    expect(ts.claim!.instanceID).toBe(m.instance_id);
  });

  it('a KMS-style signer that returns DER ECDSA signatures is converted to r||s and validates', async () => {
    const der: C2paSigner = {
      alg: 'es256',
      certificateChain: signer.certificateChain,
      async sign(tbs) {
        const { createPrivateKey, sign } = await import('node:crypto');
        return new Uint8Array(sign('sha256', tbs, { key: createPrivateKey(chain.keyPem), dsaEncoding: 'der' }));
      },
    };
    const signed = await signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: der });
    expect((await readC2pa(signed, 'jpeg', { trustAnchors: chain.rootPem }))?.validationState).toBe('valid');
  });

  it('rejects bad signers, keys and formats with stable codes', async () => {
    const failing: C2paSigner = { ...signer, sign: async () => Promise.reject(new Error('HSM offline')) };
    await expectTamgaError(signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: failing }), 'INVALID_OPTION', /HSM offline/);
    const huge: C2paSigner = { ...signer, alg: 'es256', sign: async () => new Uint8Array(5000).fill(1) };
    await expectTamgaError(signC2pa(demo('sample.jpg'), 'jpeg', provenance, { signer: huge }), 'INVALID_OPTION');
    await expectTamgaError(signC2pa(Buffer.from('%PDF-1.7\n'), 'pdf', provenance, { signer }), 'UNSUPPORTED_FORMAT');
    await expectTamgaError(signC2pa(demo('sample.jpg').subarray(0, 400), 'jpeg', provenance, { signer }), 'CORRUPT_INPUT');
    const other = await makeDevChain();
    expect(() => localSigner({ cert: chain.chainPem, key: other.keyPem })).toThrow(/does not belong/);
    expect(() => localSigner({ cert: 'not a pem', key: chain.keyPem })).toThrow(/no PEM certificate/);
    expect(() => ecdsaDerToP1363(new Uint8Array([1, 2, 3]), 64)).toThrow(/neither r\|\|s nor DER/);
  });
});

describe('label() and detect() with C2PA', () => {
  it('signs last: the manifest covers the metadata layer, and detect reports it', async () => {
    const r = await label(demo('sample.jpg'), provenance, { visible: false, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
    expect(r.layers).toEqual(['metadata', 'c2pa']);
    const d = await detect(r.data!, { trustAnchors: chain.rootPem });
    expect(d.findings.find((f) => f.kind === 'xmp:tamga')).toBeDefined();
    const c2pa = d.findings.find((f) => f.kind === 'c2pa:manifest')!;
    expect(c2pa).toMatchObject({ layer: 'c2pa', confidence: 1, where: expect.stringMatching(/^jpeg:APP11-C2PA@\d+$/) });
    expect(c2pa.value).toMatchObject({ validationState: 'valid', digitalSourceTypes: [TAM_URI] });
    // Without anchors the same file is intact but untrusted (the documented default).
    expect((await detect(r.data!)).findings.find((f) => f.kind === 'c2pa:manifest')?.value).toMatchObject({ validationState: 'untrusted' });
  });

  it('after a visible badge (pixels re-encoded) and the metadata, C2PA still signs last and validates', async () => {
    const r = await label(demo('sample.png'), provenance, { visible: true, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
    expect(r.layers[0]).toBe('visible');
    expect(r.layers.slice(-2)).toEqual(['metadata', 'c2pa']);
    const manifest = (await detect(r.data!, { trustAnchors: chain.rootPem })).findings.find((f) => f.kind === 'c2pa:manifest');
    expect(manifest?.value).toMatchObject({ validationState: 'valid', statusCodes: [] });
  });

  it('with metadata off, only the C2PA layer is written', async () => {
    const r = await label(demo('sample.png'), provenance, { visible: false, metadata: false, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
    expect(r.layers).toEqual(['c2pa']);
    const kinds = (await detect(r.data!)).findings.map((f) => f.kind);
    expect(kinds).toEqual(['c2pa:manifest']);
  });

  it('checks the c2pa and trustAnchors options on entry', async () => {
    await expectTamgaError(label(demo('sample.png'), {}, { c2pa: { cert: '/nonexistent/chain.pem', key: chain.keyPem } }), 'INVALID_OPTION', /c2pa\.cert/);
    await expectTamgaError(label(demo('sample.png'), {}, { c2pa: {} as never }), 'INVALID_OPTION', /c2pa/);
    await expectTamgaError(label(demo('sample.png'), {}, { c2pa: { signer: { alg: 'md5' } } as never }), 'INVALID_OPTION', /c2pa\.signer/);
    await expectTamgaError(detect(demo('sample.png'), { trustAnchors: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----' }), 'INVALID_OPTION', /trustAnchors/);
  });
});

interface CorpusEntry {
  file: string;
  has_c2pa: boolean;
  c2pa?: { validation_state: 'Valid' | 'Invalid'; status_codes: string[]; digital_source_types: string[]; signer_issuer: string; manifests: number };
}
const corpus: CorpusEntry[] = hasCorpus ? (JSON.parse(readFileSync(corpusFile('corpus.json'), 'utf8')) as { files: CorpusEntry[] }).files.filter((f) => f.file.startsWith('c2pa/')) : [];

describe.skipIf(!hasCorpus)('the corpus: every signed sample gets the state corpus.json records', () => {
  // corpus.json was verified without a trust list, so c2pa-rs "Valid" is tamga's `untrusted`.
  it.each(corpus.map((f) => [f.file, f] as const))('%s', async (_name, f) => {
    const d = await detect(corpusFile(f.file));
    const found = d.findings.filter((x) => x.kind === 'c2pa:manifest');
    if (!f.has_c2pa) {
      expect(found).toEqual([]);
      return;
    }
    expect(found).toHaveLength(1);
    const v = found[0]!.value as C2paManifestReport;
    expect(v.validationState).toBe(f.c2pa!.validation_state === 'Valid' ? 'untrusted' : 'invalid');
    expect(new Set(v.statusCodes)).toEqual(new Set(f.c2pa!.status_codes));
    expect(new Set(v.digitalSourceTypes.map((u) => u.replace(/^.*\//, '')))).toEqual(new Set(f.c2pa!.digital_source_types));
    expect(v.signer?.issuer).toBe(f.c2pa!.signer_issuer);
    expect(v.manifests).toBe(f.c2pa!.manifests);
  });
});

describe.skipIf(!hasCorpus)('the cheap store check before validation', () => {
  it('finds the JUMBF store type in signed HEIF/AVIF/MP4 and not in an unsigned camera HEIC', () => {
    for (const [f, format] of [['c2pa/trustnxt-icon-signed.heic', 'heif'], ['c2pa/cards-signed.avif', 'avif'], ['c2pa/video1-signed.mp4', 'mp4']] as const) {
      expect(mayHoldC2paStore(readFileSync(corpusFile(f)), format), f).toBe(true);
    }
    expect(mayHoldC2paStore(readFileSync(corpusFile('camera/IMG_5195.HEIC')), 'heif')).toBe(false);
    expect(mayHoldC2paStore(readFileSync(corpusFile('c2pa/cards-signed.svg')), 'svg')).toBe(true);
  });
});
