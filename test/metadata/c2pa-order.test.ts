import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProvenance } from '../../src/core/provenance.js';
import type { Format } from '../../src/core/types.js';
import { resetFastC2pa } from '../../src/metadata/c2pa-fast.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { readC2pa, signC2pa, type C2paReadOptions } from '../../src/metadata/c2pa.js';
import { localSigner, pemCertificates } from '../../src/metadata/cose.js';
import { corpusFile, hasCorpus, ROOT } from '../helpers.js';
import { bare, mutate, readCose, sigCbor, writeCose } from './c2pa-mutants.js';

/**
 * The C2PA invariant: a file's report is a function of its bytes and the trust settings alone.
 * The same files are read alone (empty cache), in order, in reverse, shuffled, and in a worker
 * thread; every report must be the same (`validatedBy` aside, which says which reader answered).
 */

type Report = Awaited<ReturnType<typeof readC2pa>>;

interface Item {
  name: string;
  bytes: Buffer;
  format: Format;
}
const items: Item[] = [];
let opts: C2paReadOptions;

beforeAll(async () => {
  const chain = await makeDevChain();
  const signer = localSigner({ cert: chain.chainPem, key: chain.keyPem });
  opts = { trustAnchors: chain.rootPem };
  const demo = (n: string) => readFileSync(join(ROOT, 'fixtures', 'demo', n));
  for (const [n, format] of [['sample.png', 'png'], ['sample.jpg', 'jpeg']] as const) {
    for (const provider of ['A LLP', 'B LLP']) items.push({ name: `${n} ${provider}`, bytes: Buffer.from(await signC2pa(demo(n), format, makeProvenance({ provider }), { signer })), format });
  }
  const leaf = pemCertificates(chain.chainPem)[0]!;
  // Two crafted files among them: each must not change the others' answers, nor get theirs.
  items.push({
    name: 'x5chain in both headers',
    bytes: mutate(items[0]!.bytes, 'png', (s) => {
      const cbor = sigCbor(s.children!.at(-1)!);
      const cose = readCose(cbor.payload!);
      cose.unprotected.set('x5chain', leaf);
      cbor.payload = writeCose(cose);
    }),
    format: 'png',
  });
  items.push({
    name: 'untagged COSE',
    bytes: mutate(items[2]!.bytes, 'jpeg', (s) => {
      const cbor = sigCbor(s.children!.at(-1)!);
      cbor.payload = writeCose({ ...readCose(cbor.payload!), tagged: false });
    }),
    format: 'jpeg',
  });
  if (hasCorpus) {
    for (const [n, format] of [['C-capture-cawg.jpg', 'jpeg'], ['adobe-firefly.png', 'png'], ['openai-dalle-puppy.webp', 'webp'], ['E-clm-CAICAI-missing-claim.jpg', 'jpeg'], ['XCA-datahash-mismatch.jpg', 'jpeg']] as const) {
      items.push({ name: n, bytes: readFileSync(join(corpusFile('c2pa'), n)), format });
    }
  }
});

async function readAll(order: Item[], reset: boolean): Promise<Map<string, Report>> {
  const out = new Map<string, Report>();
  if (!reset) resetFastC2pa();
  for (const it of order) {
    if (reset) resetFastC2pa();
    // Twice: the second read of a file may be answered natively from what the first taught.
    await readC2pa(it.bytes, it.format, opts);
    out.set(it.name, bare(await readC2pa(it.bytes, it.format, opts)));
  }
  return out;
}

describe('C2PA reports do not depend on read order, cache or thread', () => {
  it('alone, in order, in reverse and shuffled: the same reports', async () => {
    const alone = await readAll(items, true);
    const truth = new Map<string, Report>();
    for (const it of items) truth.set(it.name, bare(await readC2pa(it.bytes, it.format, { ...opts, fast: false })));
    expect(alone).toEqual(truth);
    expect(await readAll(items, false)).toEqual(truth);
    expect(await readAll([...items].reverse(), false)).toEqual(truth);
    let seed = 17;
    const shuffled = [...items].sort(() => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
    expect(await readAll(shuffled, false)).toEqual(truth);
  });

  it('in a worker thread: the same reports as in the main thread', async () => {
    resetFastC2pa();
    const main: Report[] = [];
    for (const it of items) main.push(bare(await readC2pa(it.bytes, it.format, opts)));
    const worker = new Worker(new URL('./c2pa-read-worker.mjs', import.meta.url), { workerData: { files: items.map((i) => ({ bytes: i.bytes, format: i.format })), opts } });
    const inWorker = await new Promise<Report[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(inWorker.map(bare)).toEqual(main);
  }, 60_000);
});
