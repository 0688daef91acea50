import Database from 'better-sqlite3';
import { TamgaError } from '../core/errors.js';
import type { Format, MediaKind } from '../core/types.js';

/**
 * The ledger file: one SQLite database (better-sqlite3, WAL) with one table of labelled outputs.
 * The schema is versioned by `PRAGMA user_version` and marked by `PRAGMA application_id`, so a
 * foreign SQLite file is refused instead of being written to.
 */

/** Bumped when the schema changes; a newer file is refused (an older one would be migrated here). */
export const LEDGER_SCHEMA_VERSION = 1;
/** 'tmga': marks the file as a tamga ledger for `file(1)` and for this check. */
const APPLICATION_ID = 0x746d6761;
/** How long a writer waits for another process's write lock before LEDGER_FAILED. */
export const BUSY_TIMEOUT_MS = 5_000;

const SCHEMA = `
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  content_id TEXT NOT NULL,
  sha256 BLOB NOT NULL,
  kind TEXT NOT NULL,
  format TEXT NOT NULL,
  fp_method TEXT,
  fp BLOB,
  provider TEXT,
  generator TEXT,
  created_at TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX entries_sha256 ON entries (sha256);
CREATE INDEX entries_content_id ON entries (content_id);
`;

/** One labelled output. */
export interface LedgerEntry {
  contentId: string;
  /** SHA-256 of the labelled output's bytes (32 bytes). */
  sha256: Uint8Array;
  kind: MediaKind;
  format: Format;
  /** The perceptual fingerprint and the method that made it (fingerprint.ts); absent when none could be made. */
  fingerprint?: { method: string; bytes: Uint8Array };
  provider?: string;
  generator?: string;
  /** The Provenance createdAt. */
  createdAt: string;
  /** When the entry was written (ISO 8601); set by `record` when absent. */
  recordedAt?: string;
}

export interface StoredEntry extends LedgerEntry {
  rowid: number;
  recordedAt: string;
}

interface Row {
  id: number;
  content_id: string;
  sha256: Buffer;
  kind: string;
  format: string;
  fp_method: string | null;
  fp: Buffer | null;
  provider: string | null;
  generator: string | null;
  created_at: string;
  recorded_at: string;
}

function fromRow(r: Row): StoredEntry {
  const e: StoredEntry = {
    rowid: r.id,
    contentId: r.content_id,
    sha256: new Uint8Array(r.sha256),
    kind: r.kind as MediaKind,
    format: r.format as Format,
    createdAt: r.created_at,
    recordedAt: r.recorded_at,
  };
  if (r.fp_method && r.fp) e.fingerprint = { method: r.fp_method, bytes: new Uint8Array(r.fp) };
  if (r.provider) e.provider = r.provider;
  if (r.generator) e.generator = r.generator;
  return e;
}

/** Every SQLite failure becomes LEDGER_FAILED with SQLite's code and a hint for the common ones. */
export function ledgerError(path: string, what: string, e: unknown): TamgaError {
  if (e instanceof TamgaError) return e;
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const hint =
    code === 'SQLITE_NOTADB' ? 'not a SQLite database'
    : code === 'SQLITE_CORRUPT' ? 'the database is corrupt'
    : code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? 'locked by another writer for longer than the busy timeout'
    : code === 'SQLITE_CANTOPEN' ? 'cannot open the file (missing, or a directory that is not writable)'
    : code === 'SQLITE_READONLY' ? 'the file or its directory is read-only'
    : message;
  return new TamgaError('LEDGER_FAILED', `ledger ${path}: ${what}: ${hint}`, { path, ...(code ? { sqliteCode: code } : {}) }, { cause: e });
}

