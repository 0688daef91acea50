import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProvenance } from '../../src/core/provenance.js';
import type { Format } from '../../src/core/types.js';
import { resetFastC2pa } from '../../src/metadata/c2pa-fast.js';
import { makeDevChain, type DevChain } from '../../src/metadata/c2pa-devcert.js';
import { readC2pa, signC2pa, type C2paReadOptions } from '../../src/metadata/c2pa.js';
import { localSigner, pemCertificates } from '../../src/metadata/cose.js';
import { corpusFile, hasCorpus, ROOT } from '../helpers.js';
import { makeTestTsa, makeTimeStampToken } from './test-tsa.js';
import { sigStructure } from '../../src/metadata/cose.js';
import { appendMapEntry, bare, child, editAssertion, claimCbor, decodeKeepingKeys, encode, labelOf, mutate, parseBoxes, pngStore, readCose, sigCbor, signClaim, withPngStore, writeCose, type Box } from './c2pa-mutants.js';

/**
 * The attacks of issue 17, each built as a mutant of a genuine signed file: tamga's answer must be
 * c2pa-rs's (`fast: false`) whether the mutant is read alone, after a genuine sibling of the same
 * signer and shape, or before it (and then the sibling must still get its own c2pa-rs answer).
 */


/** Reads `mutant` alone, after `genuine`, and before it, each in a fresh cache; every answer must be c2pa-rs's. */
async function inEveryOrder(mutant: Uint8Array, genuine: Uint8Array, format: Format, opts: C2paReadOptions) {
  resetFastC2pa();
  const truth = bare(await readC2pa(mutant, format, { ...opts, fast: false }));
  const genuineTruth = bare(await readC2pa(genuine, format, { ...opts, fast: false }));
  resetFastC2pa();
  const alone = await readC2pa(mutant, format, opts);
  resetFastC2pa();
  await readC2pa(genuine, format, opts);
  const learnt = await readC2pa(genuine, format, opts);
  const after = await readC2pa(mutant, format, opts);
  resetFastC2pa();
  const first = await readC2pa(mutant, format, opts);
  const genuineAfter = [await readC2pa(genuine, format, opts), await readC2pa(genuine, format, opts)];
  expect(bare(alone), 'alone').toEqual(truth);
  expect(bare(after), 'after a genuine sibling').toEqual(truth);
  expect(bare(first), 'first').toEqual(truth);
  expect(bare(learnt)).toEqual(genuineTruth);
  for (const g of genuineAfter) expect(bare(g), 'the genuine sibling after the mutant').toEqual(genuineTruth);
  return { truth, genuineTruth, reads: [alone, after, first] };
}

const demo = (name: string) => readFileSync(join(ROOT, 'fixtures', 'demo', name));

let chain: DevChain;
let base: Buffer;
let sibling: Buffer;
let opts: C2paReadOptions;
beforeAll(async () => {
  chain = await makeDevChain();
  const signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
  const sign = (provider: string) => signC2pa(demo('sample.png'), 'png', makeProvenance({ generator: 'Stable Diffusion XL/1.0', provider }), { signer });
  base = Buffer.from(await sign('Example AI LLP'));
  sibling = Buffer.from(await sign('Other AI LLP'));
  opts = { trustAnchors: chain.rootPem };
});

const active = (store: Box) => store.children!.at(-1)!;
const ES256 = -7;

