import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WARCRecord, WARCSerializer } from 'warcio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { label } from '../../src/api.js';
import { checkOptOut } from '../../src/optout/check.js';
import { readWarcResponses } from '../../src/optout/warc.js';
import { expectOnlyCorruptUnderDamage, ROOT, tempDir } from '../helpers.js';

const tmp = tempDir('tamga-optout-warc-');
afterAll(() => tmp.cleanup());

async function* once(b: Uint8Array) {
  yield b;
}

/** One record serialised by warcio (a third-party WARC writer), gzipped per record when asked. */
async function warcioRecord(
  url: string,
  type: 'response' | 'request' | 'resource',
  headers: Record<string, string>,
  body: Uint8Array | string,
  gzip: boolean,
): Promise<Uint8Array> {
  const payload = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const httpHeaders = type === 'resource' ? {} : { httpHeaders: headers, statusline: type === 'request' ? 'GET / HTTP/1.1' : 'HTTP/1.1 200 OK' };
  const rec = WARCRecord.create({ url, type, warcVersion: 'WARC/1.1', ...httpHeaders }, once(payload));
  return WARCSerializer.serialize(rec, { gzip });
}

/** A WARC/1.0 record written by hand from the ISO 28500 grammar (no library involved). */
function handRecord(uri: string, http: string): Buffer {
  const block = Buffer.from(http, 'latin1');
  return Buffer.concat([
    Buffer.from(
      `WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: ${uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n` +
        `WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: ${block.length}\r\n\r\n`,
      'latin1',
    ),
    block,
    Buffer.from('\r\n\r\n', 'latin1'),
  ]);
}

