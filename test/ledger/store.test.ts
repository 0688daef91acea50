import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TamgaError } from '../../src/core/errors.js';
import { LedgerIndex, LEDGER_SCHEMA_VERSION, LedgerStore, type LedgerEntry } from '../../src/ledger/index.js';
import { hashToBytes, IMAGE_FINGERPRINT_METHOD } from '../../src/ledger/fingerprint-image.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir('tamga-ledger-store-');
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = () => join(tmp.dir, `l${n++}.db`);

const entry = (over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  contentId: '01900000-0000-7000-8000-000000000001',
  sha256: randomBytes(32),
  kind: 'image',
  format: 'png',
  createdAt: '2026-01-18T00:00:00.000Z',
  ...over,
});

function ledgerFailure(f: () => unknown): TamgaError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TamgaError);
    expect((e as TamgaError).code).toBe('LEDGER_FAILED');
    return e as TamgaError;
  }
  throw new Error('expected LEDGER_FAILED');
}

describe('ledger file', () => {
  it('creates a versioned WAL database with the entries table', () => {
    const path = fresh();
    LedgerStore.open(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(LEDGER_SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const cols = (db.prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual(['id', 'content_id', 'sha256', 'kind', 'format', 'fp_method', 'fp', 'provider', 'generator', 'created_at', 'recorded_at']);
    db.close();
  });

  it('records entries and finds them by SHA-256; reopened read-only it sees them', () => {
    const path = fresh();
    const w = LedgerStore.open(path);
    const e = entry({ provider: 'Acme AI', generator: 'Gen/1', fingerprint: { method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(0x0123456789abcdefn) } });
    w.record(e);
    w.record(entry());
    const r = LedgerStore.open(path, { readonly: true });
    const [found] = r.findBySha256(e.sha256);
    expect(found).toMatchObject({ contentId: e.contentId, provider: 'Acme AI', generator: 'Gen/1', kind: 'image', format: 'png', createdAt: e.createdAt });
    expect(Buffer.from(found!.fingerprint!.bytes).toString('hex')).toBe('0123456789abcdef');
    expect(r.findBySha256(randomBytes(32))).toEqual([]);
    expect(r.count()).toBe(2);
    expect(() => r.record(entry())).toThrow(/read-only/);
    w.close();
    r.close();
  });

  it('an open index loads rows another connection commits later', () => {
    const path = fresh();
    const w = LedgerStore.open(path);
    const index = new LedgerIndex(LedgerStore.open(path, { readonly: true }));
    expect(index.hasFingerprints('image')).toBe(false);
    w.record(entry({ fingerprint: { method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(0xffn) } }));
    expect(index.hasFingerprints('image')).toBe(true);
    const m = index.nearest({ method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(0xfen) });
    expect(m).toMatchObject({ match: 'perceptual', distance: 1 });
    expect(index.nearest({ method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(0xffffffff00000000n) })).toBeUndefined();
    index.close();
    w.close();
  });

  it('refuses a missing file read-only, a file that is not SQLite, and a foreign database (left untouched)', () => {
    expect(ledgerFailure(() => LedgerStore.open(join(tmp.dir, 'missing.db'), { readonly: true })).details).toMatchObject({ sqliteCode: 'SQLITE_CANTOPEN' });
    const text = join(tmp.dir, 'notes.db');
    writeFileSync(text, 'this is not a database, just text that is long enough to have a header '.repeat(20));
    expect(ledgerFailure(() => LedgerStore.open(text)).details).toMatchObject({ sqliteCode: 'SQLITE_NOTADB' });
    const foreign = join(tmp.dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const before = readFileSync(foreign);
    expect(ledgerFailure(() => LedgerStore.open(foreign)).message).toMatch(/not a tamga ledger/);
    expect(readFileSync(foreign).equals(before)).toBe(true);
    const empty = join(tmp.dir, 'empty.db');
    new Database(empty).close();
    expect(ledgerFailure(() => LedgerStore.open(empty, { readonly: true })).message).toMatch(/empty, not a tamga ledger/);
    expect(() => LedgerStore.open('')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('refuses a newer schema version', () => {
    const path = fresh();
    LedgerStore.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${LEDGER_SCHEMA_VERSION + 1}`);
    db.close();
    expect(ledgerFailure(() => LedgerStore.open(path, { readonly: true })).details).toMatchObject({ schemaVersion: LEDGER_SCHEMA_VERSION + 1 });
  });

  it('reports a corrupt file at open', () => {
    const path = fresh();
    const w = LedgerStore.open(path);
    for (let i = 0; i < 200; i++) w.record(entry());
    w.close();
    const bytes = readFileSync(path);
    // Keep the header page (so it is still "SQLite"), overwrite the b-tree pages with noise.
    randomBytes(bytes.length - 4096).copy(bytes, 4096);
    writeFileSync(path, bytes);
    const e = ledgerFailure(() => {
      const s = LedgerStore.open(path, { readonly: true });
      try {
        s.findBySha256(randomBytes(32));
      } finally {
        s.close();
      }
    });
    expect(e.details['sqliteCode']).toMatch(/SQLITE_CORRUPT|SQLITE_NOTADB/);
  });

  it('a writer locked out past the busy timeout gets LEDGER_FAILED, not a hang', () => {
    const path = fresh();
    LedgerStore.open(path).close();
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const w = LedgerStore.open(path, { busyTimeoutMs: 50 });
      try {
        expect(ledgerFailure(() => w.record(entry())).message).toMatch(/locked/);
      } finally {
        w.close();
      }
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
