/**
 * Long fuzz run: `npm run fuzz -- [--minutes N] [--target SUBSTRING] [--seed S]`.
 * Round-robin over every target, prints cases/s per target (and how many inputs were accepted vs
 * refused with a TamgaError), and writes each crash to fixtures/regressions/ as a reproducer that
 * test/fuzz/regressions.test.ts then replays in every `npm test`.
 */
import { performance } from 'node:perf_hooks';
import { fuzzTargets, mutate, Rand, runCase, saveRegression } from './engine.js';

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
  const rows = [...stats].map(([name, s]) => `  ${name.padEnd(34)} ${String(s.cases).padStart(8)} cases  ${(s.cases / (s.ms / 1000 || 1)).toFixed(0).padStart(6)} cases/s  ${((100 * s.refused) / (s.cases || 1)).toFixed(0).padStart(3)}% refused  ${s.crashes} crashes`);
  console.log(rows.join('\n'));
};

while (performance.now() < end) {
  for (const t of targets) {
    const s = stats.get(t.name)!;
    const { input, steps } = mutate(t, rand);
    const t0 = performance.now();
    let res = await runCase(t, input, 10_000);
    s.ms += performance.now() - t0;
    s.cases++;
    if (res.ok && process.memoryUsage().rss > MEMORY_LIMIT) res = { ok: false, kind: 'memory', message: `RSS above ${MEMORY_LIMIT} bytes` };
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