let gz: string;
let plain: string;
beforeAll(async () => {
  const reservedPng = (await label(readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.png')), {}, { visible: false, reserveTraining: true })).data!;
  const html = '<!doctype html><html><head><meta name="robots" content="noai"></head><body>' + 'x'.repeat(300_000) + '</body></html>';
  const parts = [
    await warcioRecord('https://ex.kz/', 'request', { Host: 'ex.kz' }, '', true),
    await warcioRecord('https://ex.kz/page', 'response', { 'Content-Type': 'text/html; charset=utf-8' }, html, true),
    await warcioRecord('https://ex.kz/a.png', 'response', { 'Content-Type': 'image/png', 'X-Robots-Tag': 'noimageai' }, readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.png')), true),
    await warcioRecord('https://ex.kz/b.png', 'response', { 'Content-Type': 'image/png' }, reservedPng, true),
    await warcioRecord('https://ex.kz/c.txt', 'response', { 'Content-Type': 'text/plain', 'TDM-Reservation': '1', 'TDM-Policy': 'https://ex.kz/policy' }, 'hello', true),
    await warcioRecord('https://ex.kz/d.txt', 'response', { 'Content-Type': 'text/plain' }, 'no signal', true),
  ];
  gz = join(tmp.dir, 'crawl.warc.gz');
  writeFileSync(gz, Buffer.concat(parts));
  plain = join(tmp.dir, 'hand.warc');
  writeFileSync(
    plain,
    Buffer.concat([
      handRecord('http://ex.kz/x.jpg', 'HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\nX-Robots-Tag: noai\r\n\r\n\xff\xd8\xff'),
      handRecord('http://ex.kz/y', 'HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Usage: train-ai=n\r\n\r\n<html><head><meta name=tdm-reservation content=0></head></html>'),
    ]),
  );
});

describe('WARC input', () => {
  it('reports each response record (request records skipped) with its target URI and verdict', async () => {
    const items = await checkOptOut(gz);
    expect(items.map((i) => [i.item, i.verdict, i.decisive?.source])).toEqual([
      ['https://ex.kz/page', 'reserved', 'robots-meta'],
      ['https://ex.kz/a.png', 'reserved', 'x-robots-tag'],
      ['https://ex.kz/b.png', 'reserved', 'xmp:plus-data-mining'],
      ['https://ex.kz/c.txt', 'reserved', 'tdmrep:http-header'],
      ['https://ex.kz/d.txt', 'unknown', undefined],
    ]);
    const sha = items[0]!.sha256;
    expect(items.every((i) => i.file === gz && i.sha256 === sha && i.record?.id?.startsWith('<urn:uuid:'))).toBe(true);
    expect(items[3]!.decisive).toMatchObject({ policy: 'https://ex.kz/policy', where: `${gz}@${items[3]!.record!.offset}` });
    // Offsets are where each gzip member starts: strictly increasing, inside the file.
    const offsets = items.map((i) => i.record!.offset);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(items[2]!.format).toBe('png');
  });

  it('reads an uncompressed WARC/1.0 written by hand, and a whole-file gzip of it', async () => {
    for (const file of [plain, join(tmp.dir, 'hand.warc.gz')]) {
      if (file.endsWith('.gz')) writeFileSync(file, gzipSync(readFileSync(plain)));
      const items = await checkOptOut(file);
      expect(items.map((i) => [i.item, i.verdict, i.decisive?.source, i.record?.offset === undefined])).toEqual([
        ['http://ex.kz/x.jpg', 'reserved', 'x-robots-tag', false],
        ['http://ex.kz/y', 'reserved', 'aipref:content-usage', false],
      ]);
      expect(items[1]!.signals.map((s) => `${s.source}=${s.verdict}`)).toEqual(['aipref:content-usage=reserved', 'tdmrep:html-meta=allowed']);
      expect(items[0]!.notes?.join()).toMatch(/embedded metadata not read/);
    }
  });

  it('keeps only the start of a large payload and skips payloads it does not need', async () => {
    const seen: { uri: string; bytes: number; truncated: boolean }[] = [];
    for await (const r of readWarcResponses(gz, (ct) => (ct === 'text/html' ? 1000 : 0))) seen.push({ uri: r.targetUri, bytes: r.payload.length, truncated: r.payloadTruncated });
    expect(seen[0]).toEqual({ uri: 'https://ex.kz/page', bytes: 1000, truncated: true });
    expect(seen.slice(1).every((s) => s.bytes === 0)).toBe(true);
    expect(seen).toHaveLength(5);
  });

  it('a file that is not a WARC, or is cut short, is a CORRUPT_INPUT item, not a crash', async () => {
    const junk = join(tmp.dir, 'junk.warc');
    writeFileSync(junk, 'this is not a warc file\r\n\r\nat all');
    const [j] = await checkOptOut(junk);
    expect(j!.error?.code).toBe('CORRUPT_INPUT');
    // Cut inside the second record: the first is reported, then the truncation (warcio hangs here).
    const cut = join(tmp.dir, 'cut.warc');
    const whole = readFileSync(plain);
    writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const items = await checkOptOut(cut);
    expect(items.map((i) => [i.item, i.error?.code])).toEqual([
      ['http://ex.kz/x.jpg', undefined],
      [cut, 'CORRUPT_INPUT'],
    ]);
    expect(items[1]!.error!.message).toMatch(/truncated/);
    const cutGz = join(tmp.dir, 'cut.warc.gz');
    writeFileSync(cutGz, gzipSync(whole).subarray(0, 100));
    expect((await checkOptOut(cutGz)).at(-1)!.error?.code).toBe('CORRUPT_INPUT');
    const longLine = join(tmp.dir, 'long.warc');
    writeFileSync(longLine, 'WARC/1.0\r\nX: ' + 'a'.repeat(200_000));
    expect((await checkOptOut(longLine))[0]!.error?.message).toMatch(/header line longer/);
  });

  it('decodes chunked transfer coding and gzip content coding before reading the meta', async () => {
    const html = gzipSync('<html><head><meta name="robots" content="noai"></head><body>hi</body></html>');
    const chunked = Buffer.concat([Buffer.from(`${(20).toString(16)}\r\n`), html.subarray(0, 20), Buffer.from(`\r\n${(html.length - 20).toString(16)}\r\n`), html.subarray(20), Buffer.from('\r\n0\r\n\r\n')]);
    const file = join(tmp.dir, 'coded.warc');
    writeFileSync(file, handRecord('http://ex.kz/z', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n' + chunked.toString('latin1')));
    const [item] = await checkOptOut(file);
    expect(item).toMatchObject({ item: 'http://ex.kz/z', verdict: 'reserved', decisive: { source: 'robots-meta' } });
  });

  it('damaged WARC bytes give records or CORRUPT_INPUT, never a hang or another error', async () => {
    const damaged = join(tmp.dir, 'damaged.warc');
    const readAll = async (b: Uint8Array) => {
      writeFileSync(damaged, b);
      for await (const r of readWarcResponses(damaged, () => 4096)) void r;
    };
    await expectOnlyCorruptUnderDamage(readAll, readFileSync(plain), 11, 150);
    await expectOnlyCorruptUnderDamage(readAll, gzipSync(readFileSync(plain)), 12, 150);
  });
});
