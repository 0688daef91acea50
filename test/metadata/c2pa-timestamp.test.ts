import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertStrictCbor } from '../../src/metadata/cbor-strict.js';
import { generalizedTime, rfc3339, verifyTimeStampToken } from '../../src/metadata/c2pa-timestamp.js';
import { jpegC2paStore } from '../../src/formats/jpeg.js';
import { corpusFile, hasCorpus } from '../helpers.js';
import { decodeKeepingKeys, parseBoxes } from './c2pa-mutants.js';
import { makeTestTsa, makeTimeStampToken, type TestTsa } from './test-tsa.js';

/** RFC 3161 tokens (CMS SignedData over a TSTInfo) as the C2PA fast path reads them, and the strict CBOR check. */

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await makeTestTsa();
});
const data = Buffer.from('countersignature data');

describe('RFC 3161 time-stamp tokens', () => {
  it('a sound token over the data: imprint, time and the TSA certificate', async () => {
    const v = await verifyTimeStampToken(await makeTimeStampToken(tsa, data, { genTime: '20260101120000Z' }), data);
    expect(v).toMatchObject({ imprintMatches: true, time: '2026-01-01T12:00:00+00:00', ms: Date.UTC(2026, 0, 1, 12) });
    expect(Buffer.from(v!.certificates[0]!)).toEqual(Buffer.from(tsa.certDer));
  });
  it('a sound token over other data: imprintMatches false', async () => {
    expect((await verifyTimeStampToken(await makeTimeStampToken(tsa, data), Buffer.from('other')))?.imprintMatches).toBe(false);
  });
  it('the fraction of genTime as c2pa-rs prints it', async () => {
    expect((await verifyTimeStampToken(await makeTimeStampToken(tsa, data, { genTime: '20260101120000.5Z' }), data))?.time).toBe('2026-01-01T12:00:00.500+00:00');
    expect(rfc3339(generalizedTime(Buffer.concat([Uint8Array.of(0x18, 22), Buffer.from('20260101120000.123456Z')]))!)).toBe('2026-01-01T12:00:00.123456+00:00');
    expect(generalizedTime(Buffer.concat([Uint8Array.of(0x18, 13), Buffer.from('202601011200Z')]))).toBeUndefined();
    expect(generalizedTime(Buffer.concat([Uint8Array.of(0x17, 15), Buffer.from('20260101120000Z')]))).toBeUndefined();
  });
  it('a TimeStampResp: granted is read, a rejection is not', async () => {
    expect((await verifyTimeStampToken(await makeTimeStampToken(tsa, data, { response: 0 }), data))?.imprintMatches).toBe(true);
    expect(await verifyTimeStampToken(await makeTimeStampToken(tsa, data, { response: 2 }), data)).toBeUndefined();
  });
  it('refuses a wrong messageDigest, a changed signature, trailing bytes and non-DER lengths', async () => {
    expect(await verifyTimeStampToken(await makeTimeStampToken(tsa, data, { badMessageDigest: true }), data)).toBeUndefined();
    const good = Buffer.from(await makeTimeStampToken(tsa, data));
    const sigAt = good.length - 20; // inside the ECDSA signature, the token's last field
    const flipped = Buffer.from(good);
    flipped[sigAt]! ^= 1;
    expect(await verifyTimeStampToken(flipped, data)).toBeUndefined();
    expect(await verifyTimeStampToken(Buffer.concat([good, Uint8Array.of(0)]), data)).toBeUndefined();
    // The outer SEQUENCE's length in a longer form than DER allows (BER).
    const lenBytes = good[1]! & 0x7f;
    const ber = Buffer.concat([Uint8Array.of(0x30, 0x80 | (lenBytes + 1), 0), good.subarray(2)]);
    expect(await verifyTimeStampToken(ber, data)).toBeUndefined();
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
      expect((await verifyTimeStampToken(token, Buffer.from('not the claim')))?.imprintMatches, name).toBe(false);
    }
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
