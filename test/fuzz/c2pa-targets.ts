import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { makeProvenance } from '../../src/core/provenance.js';
import { sniff } from '../../src/core/sniff.js';
import { resetFastC2pa } from '../../src/metadata/c2pa-fast.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { readC2pa, signC2pa } from '../../src/metadata/c2pa.js';
import { localSigner, pemCertificates } from '../../src/metadata/cose.js';
import { CORPUS, ROOT } from '../helpers.js';
import { bare, claimCbor, decodeKeepingKeys, editAssertion, encode, jpegStore, labelOf, mutate as mutateStore, parseBoxes, pngStore, readCose, sigCbor, signClaim, writeCose, type Box } from '../metadata/c2pa-mutants.js';
import { makeTestTsa, makeTimeStampToken } from '../metadata/test-tsa.js';
import { sigStructure } from '../../src/metadata/cose.js';
import type { FuzzTarget, Mutator, Rand } from './engine.js';

/**
 * The differential C2PA target: mutants of signed stores (COSE headers and maps, JUMBF boxes and
 * framing, time-stamp headers, chains, claims) read by tamga alone, after the genuine seeds and
 * before them, each time from an empty verdict cache, against c2pa-rs alone (`fast: false`).
 * Any answer that differs from c2pa-rs's (more lenient or not) or that depends on the order is a
 * crash: the invariant is that tamga's C2PA result is c2pa-rs's result on the same bytes.
 */


type StoreEdit = (store: Box, r: Rand, ctx: Ctx) => void;
/** What edits under the signature need: the test chain and key (re-signing) and sound tokens from an untrusted test TSA. */
interface Ctx {
  chain: Uint8Array[];
  keyPem: string;
  tokens: Map<string, Uint8Array>;
}

const manifestOf = (s: Box, r: Rand): Box => {
  const ms = s.children!.slice(1);
  return r.next() < 0.7 ? ms.at(-1)! : r.pick(ms);
};
const superboxes = (b: Box): Box[] => (b.children ? [b, ...b.children.flatMap(superboxes)] : []);
const editCose = (s: Box, r: Rand, f: (c: ReturnType<typeof readCose>) => void) => {
  const cbor = sigCbor(manifestOf(s, r));
  const cose = readCose(cbor.payload!);
  f(cose);
  cbor.payload = writeCose(cose);
};
const HEADER_KEYS: (string | number)[] = ['x5chain', 33, 'sigTst', 'sigTst2', 'rVals', 'pad2', 1, 4, 'alg'];

