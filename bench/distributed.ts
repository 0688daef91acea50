/**
 * bench/distributed: a queued scan (`tamga scan --queue` + `tamga worker` processes + the report)
 * over a generated tree, with 1, 2 and 4 worker processes, against a single-process
 * `tamga scan` of the same tree in the same run; and the queue's own cost per file (enqueue,
 * dequeue, result store, with the verification replaced by a no-op).
 * Run: npx tsx bench/distributed.ts [--files 2000] [--batch 64] [--workers 1,2,4] [--visible] [--keep]
 * Needs /usr/bin/redis-server (a private one is started on a free loopback port).
 * Target (issue 9): queue overhead under 2 ms per file.
 * Wall-clock figures on a shared machine are inflated: CPU times (from /proc) are printed beside them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { enqueueScan } from '../src/distributed/enqueue.js';
import { openJob } from '../src/distributed/report.js';
import type { Reporter } from '../src/verify/reports/types.js';
import { hasRedis, REDIS_SERVER, startRedis } from '../test/distributed/helpers.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : def;
};
const FILES = Number(arg('--files', '2000'));
const BATCH = Number(arg('--batch', '64'));
const WORKER_COUNTS = arg('--workers', '1,2,4').split(',').map(Number);
const VISIBLE = process.argv.includes('--visible');
const KEEP = process.argv.includes('--keep');
const ROOT = resolve(import.meta.dirname, '..');
const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');
const BIN = join(ROOT, 'bin', 'tamga.js');
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s on Linux

if (!hasRedis) {
  console.error(`${REDIS_SERVER} not found: install redis-server`);
  process.exit(2);
}

/** utime + stime of a process, in seconds (0 once it is gone). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

/** This process's CPU (the producer and the report), in seconds. */
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The tree: hard links (copies across devices) of small corpus images, 100 per directory. */
function generateTree(dir: string, n: number): void {
  const pick = (sub: string, ext: RegExp) => readdirSync(join(CORPUS, sub)).filter((f) => ext.test(f)).map((f) => join(CORPUS, sub, f));
  const sources = [...pick('generators', /\.(png|jpg)$/), ...pick('camera', /\.jpg$/), ...pick('images/natural', /\.png$/).slice(0, 4)];
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const src = sources[i % sources.length]!;
    const dest = join(sub, `${i}-${basename(src)}`);
    try {
      linkSync(src, dest);
    } catch {
      copyFileSync(src, dest);
    }
  }
}

/** `noop`: workers whose verifier is a fixed verdict (bench/noop-worker.ts), to time the queue alone. */
function spawnWorkers(n: number, queue: string, noop: boolean): Promise<ChildProcess[]> {
  const args = noop ? ['--import', 'tsx', join(ROOT, 'bench', 'noop-worker.ts'), queue] : [BIN, 'worker', '--queue', queue, '--concurrency', '2', '--files-per-batch', '8'];
  return Promise.all(
    Array.from({ length: n }, () => {
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return new Promise<ChildProcess>((resolve, reject) => {
        let log = '';
        p.stderr!.on('data', (c: Buffer) => {
          log += c.toString();
          if (log.includes('ready on')) resolve(p);
        });
        p.once('exit', () => reject(new Error(`worker exited: ${log}`)));
      });
    }),
  );
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(
    ws.map((w) => {
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      return exited;
    }),
  );
}

/** Lists of names sorted: c2pa-rs lists manifests in a per-process order (see test/distributed). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? [...v].sort() : v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  return v;
}

/** A reporter that counts the files whose verdict differs from the single-process scan's. */
function comparingReporter(want: Map<string, string>): Reporter & { same: number; differ: string[] } {
  const r = {
    same: 0,
    differ: [] as string[],
    begin: async () => {},
    file: async (v: { path: string }) => {
      if (want.get(v.path) === JSON.stringify(canonical(v))) r.same++;
      else r.differ.push(v.path);
    },
    end: async () => {},
  };
  return r;
}

interface Run {
  label: string;
  wall: number;
  cpu: number;
  files: number;
}

