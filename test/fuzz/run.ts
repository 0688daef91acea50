/**
 * Long fuzz run: `npm run fuzz -- [--minutes N] [--target SUBSTRING] [--seed S]`.
 * Splits the time evenly across the targets, prints cases/s per target (and how many inputs were accepted vs
 * refused with a TamgaError), and writes each crash to fixtures/regressions/ as a reproducer that
 * test/fuzz/regressions.test.ts then replays in every `npm test`.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { fuzzTargets, mutate, Rand, REGRESSIONS_DIR, runCase, saveRegression } from './engine.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const minutes = Number(arg('minutes') ?? 1);
const seed = Number(arg('seed') ?? Date.now() % 2 ** 31);
const filter = arg('target');
const MEMORY_LIMIT = 2 * 1024 ** 3;

const targets = (await fuzzTargets()).filter((t) => !filter || t.name.includes(filter));
const stats = new Map(targets.map((t) => [t.name, { cases: 0, refused: 0, crashes: 0, ms: 0 }]));
const rand = new Rand(seed);
const end = performance.now() + minutes * 60_000;
let lastReport = performance.now();
let crashes = 0;
console.log(`fuzz: ${targets.length} targets, ${minutes} min, seed ${seed}`);

const report = () => {
  const rows = [...stats].map(([name, s]) => `  ${name.padEnd(44)} ${(s.ms / 1000).toFixed(0).padStart(5)} s ${String(s.cases).padStart(8)} cases  ${(s.cases / (s.ms / 1000 || 1)).toFixed(0).padStart(6)} cases/s  ${((100 * s.refused) / (s.cases || 1)).toFixed(0).padStart(3)}% refused  ${s.crashes} crashes`);
  console.log(rows.join('\n'));
};

// A case stuck in synchronous code blocks the event loop, so runCase's timer never fires. A
// watchdog thread sees the case's start time and input in shared memory; past SYNC_HANG_MS it
// writes the reproducer itself and ends the process (the loop cannot be interrupted otherwise).
const SYNC_HANG_MS = 30_000;
const MAX_WATCHED_INPUT = 32 << 20;
const shared = new SharedArrayBuffer(16 + MAX_WATCHED_INPUT);
const watch = new Int32Array(shared, 0, 4); // [1] target index, [2] input length, [3] start (ms since `base`, 0 = idle)
const watchedInput = new Uint8Array(shared, 16);
const base = Date.now();
const watchdog = new Worker(
  `const { workerData: w } = require('node:worker_threads');
  const { mkdirSync, writeFileSync, writeSync } = require('node:fs');
  const { createHash } = require('node:crypto');
  const h = new Int32Array(w.shared, 0, 4);
  setInterval(() => {
    const started = Atomics.load(h, 3);
    if (!started || Date.now() - w.base - started < w.limit) return;
    const target = w.names[Atomics.load(h, 1)];
    const input = Buffer.from(new Uint8Array(w.shared, 16, Atomics.load(h, 2)));
    mkdirSync(w.dir, { recursive: true });
    const file = w.dir + '/' + target.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '') + '-' + createHash('sha256').update(input).digest('hex').slice(0, 12);
    writeFileSync(file + '.bin', input);
    writeFileSync(file + '.json', JSON.stringify({ target, steps: ['(watchdog)'], result: { ok: false, kind: 'timeout', message: 'synchronous hang: no answer within ' + w.limit + ' ms' } }, null, 2) + '\\n');
    // console.log would go through the blocked main thread: write to the fd directly.
    writeSync(1, 'CRASH ' + target + ' timeout: synchronous hang over ' + w.limit + ' ms; the run stops here\\n  reproducer: ' + file + '.bin\\n');
    process.kill(process.pid, 'SIGKILL');
  }, 500);`,
  { eval: true, workerData: { shared, base, limit: SYNC_HANG_MS, names: targets.map((t) => t.name), dir: REGRESSIONS_DIR } },
);
watchdog.unref();

// Equal time per target, not equal cases: the next case always goes to the target that has had
// the least time so far, so a slow target (PDF, label) cannot starve the fast parsers or vice versa.
const next = () => targets.reduce((a, b) => (stats.get(b.name)!.ms < stats.get(a.name)!.ms ? b : a));
while (performance.now() < end) {
  for (let batch = 0; batch < 16; batch++) {
    const t = next();
    const s = stats.get(t.name)!;
    const t0 = performance.now();
    const { input, steps } = mutate(t, rand);
    watchedInput.set(input.subarray(0, MAX_WATCHED_INPUT));
    Atomics.store(watch, 1, targets.indexOf(t));
    Atomics.store(watch, 2, Math.min(input.length, MAX_WATCHED_INPUT));
    Atomics.store(watch, 3, Math.max(1, Date.now() - base));
    const rssBefore = process.memoryUsage().rss;
    let res = await runCase(t, input, 10_000);
    Atomics.store(watch, 3, 0);
    s.ms += performance.now() - t0;
    s.cases++;
    // Above the limit and grown by this case: the RSS a freed case leaves behind is not blamed on the next ones.
    const rss = process.memoryUsage().rss;
    if (res.ok && rss > MEMORY_LIMIT && rss - rssBefore > 256 << 20) res = { ok: false, kind: 'memory', message: `RSS above ${MEMORY_LIMIT} bytes (+${rss - rssBefore} in this case)` };
    if (res.ok && res.refused) s.refused++;
    if (!res.ok) {
      s.crashes++;
      crashes++;
      const file = saveRegression(t, input, res, steps);
      console.log(`CRASH ${t.name} [${steps.join(' > ')}] ${res.kind}: ${res.message.split('\n')[0]}\n  reproducer: ${file}`);
    }
  }
  if (performance.now() - lastReport > 30_000) {
    lastReport = performance.now();
    report();
  }
}
console.log(`fuzz: done, ${crashes} crash(es); cases/s per target:`);
report();
process.exitCode = crashes ? 1 : 0;