const STORE_EDITS: [string, StoreEdit][] = [
  ['cose: untag', (s, r) => editCose(s, r, (c) => void (c.tagged = !c.tagged))],
  ['cose: add a chain to the unprotected header', (s, r, { chain }) => editCose(s, r, (c) => void c.unprotected.set(r.pick(['x5chain', 33] as const), r.next() < 0.5 ? chain[0]! : chain))],
  ['cose: rename an unprotected header', (s, r) => editCose(s, r, (c) => {
    const keys = [...c.unprotected.keys()];
    const k = r.pick(keys);
    const v = c.unprotected.get(k);
    c.unprotected.delete(k);
    c.unprotected.set(r.pick(HEADER_KEYS), v);
  })],
  ['cose: reorder the unprotected header', (s, r) => editCose(s, r, (c) => void (c.unprotected = new Map([...c.unprotected].sort(() => r.next() - 0.5))))],
  ['cose: junk time stamp', (s, r) => editCose(s, r, (c) => {
    const junk = new Map([['tstTokens', [new Map([['val', Buffer.alloc(16 + r.int(64), r.int(256))]])]]]);
    c.unprotected = new Map([[r.pick(['sigTst', 'sigTst2']), junk], ...c.unprotected]);
  })],
  ['cose: copy the time stamp to the other header', (s, r) => editCose(s, r, (c) => {
    const [k, v] = [...c.unprotected].find(([k]) => k === 'sigTst' || k === 'sigTst2') ?? [];
    if (k) c.unprotected.set(k === 'sigTst' ? 'sigTst2' : 'sigTst', v);
  })],
  ['cose: move the chain', (s, r) => editCose(s, r, (c) => {
    const p = decodeKeepingKeys(c.protectedBytes) as Map<number | string, unknown>;
    const x5 = p.get(33) ?? c.unprotected.get('x5chain');
    if (x5 === undefined) return;
    if (p.has(33) && r.next() < 0.5) c.unprotected.set('x5chain', x5);
    else c.unprotected.set(33, x5);
  })],
  ['jumbf: duplicate a box', (s, r) => {
    const m = manifestOf(s, r);
    const kids = m.children!.slice(1);
    const c = r.pick(kids);
    m.children!.push(labelOf(c) === 'c2pa.signature' ? { ...structuredClone(c), children: [c.children![0]!, { type: 'cbor', payload: encode([]) }] } : structuredClone(c));
  }],
  ['jumbf: XLBox or LBox 0', (s, r) => {
    const boxes = superboxes(s).flatMap((b) => [b, ...(b.children ?? [])]);
    const b = r.pick(boxes);
    b.framing = r.next() < 0.5 ? 'xl' : 'zero';
  }],
  ['jumbf: swap two boxes', (s, r) => {
    const parent = r.pick(superboxes(s).filter((b) => b.children!.length > 2));
    const i = 1 + r.int(parent.children!.length - 1);
    const j = 1 + r.int(parent.children!.length - 1);
    [parent.children![i], parent.children![j]] = [parent.children![j]!, parent.children![i]!];
  }],
  ['jumbf: relabel a box', (s, r) => {
    const b = r.pick(superboxes(s).slice(1));
    const d = b.children![0]!;
    const p = Buffer.from(d.payload!);
    const nul = p.indexOf(0, 17);
    if (nul > 18) p[17 + r.int(nul - 17)] = r.pick([0x2e, 0x5f, 0x61, 0x32]);
    d.payload = p;
  }],
  ['claim: drop or retype a field (unsigned)', (s, r) => {
    const c = claimCbor(manifestOf(s, r));
    const claim = decodeKeepingKeys(c.payload!) as Map<string, unknown>;
    const k = r.pick([...claim.keys()]);
    if (r.next() < 0.5) claim.delete(k);
    else claim.set(k, r.pick([new Map(), [], 0, '', null]));
    c.payload = encode(claim);
  }],
  ['claim: drop, retype or add a field, re-signed', (s, r, { keyPem }) => {
    const m = s.children!.at(-1)!;
    const c = claimCbor(m);
    const claim = decodeKeepingKeys(c.payload!) as Map<string | number, unknown>;
    const k = r.pick([...claim.keys(), 'x-extra', 33]);
    const roll = r.next();
    if (roll < 0.4) claim.delete(k);
    else if (roll < 0.8) claim.set(k, r.pick([new Map(), [], 0, '', null, 'text', new Map([['name', 1]])]));
    else claim.set(k, claim.get(k) ?? 'x');
    c.payload = encode(claim);
    const cbor = sigCbor(m);
    const cose = readCose(cbor.payload!);
    cose.signature = signClaim(keyPem, cose.protectedBytes, c.payload);
    cbor.payload = writeCose(cose);
  }],
  ['assertion: edit an action, re-hash and re-sign', (s, r, { keyPem }) => {
    // What a signer can write: the verdict c2pa-rs gives on the shape must not be learnt across files that differ here.
    editAssertion(s, /^c2pa\.actions/, keyPem, (data) => {
      const actions = data.get('actions') as Map<string, unknown>[] | undefined;
      if (!actions?.length) return;
      const a = r.pick(actions);
      const field = r.pick(['action', 'when', 'softwareAgent', 'digitalSourceType', 'parameters', 'changes', 'reason', 'description', 'instanceId', 'x-extra']);
      const value = r.pick<unknown>(['c2pa.opened', 'c2pa.placed', 'c2pa.edited', '', 0, null, [], new Map(), new Map([['name', 0]]), 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture', 'not a date']);
      if (r.next() < 0.2) a.delete(field);
      else a.set(field, value);
      if (r.next() < 0.15) actions.push(new Map(a));
    });
  }],
  ['cose: re-sign with the chain moved or doubled', (s, r, { keyPem, chain }) => {
    const m = s.children!.at(-1)!;
    const cbor = sigCbor(m);
    const cose = readCose(cbor.payload!);
    const forms: [Map<number | string, unknown>, [number | string, unknown] | undefined][] = [
      [new Map([[1, -7]]), ['x5chain', chain]],
      [new Map([[1, -7]]), [33, chain]],
      [new Map<number | string, unknown>([[1, -7], ['x5chain', chain]]), undefined],
      [new Map<number | string, unknown>([[1, -7], [33, chain[0]!]]), ['x5chain', chain[0]!]],
      [new Map<number | string, unknown>([[1, -7], [33, chain]]), undefined],
    ];
    const [p, u] = r.pick(forms);
    cose.protectedBytes = encode(p);
    cose.signature = signClaim(keyPem, cose.protectedBytes, claimCbor(m).payload!);
    if (u) cose.unprotected.set(u[0], u[1]);
    cbor.payload = writeCose(cose);
  }],
  ['cose: a sound token from an untrusted TSA', (s, r, { tokens }) => {
    const m = s.children!.at(-1)!;
    const cbor = sigCbor(m);
    const cose = readCose(cbor.payload!);
    const header = r.pick(['sigTst', 'sigTst2']);
    const token = tokens.get(Buffer.from(cose.signature).toString('hex') + header);
    if (!token) return;
    const entry: [string, unknown] = [header, new Map([['tstTokens', [new Map([['val', token]])]]])];
    cose.unprotected = r.next() < 0.5 ? new Map([entry, ...cose.unprotected]) : new Map([...cose.unprotected, entry]);
    cbor.payload = writeCose(cose);
  }],
  ['store: move the active manifest', (s) => {
    const ms = s.children!.splice(1);
    if (ms.length > 1) s.children!.push(...ms.slice(1), ms[0]!);
    else s.children!.push(...ms);
  }],
];

export async function c2paDifferentialTarget(): Promise<FuzzTarget> {
  const chain = await makeDevChain();
  const signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
  const certs = pemCertificates(chain.chainPem);
  const demo = (n: string) => readFileSync(join(ROOT, 'fixtures', 'demo', n));
  const seeds: Uint8Array[] = [];
  for (const [n, f] of [['sample.png', 'png'], ['sample.jpg', 'jpeg']] as const) {
    for (const provider of ['A LLP', 'B LLP']) seeds.push(await signC2pa(demo(n), f, makeProvenance({ contentId: `fuzz-${provider}`, createdAt: '2026-01-01T00:00:00.000Z', generator: 'fuzz/1', provider }), { signer }));
  }
  for (const rel of ['c2pa/C-capture-cawg.jpg', 'c2pa/C-algorithmic.jpg', 'c2pa/adobe-firefly.png', 'c2pa/amazon-titan-g1.png', 'c2pa/nikon-z9-camera-signed.jpg']) {
    const p = join(CORPUS, rel);
    if (existsSync(p)) seeds.push(readFileSync(p));
  }
  // Sound tokens from a TSA nobody trusts over each tamga seed's signature, in both headers' forms.
  const tsa = await makeTestTsa();
  const tokens = new Map<string, Uint8Array>();
  for (const seed of seeds.slice(0, 4)) {
    const format = sniff(seed)!.format as 'png' | 'jpeg';
    const store = parseBoxes(format === 'png' ? pngStore(seed) : jpegStore(seed))[0]!;
    const m = store.children!.at(-1)!;
    const cose = readCose(sigCbor(m).payload!);
    const id = Buffer.from(cose.signature).toString('hex');
    tokens.set(id + 'sigTst', await makeTimeStampToken(tsa, sigStructure('CounterSignature', cose.protectedBytes, claimCbor(m).payload!)));
    tokens.set(id + 'sigTst2', await makeTimeStampToken(tsa, sigStructure('CounterSignature', cose.protectedBytes, encode(cose.signature))));
  }
  const ctx: Ctx = { chain: certs, keyPem: chain.keyPem, tokens };
  const mutators: Mutator[] = STORE_EDITS.map(([name, edit]) => ({
    name,
    mutate: (b, r) => {
      const format = sniff(b)?.format;
      if (format !== 'png' && format !== 'jpeg') return b;
      try {
        return mutateStore(b, format, (s) => edit(s, r, ctx));
      } catch {
        return b; // the edit did not apply, or the store cannot be fitted back to its length
      }
    },
  }));
  const opts = { trustAnchors: chain.rootPem };
  return {
    name: 'metadata/c2pa: differential against c2pa-rs',
    seeds,
    mutators,
    // Mostly store-level edits; byte-level damage is the other C2PA target's job, but some is mixed in.
    mutatorShare: 0.8,
    async run(input) {
      const format = sniff(input)?.format;
      if (!format) return;
      const siblings = seeds.filter((s) => sniff(s)?.format === format);
      resetFastC2pa();
      const truth = bare(await readC2pa(input, format, { ...opts, fast: false }));
      const answers: [string, unknown][] = [];
      resetFastC2pa();
      answers.push(['alone', bare(await readC2pa(input, format, opts))]);
      resetFastC2pa();
      for (const s of siblings) await readC2pa(s, format, opts);
      answers.push(['after the genuine seeds', bare(await readC2pa(input, format, opts))]);
      resetFastC2pa();
      answers.push(['first', bare(await readC2pa(input, format, opts))]);
      for (const s of siblings) {
        const g = bare(await readC2pa(s, format, opts));
        const expected = bare(await readC2pa(s, format, { ...opts, fast: false }));
        if (!isDeepStrictEqual(g, expected)) throw new Error(`a genuine seed read after the mutant differs from c2pa-rs: ${JSON.stringify(g)} vs ${JSON.stringify(expected)}`);
      }
      for (const [order, a] of answers) if (!isDeepStrictEqual(a, truth)) throw new Error(`read ${order}, tamga says ${JSON.stringify(a)}; c2pa-rs says ${JSON.stringify(truth)}`);
    },
  };
}
