import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertStrictCbor } from '../../src/metadata/cbor-strict.js';
import { rfc3339, verifyTimeStampToken, type VerifiedTimeStamp } from '../../src/metadata/c2pa-timestamp.js';
import { derAt, derChildren, derGeneralizedTime, derOid } from '../../src/metadata/der.js';
import { jpegC2paStore } from '../../src/formats/jpeg.js';
import { corpusFile, hasCorpus } from '../helpers.js';
import { decodeKeepingKeys, parseBoxes } from './c2pa-mutants.js';
import { makeTestTsa, makeTimeStampToken, timeStampSchemasLoaded, type TestTsa } from './test-tsa.js';

/** RFC 3161 tokens (CMS SignedData over a TSTInfo) as the C2PA fast path reads them, and the strict CBOR check. */

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await makeTestTsa();
});
const data = Buffer.from('countersignature data');

describe('RFC 3161 time-stamp tokens', () => {
  it('a sound token over the data: imprint, time and the TSA certificate', async () => {
    const v = verifyTimeStampToken(await makeTimeStampToken(tsa, data, { genTime: '20260101120000Z' }), data);
    expect(v).toMatchObject({ imprintMatches: true, time: '2026-01-01T12:00:00+00:00', ms: Date.UTC(2026, 0, 1, 12) });
    expect(Buffer.from(v!.certificates[0]!)).toEqual(Buffer.from(tsa.certDer));
  });
  it('a sound token over other data: imprintMatches false', async () => {
    expect((verifyTimeStampToken(await makeTimeStampToken(tsa, data), Buffer.from('other')))?.imprintMatches).toBe(false);
  });
  it('the fraction of genTime as c2pa-rs prints it', async () => {
    expect((verifyTimeStampToken(await makeTimeStampToken(tsa, data, { genTime: '20260101120000.5Z' }), data))?.time).toBe('2026-01-01T12:00:00.500+00:00');
    const gt = (tag: number, s: string) => derGeneralizedTime(derAt(Buffer.concat([Uint8Array.of(tag, s.length), Buffer.from(s)])));
    expect(rfc3339(gt(0x18, '20260101120000.123456Z')!)).toBe('2026-01-01T12:00:00.123456+00:00');
    expect(gt(0x18, '202601011200Z')).toBeUndefined();
    expect(gt(0x17, '20260101120000Z')).toBeUndefined();
  });
  it('a TimeStampResp: granted is read, a rejection is not', async () => {
    expect((verifyTimeStampToken(await makeTimeStampToken(tsa, data, { response: 0 }), data))?.imprintMatches).toBe(true);
    expect(verifyTimeStampToken(await makeTimeStampToken(tsa, data, { response: 2 }), data)).toBeUndefined();
  });
  it('refuses a wrong messageDigest, a changed signature, trailing bytes and non-DER lengths', async () => {
    expect(verifyTimeStampToken(await makeTimeStampToken(tsa, data, { badMessageDigest: true }), data)).toBeUndefined();
    const good = Buffer.from(await makeTimeStampToken(tsa, data));
    const sigAt = good.length - 20; // inside the ECDSA signature, the token's last field
    const flipped = Buffer.from(good);
    flipped[sigAt]! ^= 1;
    expect(verifyTimeStampToken(flipped, data)).toBeUndefined();
    expect(verifyTimeStampToken(Buffer.concat([good, Uint8Array.of(0)]), data)).toBeUndefined();
    // The outer SEQUENCE's length in a longer form than DER allows (BER).
    const lenBytes = good[1]! & 0x7f;
    const ber = Buffer.concat([Uint8Array.of(0x30, 0x80 | (lenBytes + 1), 0), good.subarray(2)]);
    expect(verifyTimeStampToken(ber, data)).toBeUndefined();
  });
  it.skipIf(!hasCorpus)('the tokens of corpus files verify (sigTst and sigTst2)', async () => {
    for (const name of ['C-capture-cawg.jpg', 'C-algorithmic.jpg']) {
      const store = parseBoxes(jpegC2paStore(readFileSync(join(corpusFile('c2pa'), name)))!)[0]!;
      const manifest = store.children!.at(-1)!;
      const sig = manifest.children!.find((c) => c.children?.[1]?.type === 'cbor' && Buffer.from(c.children[0]!.payload!).includes('c2pa.signature'))!;
      const cose = (decodeKeepingKeys(sig.children![1]!.payload!) as { value: [Uint8Array, Map<string, unknown>] }).value;
      const header = (cose[1].get('sigTst2') ?? cose[1].get('sigTst')) as Map<string, Map<string, Uint8Array>[]>;
      const token = header.get('tstTokens')![0]!.get('val')!;
      // Over the wrong data the token still verifies as a token, but does not stamp it.
      const v = verifyTimeStampToken(token, Buffer.from('not the claim'));
      expect(v?.imprintMatches, name).toBe(false);
      await expectSchemasAgree(token, v!);
    }
  });
  it('agrees with the @peculiar/asn1-cms schemas on the time, the certificates and the encoding', async () => {
    for (const genTime of ['20260101120000Z', '20260101120000.25Z']) {
      const token = await makeTimeStampToken(tsa, data, { genTime });
      await expectSchemasAgree(token, verifyTimeStampToken(token, data)!);
    }
  });
});