/** Re-signs the active manifest's claim with the test key over `protectedHeader` (and edits the unprotected header). */
function resign(store: Box, protectedHeader: Uint8Array, unprotected?: (u: Map<number | string, unknown>) => void): void {
  const m = active(store);
  const cbor = sigCbor(m);
  const cose = readCose(cbor.payload!);
  cose.protectedBytes = protectedHeader;
  cose.signature = signClaim(chain.keyPem, protectedHeader, claimCbor(m).payload!);
  unprotected?.(cose.unprotected);
  cbor.payload = writeCose(cose);
}
const chainDer = () => pemCertificates(chain.chainPem);
/** Edits the claim (a Map with its keys as written) and re-signs it. */
function editClaim(store: Box, edit: (claim: Map<string, unknown>) => Uint8Array | void): void {
  const c = claimCbor(active(store));
  const claim = decodeKeepingKeys(c.payload!) as Map<string, unknown>;
  c.payload = edit(claim) ?? encode(claim);
  resign(store, readCose(sigCbor(active(store)).payload!).protectedBytes);
}
const duplicateChild = (store: Box, label: string) => {
  const m = active(store);
  m.children!.push(structuredClone(child(m, label)));
};
/** A JUMBF superbox of C2PA type `type` with `label` and one CBOR content box. */
const superbox = (type: string, label: string, content: Uint8Array): Box => ({
  type: 'jumb',
  children: [
    { type: 'jumd', payload: Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from('00110010800000aa00389b71', 'hex'), Uint8Array.of(3), Buffer.from(label + '\0')]) },
    { type: 'cbor', payload: content },
  ],
});

/** PNG mutants of a store tamga signed (chain in the protected header, one `pad`), all kept at the store's length. */
const PNG_ATTACKS: [string, (store: Box) => void, { native?: boolean } | undefined][] = [
  ['x5chain as an unprotected integer 33', (s) => resign(s, encode(new Map([[1, ES256]])), (u) => u.set(33, chainDer())), undefined],
  ['x5chain in both headers', (s) => resign(s, readCose(sigCbor(active(s)).payload!).protectedBytes, (u) => u.set('x5chain', chainDer()[0]!)), undefined],
  ['x5chain as an unprotected text label (the C2PA 1.x form)', (s) => resign(s, encode(new Map([[1, ES256]])), (u) => u.set('x5chain', chainDer())), { native: true }],
  ['x5chain under a protected text label', (s) => resign(s, encode(new Map<number | string, unknown>([[1, ES256], ['x5chain', chainDer()]]))), undefined],
  ['an integer 33 and a text "33" in the protected header', (s) => resign(s, encode(new Map<number | string, unknown>([[1, ES256], [33, chainDer()], ['33', chainDer()[0]!]]))), undefined],
  ['an untagged COSE_Sign1', (s) => {
    const cbor = sigCbor(active(s));
    cbor.payload = writeCose({ ...readCose(cbor.payload!), tagged: false });
  }, undefined],
  ['a duplicate key in the protected header', (s) => resign(s, appendMapEntry(readCose(sigCbor(active(s)).payload!).protectedBytes, 1, -35)), undefined],
  ['a duplicate key in the claim', (s) => editClaim(s, (c) => appendMapEntry(encode(c), 'instanceID', 'xmp:iid:00000000-0000-0000-0000-000000000000')), undefined],
  ['a claim without instanceID', (s) => editClaim(s, (c) => void c.delete('instanceID')), undefined],
  ['an empty claim_generator_info', (s) => editClaim(s, (c) => void c.set('claim_generator_info', new Map())), undefined],
  ['an unknown claim field', (s) => editClaim(s, (c) => void c.set('x-extra', 1)), undefined],
  // Found by the differential fuzz target: no hashed URI used the claim's alg, c2pa-rs still refuses it.
  ['an unknown claim alg', (s) => editClaim(s, (c) => void c.set('alg', 'text')), undefined],
  ['a claim alg that is not text', (s) => editClaim(s, (c) => void c.set('alg', 0)), undefined],
  // Found by the differential fuzz target: the same assertion keys with another value type (here
  // `when` as an epoch number, not a date-time string) is a store c2pa-rs cannot decode.
  ['an action field of another type, re-hashed and re-signed', (s) => {
    expect(editAssertion(s, /^c2pa\.actions/, chain.keyPem, (d) => void (d.get('actions') as Map<string, unknown>[])[0]!.set('when', 1767225600))).toBe(true);
  }, undefined],
  ['an action with an unknown field, re-hashed and re-signed', (s) => {
    editAssertion(s, /^c2pa\.actions/, chain.keyPem, (d) => void (d.get('actions') as Map<string, unknown>[])[0]!.set('softwareAgent', 7));
  }, undefined],
  ['a second claim box', (s) => duplicateChild(s, 'c2pa.claim.v2'), undefined],
  ['a second signature box', (s) => {
    duplicateChild(s, 'c2pa.signature');
    // The copy's COSE would not fit beside the original: an empty array is enough to be a second box.
    sigCbor({ type: 'jumb', children: [active(s).children!.at(-1)!] }).payload = encode([]);
  }, undefined],
  ['a second assertion store', (s) => duplicateChild(s, 'c2pa.assertions'), undefined],
  ['two databoxes boxes', (s) => active(s).children!.push(superbox('c2db', 'c2pa.databoxes', encode(new Map())), superbox('c2db', 'c2pa.databoxes', encode(new Map()))), undefined],
  ['an XLBox header on the claim', (s) => {
    active(s).children!.find((c) => /^c2pa\.claim/.test(labelOf(c) ?? ''))!.framing = 'xl';
  }, undefined],
  ['LBox 0 on the active manifest', (s) => {
    active(s).framing = 'zero';
  }, undefined],
];

