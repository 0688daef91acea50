/**
 * bench/ledger: insert and lookup rates of the ledger at 10^4, 3x10^4 and 10^5 entries.
 * Prints, per size: inserts/s (one transaction per 1,000 rows), exact SHA-256 lookups/s, nearest
 * image-hash lookups/s (the linear popcount scan) and the load time of the in-memory index, each
 * with CPU time and as a ratio to a baseline measured in the same run: SHA-256 of 64 KiB, which
 * every scanned file pays anyway (its first chunk). Also: fingerprint time of one corpus photo.
 * Run: npx tsx bench/ledger.ts [--max 100000]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashToBytes, IMAGE_FINGERPRINT_METHOD, imageFingerprint } from '../src/ledger/fingerprint-image.js';
import { LedgerIndex, LedgerStore, type LedgerEntry } from '../src/ledger/index.js';

const maxArg = process.argv.indexOf('--max');
const MAX = maxArg > 0 ? Number(process.argv[maxArg + 1]) : 100_000;
const SIZES = [10_000, 30_000, 100_000].filter((n) => n <= MAX);

/** Wall and CPU (user + system) milliseconds of a synchronous loop of `n` iterations. */
function measure(n: number, f: (i: number) => void): { wallMs: number; cpuMs: number; perSecond: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return { wallMs, cpuMs, perSecond: n / (cpuMs / 1000) };
}

const rand64 = () => randomBytes(8).readBigUInt64BE();
function entry(i: number): LedgerEntry {
  return {
    contentId: `bench-${i}`,
    sha256: randomBytes(32),
    kind: 'image',
    format: 'jpeg',
    fingerprint: { method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(rand64()) },
    provider: 'Bench AI',
    createdAt: new Date().toISOString(),
  };
}

const chunk = Buffer.alloc(64 << 10, 7);
const base = measure(2000, () => createHash('sha256').update(chunk).digest());
const baseUs = base.cpuMs / 2000 * 1000;
console.log(`baseline: SHA-256 of 64 KiB ${baseUs.toFixed(1)} us CPU (${(base.wallMs / 2000 * 1000).toFixed(1)} us wall)`);

const photo = resolve(import.meta.dirname, '..', '..', 'shared', 'corpus', 'camera', 'Canon_40D.jpg');
{
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const runs = 10;
  for (let i = 0; i < runs; i++) await imageFingerprint(photo);
  const c = process.cpuUsage(c0);
  console.log(`image fingerprint of Canon_40D.jpg: ${((performance.now() - t0) / runs).toFixed(1)} ms wall, ${((c.user + c.system) / 1000 / runs).toFixed(1)} ms CPU (whole process: libvips decodes in its own threads)`);
}

const dir = mkdtempSync(join(tmpdir(), 'tamga-bench-ledger-'));
try {
  const path = join(dir, 'ledger.db');
  const w = LedgerStore.open(path);
  let have = 0;
  console.log('\nentries | insert rows/s (CPU) | exact lookups/s (CPU) | x baseline | nearest image lookups/s (CPU) | x baseline | index load ms (CPU)');
  for (const n of SIZES) {
    const batch: LedgerEntry[] = [];
    const ins = measure(n - have, (i) => {
      batch.push(entry(have + i));
      if (batch.length === 1000) w.recordMany(batch.splice(0));
    });
    if (batch.length) w.recordMany(batch.splice(0));
    have = n;
    const r = LedgerStore.open(path, { readonly: true });
    const c0 = process.cpuUsage();
    const index = new LedgerIndex(r);
    index.refresh();
    const c = process.cpuUsage(c0);
    const loadCpu = (c.user + c.system) / 1000;
    const shas = Array.from({ length: 2000 }, () => randomBytes(32));
    const exact = measure(shas.length, (i) => index.exact(shas[i]!));
    const queries = Array.from({ length: 200 }, () => ({ method: IMAGE_FINGERPRINT_METHOD, bytes: hashToBytes(rand64()) }));
    const near = measure(queries.length, (i) => index.nearest(queries[i]!));
    const x = (perSecond: number) => (1e6 / perSecond / baseUs).toFixed(2);
    console.log(
      `${String(n).padStart(7)} | ${ins.perSecond.toFixed(0).padStart(19)} | ${exact.perSecond.toFixed(0).padStart(21)} | ${x(exact.perSecond).padStart(10)} | ${near.perSecond.toFixed(0).padStart(29)} | ${x(near.perSecond).padStart(10)} | ${loadCpu.toFixed(0)}`,
    );
    r.close();
  }
  w.close();
  console.log('(x baseline: CPU time of one lookup / CPU time of SHA-256 over 64 KiB)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
