import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { label } from '../../src/api.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { checkOptOut, signalsFromFindings, type OptOutItem } from '../../src/optout/check.js';
import { corpusFile, exiftool, hasCorpus, hasExiftool, ROOT, tempDir } from '../helpers.js';

const tmp = tempDir('tamga-optout-check-');
afterAll(() => tmp.cleanup());
const SAMPLE_PNG = join(ROOT, 'fixtures', 'demo', 'sample.png');
const SAMPLE_JPG = join(ROOT, 'fixtures', 'demo', 'sample.jpg');

const byItem = (items: OptOutItem[]) => Object.fromEntries(items.map((i) => [i.item, i]));
const sources = (i: OptOutItem | undefined) => (i?.signals ?? []).map((s) => `${s.source}=${s.verdict}`);

/** An XMP packet with plus:DataMining (and optional plus:OtherConstraints), as another tool would write it. */
const plusPacket = (value: string, constraints?: string) =>
  `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
  `<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"><plus:DataMining>${value}</plus:DataMining>` +
  (constraints ? `<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">${constraints}</rdf:li></rdf:Alt></plus:OtherConstraints>` : '') +
  `</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;

describe('embedded signals in files tamga labelled', () => {
  it('label({ reserveTraining }) writes plus:DataMining that optout reads as reserved (JPEG, PNG)', async () => {
    for (const [src, name] of [[SAMPLE_JPG, 'r.jpg'], [SAMPLE_PNG, 'r.png']] as const) {
      const out = join(tmp.dir, name);
      await label(src, {}, { output: out, visible: false, reserveTraining: true });
      const [item] = await checkOptOut(out);
      expect(item).toMatchObject({ verdict: 'reserved', decisive: { source: 'xmp:plus-data-mining', value: 'http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING' } });
      expect(item!.decisive!.where).toMatch(new RegExp(`${name}#(jpeg|png):`));
      expect(item!.sha256).toBe(createHash('sha256').update(readFileSync(out)).digest('hex'));
    }
  });

  it('without reserveTraining nothing is reserved: verdict unknown, no signals', async () => {
    const out = join(tmp.dir, 'plain.png');
    await label(SAMPLE_PNG, {}, { output: out, visible: false });
    const [item] = await checkOptOut(out);
    expect(item).toMatchObject({ verdict: 'unknown', signals: [], format: 'png' });
  });

  it('a signed C2PA label with reserveTraining carries cawg.training-mining too (one flag, every layer)', async () => {
    const chain = await makeDevChain();
    const out = join(tmp.dir, 'signed.jpg');
    await label(SAMPLE_JPG, {}, { output: out, visible: false, reserveTraining: true, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
    const [item] = await checkOptOut(out);
    expect(item!.verdict).toBe('reserved');
    expect(item!.decisive).toMatchObject({ source: 'c2pa:training-mining', signed: true });
    expect(sources(item)).toEqual(expect.arrayContaining(['xmp:plus-data-mining=reserved', 'c2pa:training-mining=reserved']));
    const keys = item!.signals.filter((s) => s.source === 'c2pa:training-mining').map((s) => s.value.split(':')[0]);
    expect(keys.sort()).toEqual(['cawg.ai_generative_training', 'cawg.ai_training']);
  });

  it('HTML: label({ reserveTraining }) writes one tdm-reservation meta (replacing the page\'s own); without it the page\'s own stays', async () => {
    const page = join(tmp.dir, 'page.html');
    writeFileSync(page, '<!doctype html>\n<html><head><title>t</title><meta name="tdm-reservation" content="0"></head><body><p>hi</p></body></html>\n');
    const once = join(tmp.dir, 'page1.html');
    const twice = join(tmp.dir, 'page2.html');
    await label(page, {}, { output: once, visible: false, reserveTraining: true });
    await label(once, {}, { output: twice, visible: false, reserveTraining: true });
    expect(readFileSync(twice, 'utf8').match(/name="tdm-reservation"/g)).toHaveLength(1);
    const [item] = await checkOptOut(twice);
    expect(item).toMatchObject({ verdict: 'reserved', format: 'html', decisive: { source: 'tdmrep:html-meta', value: 'tdm-reservation: 1' } });
    const kept = join(tmp.dir, 'page3.html');
    await label(page, {}, { output: kept, visible: false });
    expect((await checkOptOut(kept))[0]).toMatchObject({ verdict: 'allowed', decisive: { source: 'tdmrep:html-meta', value: 'tdm-reservation: 0' } });
  });

  it('rejects a non-boolean reserveTraining with INVALID_OPTION', async () => {
    await expect(label(SAMPLE_PNG, {}, { reserveTraining: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: /reserveTraining/ });
  });
});

describe.skipIf(!hasExiftool)('plus:DataMining written by exiftool (third-party writer)', () => {
  it.each([
    ['http://ns.useplus.org/ldf/vocab/DMI-ALLOWED', undefined, 'allowed'],
    ['http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING', undefined, 'reserved'],
    ['http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-SEECONSTRAINT', 'Licence: https://ex.kz/l', 'reserved'],
    ['http://ns.useplus.org/ldf/vocab/DMI-UNSPECIFIED', undefined, 'unknown'],
  ])('%s (constraints: %s) -> %s', async (value, constraints, verdict) => {
    const xmp = join(tmp.dir, `p${verdict}${Boolean(constraints)}.xmp`);
    writeFileSync(xmp, plusPacket(value, constraints));
    const img = join(tmp.dir, `x-${value.split('/').pop()}.png`);
    copyFileSync(SAMPLE_PNG, img);
    exiftool(['-q', '-overwrite_original', `-xmp<=${xmp}`, img]);
    const [item] = await checkOptOut(img);
    expect(item!.verdict).toBe(verdict);
    expect(item!.signals[0]).toMatchObject({ source: 'xmp:plus-data-mining', value });
    if (constraints) expect(item!.signals[0]!.policy).toBe(constraints);
  });
});

describe('C2PA findings (from detect) with the training-mining assertion', () => {
  it('reads the entries map, an {entries} body and {label, data} pairs; an invalid manifest still reserves, unsigned', () => {
    const entries = { 'c2pa.ai_generative_training': { use: 'notAllowed' }, 'cawg.data_mining': { use: 'allowed' } };
    const shapes = [entries, { entries }, [{ label: 'c2pa.training-mining', data: { entries } }]];
    for (const trainingMining of shapes) {
      const s = signalsFromFindings([{ layer: 'c2pa', kind: 'c2pa:manifest', value: { validationState: 'untrusted', trainingMining }, confidence: 1, where: 'jpeg:APP11-C2PA@2' }], 'genai-training', 'f.jpg');
      expect(s.map((x) => x.verdict)).toEqual(['reserved', 'allowed']);
      expect(s[0]).toMatchObject({ where: 'f.jpg#jpeg:APP11-C2PA@2', signed: true });
    }
    const tampered = signalsFromFindings([{ layer: 'c2pa', kind: 'c2pa:manifest', value: { validationState: 'invalid', trainingMining: entries }, confidence: 1 }], 'genai-training', 'f.jpg');
    expect(tampered[0]).toMatchObject({ verdict: 'reserved', signed: false });
    expect(signalsFromFindings([{ layer: 'c2pa', kind: 'c2pa:manifest', value: { validationState: 'valid' }, confidence: 1 }], 'genai-training', 'f')).toEqual([]);
  });
});

describe.skipIf(!hasCorpus)('the shared corpus', () => {
  it('C2PA training-mining in real files: cawg.* (JPEG, WAV) and c2pa.* (HEIC) keys', async () => {
    const files = ['c2pa/C-capture-cawg.jpg', 'c2pa/sample1-signed.wav', 'c2pa/trustnxt-icon-signed.heic'].map(corpusFile);
    const items = byItem(await checkOptOut(files));
    const cawg = items[files[0]!]!;
    expect(cawg.verdict).toBe('reserved');
    expect(cawg.decisive).toMatchObject({ source: 'c2pa:training-mining', value: 'cawg.ai_generative_training: notAllowed' });
    expect(items[files[1]!]!.signals.map((s) => s.value)).toEqual(expect.arrayContaining(['cawg.ai_training: notAllowed', 'cawg.data_mining: notAllowed']));
    expect(items[files[2]!]!.signals.map((s) => s.value)).toEqual(expect.arrayContaining(['c2pa.data_mining: notAllowed', 'c2pa.ai_generative_training: notAllowed']));
    for (const f of files) expect(items[f]!.verdict).toBe('reserved');
  });

  it('the purpose decides: C-capture-cawg.jpg reserves generative training and inference only', async () => {
    const [item] = await checkOptOut(corpusFile('c2pa/C-capture-cawg.jpg'), { purpose: 'ai-training' });
    expect(item!.verdict).toBe('unknown');
    expect(item!.signals).toHaveLength(2);
  });

  it('files with no reservation (camera, generator, C2PA without the assertion) are unknown', async () => {
    const files = ['camera/Canon_40D.jpg', 'generators/automatic1111_cropped.png', 'c2pa/amazon-titan-g1.png', 'c2pa/cicadas-unsigned.mp3'].map(corpusFile);
    const items = await checkOptOut(files);
    expect(items.map((i) => i.verdict)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(items.every((i) => !i.error && i.sha256?.length === 64)).toBe(true);
  });
});

describe('a dataset directory', () => {
  let root: string;
  beforeAll(async () => {
    root = join(tmp.dir, 'dataset');
    for (const d of ['open', 'licensed/2024', 'web']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(
      join(root, 'tdmrep.json'),
      JSON.stringify([
        { location: '/', 'tdm-reservation': 0 },
        { location: '/licensed/', 'tdm-reservation': 1, 'tdm-policy': 'https://ex.kz/tdm-policy.json' },
      ]),
    );
    writeFileSync(join(root, 'robots.txt'), 'User-agent: GPTBot\nDisallow: /web/blocked\n');
    writeFileSync(join(root, 'ai.txt'), 'User-Agent: *\nDisallow: *.gif\n');
    copyFileSync(SAMPLE_PNG, join(root, 'open', 'a.png'));
    copyFileSync(SAMPLE_JPG, join(root, 'open', 'b.jpg'));
    copyFileSync(join(ROOT, 'fixtures', 'demo', 'sample.gif'), join(root, 'open', 'c.gif'));
    copyFileSync(SAMPLE_PNG, join(root, 'licensed', '2024', 'd.png'));
    await label(SAMPLE_JPG, {}, { output: join(root, 'open', 'e.jpg'), visible: false, reserveTraining: true });
    writeFileSync(join(root, 'web', 'page.html'), '<!doctype html><html><head><meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="https://ex.kz/p"></head><body>x</body></html>');
    writeFileSync(join(root, 'web', 'robots.html'), '<html><head><meta name="robots" content="noimageai"></head></html>');
    // A recognised format without an adapter: its embedded metadata cannot be read, which is noted.
    writeFileSync(join(root, 'web', 'blocked.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]));
    copyFileSync(SAMPLE_PNG, join(root, 'web', 'img.png'));
    writeFileSync(join(root, 'web', 'img.png.headers'), 'HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Robots-Tag: noimageai\r\ntdm-reservation: 0\r\n\r\n');
    writeFileSync(join(root, 'web', 'cu.txt'), 'text');
    writeFileSync(join(root, 'web', 'cu.txt.headers'), 'HTTP/2 200\ncontent-type: text/plain\ncontent-usage: train-genai=n\n');
  });

  it('reports every work once, per file, in a stable order; policy files and header sidecars are not works', async () => {
    const items = await checkOptOut(root);
    const rel = items.map((i) => i.item.slice(root.length + 1));
    expect(rel).toEqual(['licensed/2024/d.png', 'open/a.png', 'open/b.jpg', 'open/c.gif', 'open/e.jpg', 'web/blocked.bmp', 'web/cu.txt', 'web/img.png', 'web/page.html', 'web/robots.html']);
  });

  it('the tdmrep.json subtree is reserved, the rest allowed, and other signals override per file', async () => {
    const items = byItem(await checkOptOut(root));
    const at = (r: string) => items[join(root, r)]!;
    expect(at('licensed/2024/d.png')).toMatchObject({ verdict: 'reserved', decisive: { source: 'tdmrep:json', policy: 'https://ex.kz/tdm-policy.json' } });
    expect(at('open/a.png')).toMatchObject({ verdict: 'allowed', decisive: { source: 'tdmrep:json' } });
    expect(at('open/b.jpg').verdict).toBe('allowed');
    expect(at('open/c.gif')).toMatchObject({ verdict: 'reserved', decisive: { source: 'ai.txt' } });
    expect(at('open/e.jpg')).toMatchObject({ verdict: 'reserved', decisive: { source: 'xmp:plus-data-mining' } });
    expect(at('web/blocked.bmp')).toMatchObject({ verdict: 'reserved', decisive: { source: 'robots.txt' } });
    expect(at('web/page.html')).toMatchObject({ verdict: 'reserved', format: 'html', decisive: { source: 'tdmrep:html-meta', policy: 'https://ex.kz/p' } });
    // noimageai on a page does not reserve the page's own text.
    expect(at('web/robots.html')).toMatchObject({ verdict: 'allowed' });
    expect(sources(at('web/robots.html'))).toContain('robots-meta=unknown');
    // The last response of the recorded redirect chain: an image, so noimageai applies.
    expect(at('web/img.png')).toMatchObject({ verdict: 'reserved', decisive: { source: 'x-robots-tag', where: expect.stringMatching(/img\.png\.headers$/) } });
    expect(sources(at('web/img.png'))).toEqual(expect.arrayContaining(['tdmrep:http-header=allowed', 'x-robots-tag=reserved']));
    expect(at('web/cu.txt')).toMatchObject({ verdict: 'reserved', decisive: { source: 'aipref:content-usage' } });
    expect(at('web/blocked.bmp').notes?.join()).toMatch(/embedded metadata not read/);
  });

  it('a file argument gets the root policy with --root, not without', async () => {
    const f = join(root, 'licensed', '2024', 'd.png');
    expect((await checkOptOut(f))[0]!.verdict).toBe('unknown');
    expect((await checkOptOut(f, { root }))[0]!.verdict).toBe('reserved');
  });

  it('reports unreadable inputs as errors and carries on; bad options are INVALID_OPTION', async () => {
    const bad = join(tmp.dir, 'broken.png');
    writeFileSync(bad, readFileSync(SAMPLE_PNG).subarray(0, 60));
    const items = await checkOptOut([join(tmp.dir, 'missing.jpg'), bad, SAMPLE_PNG]);
    expect(items.map((i) => i.error?.code)).toEqual(['READ_FAILED', 'CORRUPT_INPUT', undefined]);
    expect(items[1]!.error!.message.startsWith(bad)).toBe(true);
    expect(items.map((i) => i.verdict)).toEqual(['unknown', 'unknown', 'unknown']);
    await expect(checkOptOut(SAMPLE_PNG, { purpose: 'fun' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(checkOptOut(SAMPLE_PNG, { root: join(tmp.dir, 'nope') })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(checkOptOut([])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