/** Queues the tree as a new job, waits for `workers` processes to finish it, and times it. */
async function queuedRun(label: string, tree: string, queue: string, job: string, workers: number, redisPid: number, want: Map<string, string>, noop = false): Promise<Run & { enqueue: number; report: number; same: number; differ: string[] }> {
  const ws = await spawnWorkers(workers, queue, noop);
  const cpuBefore = ws.reduce((a, w) => a + cpuSeconds(w.pid), 0) + selfCpu() + cpuSeconds(redisPid);
  const t0 = performance.now();
  const { files } = await enqueueScan([tree], { queue, job, batchSize: BATCH, visible: VISIBLE });
  const enqueue = performance.now() - t0;
  const reader = await openJob(queue, job);
  await reader.waitComplete(3_600_000, undefined, 20);
  const wall = (performance.now() - t0) / 1000;
  const cpu = ws.reduce((a, w) => a + cpuSeconds(w.pid), 0) + selfCpu() + cpuSeconds(redisPid) - cpuBefore;
  const r0 = performance.now();
  const compare = comparingReporter(want);
  await reader.report(compare, []);
  const report = performance.now() - r0;
  await reader.purge();
  await reader.close();
  await stopWorkers(ws);
  return { label, wall, cpu, files, enqueue, report, same: compare.same, differ: compare.differ };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tamga-bench-dist-'));
  const redis = await startRedis();
  try {
    const queue = redis.url(0);
    const tree = join(work, 'tree');
    generateTree(tree, FILES);
    console.log(`tree: ${FILES} files (hard links to corpus images), batches of ${BATCH}, visible ${VISIBLE ? 'on' : 'off'}; ${execFileSync('nproc').toString().trim()} cores`);

    // Baseline: one `tamga scan` process over the same tree (its CPU is read from the child's rusage).
    const t0 = performance.now();
    const single = spawn(process.execPath, [BIN, 'scan', tree, '--format', 'ndjson', '-o', join(work, 'single.ndjson'), '--fail-on', 'none', ...(VISIBLE ? [] : ['--no-visible'])], { stdio: 'ignore' });
    let singleCpu = 0;
    const timer = setInterval(() => (singleCpu = Math.max(singleCpu, cpuSeconds(single.pid))), 100);
    await new Promise((r) => single.once('exit', r));
    clearInterval(timer);
    const singleWall = (performance.now() - t0) / 1000;
    const want = new Map<string, string>();
    for (const line of readFileSync(join(work, 'single.ndjson'), 'utf8').split('\n')) {
      if (!line) continue;
      const { type, ...rec } = JSON.parse(line) as { type: string; path: string };
      if (type === 'file') want.set(rec.path, JSON.stringify(canonical(rec)));
    }
    // Process start-up (tsx compiling the sources) is inside the baseline's clock: timed apart.
    const s0 = performance.now();
    execFileSync(process.execPath, [BIN, 'scan', join(CORPUS, 'camera', 'Canon_40D.jpg'), '--no-visible', '--fail-on', 'none', '--json']);
    const startup = (performance.now() - s0) / 1000;
    const runs: Run[] = [{ label: 'tamga scan, 1 process (baseline)', wall: singleWall, cpu: singleCpu, files: FILES }];

    const queued = [];
    for (const n of WORKER_COUNTS) queued.push(await queuedRun(`queued, ${n} worker process${n > 1 ? 'es' : ''}`, tree, queue, `bench-w${n}`, n, redis.pid, want));
    runs.push(...queued);

    console.log('\n| run | files | wall s | files/s (wall) | CPU s (all processes) | ms CPU per file | speed-up vs baseline (wall) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of runs) {
      console.log(`| ${r.label} | ${r.files} | ${r.wall.toFixed(1)} | ${(r.files / r.wall).toFixed(0)} | ${r.cpu.toFixed(1)} | ${((r.cpu * 1000) / r.files).toFixed(2)} | ${(singleWall / r.wall).toFixed(2)}x |`);
    }
    console.log(`(the baseline CPU is the scan process only; queued runs add the producer, the workers and redis-server. Worker start-up is outside the clock, the single scan's inside: ${startup.toFixed(1)} s of it is start-up, so its rate without it is ${(FILES / Math.max(0.001, singleWall - startup)).toFixed(0)} files/s.)`);
    for (const q of queued) {
      console.log(`${q.label}: enqueue (walk + addBulk) ${(q.enqueue / q.files).toFixed(3)} ms/file, report gather ${(q.report / q.files).toFixed(3)} ms/file; report vs single-process: ${q.same}/${want.size} files identical${q.differ.length ? `, DIFFERENT: ${q.differ.slice(0, 5).join(', ')}` : ''}`);
    }

    // The queue alone: the verification replaced by a fixed verdict, one worker process.
    const noop = await queuedRun('queue overhead (no-op verify, 1 worker)', tree, queue, 'bench-noop', 1, redis.pid, new Map(), true);
    console.log(
      `\nqueue overhead per file (enqueue + dequeue + result store, no-op verify, batches of ${BATCH}): ` +
        `${((noop.wall * 1000) / noop.files).toFixed(3)} ms wall, ${((noop.cpu * 1000) / noop.files).toFixed(3)} ms CPU (producer + worker + redis-server); ` +
        `report gather ${(noop.report / noop.files).toFixed(3)} ms/file. Target < 2 ms/file.`,
    );
  } finally {
    await redis.stop();
    if (!KEEP) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

await main();