describe('C2PA attacks of issue 17: c2pa-rs\'s answer in every read order', () => {
  it('the genuine files are answered natively, trusted', async () => {
    resetFastC2pa();
    expect((await readC2pa(base, 'png', opts))?.validationState).toBe('valid');
    const second = await readC2pa(sibling, 'png', opts);
    expect(second?.validatedBy).toBe('native');
    expect(second?.validationState).toBe('valid');
  });

  it.each(PNG_ATTACKS)('%s', async (_name, edit, expectation) => {
    const mutant = mutate(base, 'png', edit);
    expect(mutant.length).toBe(base.length);
    const { reads, truth } = await inEveryOrder(mutant, sibling, 'png', opts);
    expect(truth).toBeDefined();
    if (!expectation?.native) for (const r of reads) expect(r?.validatedBy).toBe('c2pa-rs');
  });

  it('a duplicate key in the unprotected header', async () => {
    // cbor-x writes no duplicate keys: write `paZ`, then rename it `pad` in place.
    const staged = mutate(base, 'png', (s) => {
      const cbor = sigCbor(active(s));
      const cose = readCose(cbor.payload!);
      cose.unprotected.set('paZ', new Uint8Array(4));
      cbor.payload = writeCose(cose);
    });
    const at = staged.indexOf(Buffer.from('cpaZ', 'latin1'));
    expect(at).toBeGreaterThan(0);
    const store = pngStore(staged);
    const s = store.indexOf(Buffer.from('cpaZ', 'latin1'));
    store[s + 3] = 0x64; // 'd'
    const mutant = withPngStore(staged, store);
    const { reads } = await inEveryOrder(mutant, sibling, 'png', opts);
    for (const r of reads) expect(r?.validatedBy).toBe('c2pa-rs');
  });

  it('an unreferenced "AI" manifest dropped into the store is no evidence, on both paths', async () => {
    const other = Buffer.from(await signC2pa(demo('sample.png'), 'png', makeProvenance({ digitalSourceType: 'trainedAlgorithmicMedia' }), { signer: localSigner({ cert: chain.chainPem, key: chain.keyPem }) }));
    const composite = Buffer.from(await signC2pa(demo('sample.png'), 'png', makeProvenance({ digitalSourceType: 'compositeSynthetic' }), { signer: localSigner({ cert: chain.chainPem, key: chain.keyPem }) }));
    const injected = parseBoxes(pngStore(other))[0]!.children!.at(-1)!;
    const store = parseBoxes(pngStore(composite))[0]!;
    store.children!.splice(1, 0, injected); // after the description box
    const { writeBox } = await import('./c2pa-mutants.js');
    const mutant = withPngStore(composite, writeBox(store));
    const { truth, reads } = await inEveryOrder(mutant, composite, 'png', opts);
    expect(truth?.error).toBeUndefined();
    expect(truth?.manifests).toBe(2);
    expect(truth?.unreferencedManifests).toEqual([labelOf(injected)]);
    expect(truth?.digitalSourceTypes).toEqual(['http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic']);
    for (const r of reads) expect(r?.digitalSourceTypes).toEqual(truth?.digitalSourceTypes);
  });

  describe.skipIf(!hasCorpus)('time stamps (a corpus file with sigTst2)', () => {
    const file = () => readFileSync(join(corpusFile('c2pa'), 'C-capture-cawg.jpg'));
    it('a junk sigTst placed before a genuine sigTst2', async () => {
      const genuine = file();
      const mutant = mutate(genuine, 'jpeg', (s) => {
        const cbor = sigCbor(active(s));
        const cose = readCose(cbor.payload!);
        cose.unprotected = new Map([['sigTst', new Map([['tstTokens', [new Map([['val', new Uint8Array(64).fill(0x30)]])]]])], ...cose.unprotected]);
        cbor.payload = writeCose(cose);
      });
      expect(mutant.length).toBe(genuine.length);
      const { reads } = await inEveryOrder(mutant, genuine, 'jpeg', {});
      for (const r of reads) expect(r?.validatedBy).toBe('c2pa-rs');
    });
    it('the sigTst2 token moved to sigTst', async () => {
      const genuine = file();
      const mutant = mutate(genuine, 'jpeg', (s) => {
        const cbor = sigCbor(active(s));
        const cose = readCose(cbor.payload!);
        cose.unprotected = new Map([...cose.unprotected].map(([k, v]) => [k === 'sigTst2' ? 'sigTst' : k, v]));
        cbor.payload = writeCose(cose);
      });
      await inEveryOrder(mutant, genuine, 'jpeg', {});
    });
  });

  describe('time stamps from an untrusted TSA (a test TSA nobody trusts)', () => {
    /** The active signature with `headers` added in front, the token over what c2pa-rs countersigns. */
    const stamped = async (headers: ('sigTst' | 'sigTst2' | 'junk')[]) => {
      const tsa = await makeTestTsa();
      const store = parseBoxes(pngStore(base))[0]!;
      const cose = readCose(sigCbor(active(store)).payload!);
      const claim = claimCbor(active(store)).payload!;
      const entries: [string, unknown][] = [];
      for (const h of headers) {
        const val = h === 'junk' ? new Uint8Array(40).fill(0x30) : await makeTimeStampToken(tsa, sigStructure('CounterSignature', cose.protectedBytes, h === 'sigTst' ? claim : encode(cose.signature)));
        entries.push([h === 'junk' ? 'sigTst' : h, new Map([['tstTokens', [new Map([['val', val]])]]])]);
      }
      return mutate(base, 'png', (s) => {
        const cbor = sigCbor(active(s));
        const c = readCose(cbor.payload!);
        c.unprotected = new Map([...entries, ...c.unprotected]);
        cbor.payload = writeCose(c);
      });
    };
    it.each([
      ['a sound sigTst2 token', ['sigTst2']],
      ['a sound sigTst token (over the claim)', ['sigTst']],
      ['a junk sigTst before a sound sigTst2', ['junk', 'sigTst2']],
    ] as const)('%s', async (_name, headers) => {
      const mutant = await stamped([...headers]);
      await inEveryOrder(mutant, sibling, 'png', opts);
      if (headers.length > 1) for (const r of (await inEveryOrder(mutant, sibling, 'png', opts)).reads) expect(r?.validatedBy).toBe('c2pa-rs');
    });
  });
});