/** The schema parse of `token` gives the same genTime and certificates, and writes the token back byte for byte (it is DER). */
async function expectSchemasAgree(token: Uint8Array, v: VerifiedTimeStamp): Promise<void> {
  const { schema, cms, TSTInfo, TimeStampResp } = await timeStampSchemasLoaded();
  const { AsnConvert } = schema;
  // sigTst holds a TimeStampResp, sigTst2 the bare token.
  const first = token[1]! & 0x80 ? 2 + (token[1]! & 0x7f) : 2;
  const outer = token[first] === 0x30 ? AsnConvert.parse(token, TimeStampResp) : AsnConvert.parse(token, cms.ContentInfo);
  expect(Buffer.from(AsnConvert.serialize(outer))).toEqual(Buffer.from(token));
  const ci = outer instanceof TimeStampResp ? outer.timeStampToken! : (outer as InstanceType<typeof cms.ContentInfo>);
  const sd = AsnConvert.parse(ci.content, cms.SignedData);
  const tst = AsnConvert.parse(sd.encapContentInfo.eContent!.single!.buffer, TSTInfo);
  const gen = derGeneralizedTime(derAt(new Uint8Array(tst.genTime)))!;
  expect(v.time).toBe(rfc3339(gen));
  const certs = (sd.certificates ?? []).map((c) => Buffer.from(AsnConvert.serialize(c.certificate!)));
  expect(new Set(v.certificates.map((c) => Buffer.from(c).toString('hex')))).toEqual(new Set(certs.map((c) => c.toString('hex'))));
}

describe('DER reader', () => {
  const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
  it('reads elements, children and OIDs', () => {
    const seq = derAt(hex('30 06 06 01 2a 02 01 05'));
    expect(derChildren(seq).map((c) => c.tag)).toEqual([0x06, 0x02]);
    expect(derOid(derAt(hex('06 09 60 86 48 01 65 03 04 02 01')))).toBe('2.16.840.1.101.3.4.2.1');
    expect(derAt(hex(`04 81 80 ${'00'.repeat(128)}`)).end).toBe(131);
  });
  it.each([
    ['a long-form length under 128', '04 81 05 0102030405'],
    ['a length with a leading zero octet', `04 82 0080 ${'00'.repeat(128)}`],
    ['an indefinite length', '30 80 0000'],
    ['a high tag number', '1f 81 00'],
    ['an element past its parent', '30 03 04 05 00'],
    ['a truncated header', '30'],
  ])('refuses %s', (_what, h) => {
    const b = hex(h);
    expect(() => derChildren(derAt(b))).toThrow();
  });
});

describe('strict CBOR', () => {
  const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
  it('accepts definite and indefinite items, floats and allowed tags', () => {
    expect(() => assertStrictCbor(hex('a2 6161 01 6162 02'))).not.toThrow(); // {"a":1,"b":2}
    expect(() => assertStrictCbor(hex('bf 6161 9f 01 02 ff ff'))).not.toThrow(); // {_ "a": [_ 1, 2]}
    expect(() => assertStrictCbor(hex('7f 6161 6162 ff'))).not.toThrow(); // (_ "a", "b")
    expect(() => assertStrictCbor(hex('fb 3ff199999999999a'))).not.toThrow(); // 1.1
    expect(() => assertStrictCbor(hex('d2 80'), { topTag: 18 })).not.toThrow();
    expect(() => assertStrictCbor(hex('a1 6161 c0 6130'), { tags: new Set([0]) })).not.toThrow();
  });
  it.each([
    ['a duplicate key', 'a2 6161 01 6161 02'],
    ['an integer and a text key with one name', 'a2 1821 01 624 33 3 02'.replace('624 33 3', '623333')],
    ['a duplicate key in an indefinite map', 'bf 6161 01 6161 02 ff'],
    ['a __proto__ key', 'a1 695f5f70726f746f5f5f 01'],
    ['invalid UTF-8', '62 c328'],
    ['a tag', 'c0 6130'],
    ['a tag below the top', '81 d2 80'],
    ['undefined', 'f7'],
    ['trailing bytes', '01 02'],
    ['a truncated string', '65 6162'],
    ['an indefinite item without a break', '9f 01'],
    ['a reserved additional information', '1c'],
  ])('refuses %s', (_what, h) => {
    expect(() => assertStrictCbor(hex(h), { topTag: 18 })).toThrow();
  });
});