/** An open ledger. Read-only handles (scans) never create or change the file. */
export class LedgerStore {
  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
    readonly readonly: boolean,
  ) {}

  /**
   * Opens a ledger; a writable open creates the file and the schema when absent. Throws
   * LEDGER_FAILED for a file that is not a tamga ledger, is corrupt, locked or of a newer schema.
   */
  static open(path: string, opts: { readonly?: boolean; busyTimeoutMs?: number } = {}): LedgerStore {
    if (typeof path !== 'string' || path === '') throw new TamgaError('INVALID_OPTION', 'ledger: expected a file path', { option: 'ledger' });
    const readonly = Boolean(opts.readonly);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly, fileMustExist: readonly, timeout: opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    } catch (e) {
      throw ledgerError(path, 'cannot open', e);
    }
    try {
      LedgerStore.prepare(path, db, readonly);
    } catch (e) {
      db.close();
      throw ledgerError(path, 'cannot open', e);
    }
    return new LedgerStore(path, db, readonly);
  }

  private static prepare(path: string, db: Database.Database, readonly: boolean): void {
    const version = db.pragma('user_version', { simple: true }) as number;
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (version === 0 && appId === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) throw new TamgaError('LEDGER_FAILED', `ledger ${path}: a SQLite database that is not a tamga ledger (it has other tables); refusing to write to it`, { path });
      if (readonly) throw new TamgaError('LEDGER_FAILED', `ledger ${path}: empty, not a tamga ledger (label with --ledger to create one)`, { path });
      db.pragma('journal_mode = WAL');
      db.transaction(() => {
        db.exec(SCHEMA);
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${LEDGER_SCHEMA_VERSION}`);
      }).immediate();
      return;
    }
    if (appId !== APPLICATION_ID) throw new TamgaError('LEDGER_FAILED', `ledger ${path}: a SQLite database that is not a tamga ledger (application_id ${appId})`, { path });
    if (version > LEDGER_SCHEMA_VERSION) {
      throw new TamgaError('LEDGER_FAILED', `ledger ${path}: schema version ${version} is newer than this tamga reads (${LEDGER_SCHEMA_VERSION}); upgrade tamga`, { path, schemaVersion: version });
    }
    if (version < 1) throw new TamgaError('LEDGER_FAILED', `ledger ${path}: unknown schema version ${version}`, { path, schemaVersion: version });
    if (!readonly && (db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
    // Touch the table now, so a damaged file fails at open rather than in the middle of a scan.
    db.prepare('SELECT id FROM entries ORDER BY id DESC LIMIT 1').get();
  }

  /** Adds one entry; returns its row id. */
  record(e: LedgerEntry): number {
    if (this.readonly) throw new TamgaError('LEDGER_FAILED', `ledger ${this.path}: opened read-only`, { path: this.path });
    try {
      const r = this.db
        .prepare(
          'INSERT INTO entries (content_id, sha256, kind, format, fp_method, fp, provider, generator, created_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          e.contentId,
          Buffer.from(e.sha256),
          e.kind,
          e.format,
          e.fingerprint?.method ?? null,
          e.fingerprint ? Buffer.from(e.fingerprint.bytes) : null,
          e.provider ?? null,
          e.generator ?? null,
          e.createdAt,
          e.recordedAt ?? new Date().toISOString(),
        );
      return Number(r.lastInsertRowid);
    } catch (e2) {
      throw ledgerError(this.path, 'cannot record the entry', e2);
    }
  }

  /** Several entries in one transaction (bulk imports, the benchmark). */
  recordMany(entries: readonly LedgerEntry[]): void {
    try {
      this.db.transaction(() => {
        for (const e of entries) this.record(e);
      }).immediate();
    } catch (e) {
      throw ledgerError(this.path, 'cannot record the entries', e);
    }
  }

  /** Entries whose labelled output has exactly these bytes (newest first). */
  findBySha256(sha256: Uint8Array): StoredEntry[] {
    try {
      return (this.db.prepare('SELECT * FROM entries WHERE sha256 = ? ORDER BY id DESC').all(Buffer.from(sha256)) as Row[]).map(fromRow);
    } catch (e) {
      throw ledgerError(this.path, 'cannot read', e);
    }
  }

  byRowid(rowid: number): StoredEntry | undefined {
    try {
      const r = this.db.prepare('SELECT * FROM entries WHERE id = ?').get(rowid) as Row | undefined;
      return r ? fromRow(r) : undefined;
    } catch (e) {
      throw ledgerError(this.path, 'cannot read', e);
    }
  }

  /** Fingerprints of entries after `afterRowid` (the in-memory index loads them incrementally). */
  fingerprintsAfter(afterRowid: number): { rowid: number; kind: MediaKind; method: string; bytes: Uint8Array }[] {
    try {
      const rows = this.db.prepare('SELECT id, kind, fp_method, fp FROM entries WHERE id > ? AND fp IS NOT NULL ORDER BY id').all(afterRowid) as Pick<Row, 'id' | 'kind' | 'fp_method' | 'fp'>[];
      return rows.map((r) => ({ rowid: r.id, kind: r.kind as MediaKind, method: r.fp_method ?? '', bytes: new Uint8Array(r.fp!) }));
    } catch (e) {
      throw ledgerError(this.path, 'cannot read', e);
    }
  }

  /** Changes whenever another connection commits (SQLite `PRAGMA data_version`): a cheap staleness check. */
  dataVersion(): number {
    try {
      return this.db.pragma('data_version', { simple: true }) as number;
    } catch (e) {
      throw ledgerError(this.path, 'cannot read', e);
    }
  }

  count(): number {
    try {
      return (this.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    } catch (e) {
      throw ledgerError(this.path, 'cannot read', e);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
