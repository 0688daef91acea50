import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTOUT_LOG_SCHEMA, OptOutLog, type OptOutLogEntry } from '../../src/optout/log.js';
import { VERSION } from '../../src/version.js';
import { ROOT, tempDir, runTamga } from '../helpers.js';

const tmp = tempDir('tamga-optout-cli-');
afterAll(() => tmp.cleanup());
const SAMPLE = join(ROOT, 'fixtures', 'demo', 'sample.png');

const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);

let ds: string;
beforeAll(() => {
  ds = join(tmp.dir, 'ds');
  mkdirSync(join(ds, 'reserved'), { recursive: true });
  mkdirSync(join(ds, 'open'), { recursive: true });
  writeFileSync(join(ds, 'tdmrep.json'), '[{"location":"/reserved/","tdm-reservation":1},{"location":"/open/","tdm-reservation":0}]');
  copyFileSync(SAMPLE, join(ds, 'reserved', 'a.png'));
  copyFileSync(SAMPLE, join(ds, 'open', 'b.png'));
  writeFileSync(join(ds, 'open', 'c.bin'), Buffer.from([0, 1, 2, 3]));
});

const readLog = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as OptOutLogEntry);

describe('tamga optout', () => {
  it('prints a table by default, and --summary counts', () => {
    const t = tamga('optout', ds);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^reserved +\S+reserved\/a\.png {2}by tdmrep:json$/m);
    expect(t.stdout).toMatch(/^allowed +\S+open\/b\.png/m);
    expect(t.stdout).toMatch(/note: embedded metadata not read/);
    const s = tamga('optout', ds, '--summary', '--format', 'json');
    expect(JSON.parse(s.stdout)).toEqual({ summary: { total: 3, reserved: 1, allowed: 2, unknown: 0, errors: 0, decidedBy: { 'tdmrep:json': 3 } } });
  });

  it('--format ndjson streams one object per work; -o writes the report to a file', () => {
    const n = tamga('optout', ds, '--format', 'ndjson');
    const lines = n.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { item: string; verdict: string });
    expect(lines.map((l) => l.verdict)).toEqual(['allowed', 'allowed', 'reserved']);
    const out = join(tmp.dir, 'report.json');
    const o = tamga('optout', ds, '--format', 'json', '-o', out);
    expect(o.code).toBe(0);
    expect(o.stdout).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as unknown[]).length).toBe(3);
  });

  it('--log appends one audit record per work: SHA-256, time, version, verdict, signals', () => {
    const log = join(tmp.dir, 'audit.ndjson');
    expect(tamga('optout', ds, '--log', log, '--summary').code).toBe(0);
    const before = readFileSync(log);
    expect(tamga('optout', join(ds, 'reserved', 'a.png'), '--root', ds, '--log', log, '--summary').code).toBe(0);
    const after = readFileSync(log);
    // Append-only: the first run's bytes are untouched.
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    const entries = readLog(log);
    expect(entries).toHaveLength(4);
    const last = entries[3]!;
    expect(last).toMatchObject({ schema: OPTOUT_LOG_SCHEMA, tool: `tamga/${VERSION}`, version: VERSION, purpose: 'genai-training', verdict: 'reserved', decisive: { source: 'tdmrep:json' } });
    expect(last.sha256).toBe(createHash('sha256').update(readFileSync(SAMPLE)).digest('hex'));
    expect(Date.now() - Date.parse(last.checkedAt)).toBeLessThan(10 * 60_000);
  });

  it('--fail-on-reserved exits 1; an unreadable input exits 3 after reporting the rest; a bad option exits 2', () => {
    expect(tamga('optout', ds, '--fail-on-reserved', '--summary').code).toBe(1);
    const r = tamga('optout', join(tmp.dir, 'missing.png'), SAMPLE, '--format', 'ndjson');
    expect(r.code).toBe(3);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(2);
    const j = tamga('optout', ds, '--root', join(tmp.dir, 'nope'), '--format', 'json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'INVALID_OPTION' } });
  });

  it('label --reserve-training then optout: reserved by plus:DataMining', () => {
    const out = join(tmp.dir, 'labelled.png');
    expect(tamga('label', SAMPLE, '-o', out, '--no-visible', '--reserve-training').code).toBe(0);
    const r = tamga('optout', out, '--format', 'json');
    expect(JSON.parse(r.stdout)).toMatchObject([{ verdict: 'reserved', decisive: { source: 'xmp:plus-data-mining' } }]);
  });
});

describe('OptOutLog', () => {
  it('writes whole lines with O_APPEND and refuses writes after close', () => {
    const path = join(tmp.dir, 'direct.ndjson');
    const log = OptOutLog.open(path);
    log.append({ item: 'x', file: 'x', verdict: 'unknown', signals: [] }, 'tdm', new Date('2026-01-18T00:00:00Z'));
    log.close();
    expect(readLog(path)).toEqual([{ schema: OPTOUT_LOG_SCHEMA, checkedAt: '2026-01-18T00:00:00.000Z', tool: `tamga/${VERSION}`, version: VERSION, purpose: 'tdm', item: 'x', file: 'x', verdict: 'unknown', signals: [] }]);
    expect(() => log.append({ item: 'y', file: 'y', verdict: 'unknown', signals: [] }, 'tdm')).toThrow(/closed/);
    expect(() => OptOutLog.open(join(tmp.dir, 'no', 'such', 'dir', 'log'))).toThrow(expect.objectContaining({ code: 'WRITE_FAILED' }));
  });
});
