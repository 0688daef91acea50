/**
 * bench/scan: `tamga scan` throughput over a generated 10,000-file tree, against
 * `exiftool -json -r` over the same tree in the same run. Prints files/s for both, the ratio,
 * peak RSS (and RSS sampled during the scan, to show it stays flat) and average bytes read per file.
 * Run: npm run bench:scan [-- --files 10000 --concurrency 16 --workers auto|N --keep]
 * Target (issue 8): at least 10x exiftool's files/s.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { label } from '../src/index.js';
import { makeDevChain } from '../src/metadata/c2pa-devcert.js';
import type { Reporter } from '../src/verify/reports/types.js';
import { runScan } from '../src/verify/run.js';
import { autoWorkers } from '../src/verify/workers.js';
import type { Verdict } from '../src/verify/types.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const FILES = arg('--files', 10_000);
const CONCURRENCY = arg('--concurrency', 16);
const WORKERS_ARG = process.argv.indexOf('--workers');
/** Worker threads beside the main thread (`tamga scan --workers`); default auto, one per core. */
const WORKERS: number | 'auto' = WORKERS_ARG > 0 && process.argv[WORKERS_ARG + 1] !== 'auto' ? Number(process.argv[WORKERS_ARG + 1]) : 'auto';
const KEEP = process.argv.includes('--keep');
const ROOT = resolve(import.meta.dirname, '..');
const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.heic', '.avif', '.dng']);

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).map((f) => join(dir, f)) : []);

/**
 * The mix of a media archive: mostly camera photos and generator outputs, some files labelled by
 * tamga, a few with C2PA manifests (whose signature validation costs milliseconds each).
 */
async function sourceMix(work: string): Promise<{ name: string; weight: number; files: string[] }[]> {
  const labelled: string[] = [];
  const demo = join(ROOT, 'fixtures', 'demo');
  const chain = await makeDevChain();
  for (const f of readdirSync(demo)) {
    const p = { provider: 'Example AI LLP', generator: 'Kandinsky/3.1' };
    const meta = join(work, `meta-${f}`);
    await label(join(demo, f), p, { output: meta, visible: false });
    const all = join(work, `all-${f}`);
    await label(join(demo, f), p, { output: all, visible: true, c2pa: { cert: chain.chainPem, key: chain.keyPem } });
    labelled.push(meta, all);
  }
  return [
    { name: 'camera photos (corpus/camera)', weight: 0.3, files: list(join(CORPUS, 'camera')) },
    { name: 'natural photos (corpus/images/natural)', weight: 0.2, files: list(join(CORPUS, 'images', 'natural')) },
    { name: 'generator outputs (corpus/generators)', weight: 0.25, files: list(join(CORPUS, 'generators')) },
    { name: 'labelled by tamga (demo fixtures)', weight: 0.2, files: labelled },
    { name: 'C2PA-signed (corpus/c2pa images)', weight: 0.05, files: list(join(CORPUS, 'c2pa')) },
  ].filter((s) => s.files.length > 0);
}

const slug = (name: string) => name.split(' (')[0]!.replace(/[^a-z0-9]+/gi, '-').toLowerCase();

/** One directory per source category (so each tool can also be timed per category), 100 files per directory, names varied per copy. */
function generateTree(dir: string, mix: { name: string; weight: number; files: string[] }[], n: number): { bytes: number; counts: number[] } {
  const total = mix.reduce((a, s) => a + s.weight, 0);
  let made = 0;
  let bytes = 0;
  const counts: number[] = [];
  for (const s of mix) {
    const count = s === mix.at(-1) ? n - made : Math.round((n * s.weight) / total);
    counts.push(count);
    for (let i = 0; i < count; i++, made++) {
      const src = s.files[i % s.files.length]!;
      const sub = join(dir, slug(s.name), `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 100) % 10}`);
      if (i % 100 === 0) mkdirSync(sub, { recursive: true });
      const dest = join(sub, `${made.toString(36)}-${basename(src, extname(src)).slice(0, 12)}${extname(src)}`);
      copyFileSync(src, dest);
      bytes += statSync(dest).size;
    }
  }
  return { bytes, counts };
}

function countingReporter(onFile: () => void): { reporter: Reporter; verdicts: Record<string, number> } {
  const verdicts: Record<string, number> = {};
  return {
    verdicts,
    reporter: {
      begin: async () => undefined,
      file: async (v) => {
        verdicts[v.verdict] = (verdicts[v.verdict] ?? 0) + 1;
        onFile();
      },
      end: async () => undefined,
    },
  };
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

function exiftoolSeconds(dir: string): number | undefined {
  const t = performance.now();
  const ex = spawnSync('exiftool', ['-json', '-r', dir], { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'ignore'] });
  return ex.error || ex.status === null ? undefined : (performance.now() - t) / 1000;
}

/**
 * A user's first scan of the tree: `tamga scan` in a new process (start-up, cold JIT, the first file
 * of each C2PA signer validated by c2pa-rs), timed by the wall clock; also the files/s the scan reports.
 */
function oneShotCliScan(dir: string, out: string, cli: string): { wall: number; files: number; reported: number } | undefined {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, 'scan', dir, '--no-visible', '--workers', String(WORKERS), '--format', 'ndjson', '-o', out], { stdio: 'ignore' });
  const wall = (performance.now() - t) / 1000;
  // Exit 1 is the QA failure (unlabelled files found), not an error.
  if (r.status !== 0 && r.status !== 1) return undefined;
  const summary = JSON.parse(readFileSync(out, 'utf8').trimEnd().split('\n').at(-1)!) as { type: string; files: number; filesPerSecond: number };
  return summary.type === 'summary' ? { wall, files: summary.files, reported: summary.filesPerSecond } : undefined;
}

/** The shipped CLI (dist/, when `npm run build` is newer than every source file), else the checkout's launcher (tsx). */
function cliEntry(): { path: string; label: string } {
  const dist = join(ROOT, 'dist', 'cli', 'main.js');
  const newestSource = Math.max(...readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  if (existsSync(dist) && statSync(dist).mtimeMs > newestSource) return { path: dist, label: 'dist/cli/main.js (the built CLI)' };
  return { path: join(ROOT, 'bin', 'tamga.js'), label: 'bin/tamga.js (TypeScript through tsx; `npm run build` first to time the built CLI)' };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tamga-bench-scan-'));
  try {
    const mix = await sourceMix(work);
    const tree = join(work, 'tree');
    let t = performance.now();
    const { bytes: treeBytes, counts } = generateTree(tree, mix, FILES);
    console.log(`tree: ${FILES} files, ${mb(treeBytes)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s at ${tree}`);
    // Warm the page cache once, so neither tool pays for the first read from disk.
    spawnSync('sh', ['-c', `find '${tree}' -type f -exec cat {} + > /dev/null`]);
    const cli = cliEntry();
    const oneShot = oneShotCliScan(tree, join(work, 'one-shot.ndjson'), cli.path);

    const rssSamples: number[] = [];
    let seen = 0;
    const { reporter, verdicts } = countingReporter(() => {
      if (++seen % 1000 === 0) rssSamples.push(process.memoryUsage.rss());
    });
    const failOn: Verdict[] = [];
    const hasExiftool = spawnSync('exiftool', ['-ver']).status === 0;
    const rows: { name: string; files: number; tamga: number; exiftool?: number }[] = [];
    let bytesRead = 0;
    // Per category, in the main thread only: where the time goes.
    for (const [i, s] of mix.entries()) {
      const dir = join(tree, slug(s.name));
      const summary = await runScan([dir], reporter, { concurrency: CONCURRENCY, workers: 0, visible: false, failOn });
      bytesRead += summary.bytesRead;
      const ex = hasExiftool ? exiftoolSeconds(dir) : undefined;
      rows.push({ name: s.name, files: counts[i]!, tamga: summary.seconds, ...(ex !== undefined ? { exiftool: ex } : {}) });
    }
    const rate = (files: number, s: number) => (files / s).toFixed(0).padStart(7);
    console.log(`\ntamga scan --no-visible --workers 0 (headers and metadata; C2PA manifests validated), concurrency ${CONCURRENCY}, vs exiftool -json -r, per category:`);
    console.log(`  ${'category'.padEnd(42)} ${'files'.padStart(6)} ${'tamga/s'.padStart(8)} ${'exiftool/s'.padStart(10)}  ratio`);
    for (const r of rows) {
      const ratio = r.exiftool ? `${(r.exiftool / r.tamga).toFixed(1)}x` : '-';
      console.log(`  ${r.name.padEnd(42)} ${String(r.files).padStart(6)} ${rate(r.files, r.tamga)}  ${r.exiftool ? rate(r.files, r.exiftool) : '      -'}    ${ratio}`);
    }
    const tTotal = rows.reduce((a, r) => a + r.tamga, 0);
    const eTotal = hasExiftool ? rows.reduce((a, r) => a + (r.exiftool ?? 0), 0) : undefined;
    console.log(`  ${'all'.padEnd(42)} ${String(FILES).padStart(6)} ${rate(FILES, tTotal)}  ${eTotal ? rate(FILES, eTotal) : '      -'}    ${eTotal ? `${(eTotal / tTotal).toFixed(1)}x` : '-'}`);
    console.log(`  verdicts: ${JSON.stringify(verdicts)}`);
    console.log(`  bytes read: ${(bytesRead / FILES / 1024).toFixed(1)} KiB per file on average (files average ${(treeBytes / FILES / 1024).toFixed(1)} KiB)`);

    // The whole tree in one scan, as a user runs it: worker threads beside the main thread.
    seen = 0;
    rssSamples.length = 0;
    const whole = await runScan([tree], reporter, { concurrency: CONCURRENCY, workers: WORKERS, visible: false, failOn });
    const peakRss = process.resourceUsage().maxRSS * 1024;
    console.log(`\ntamga scan --no-visible --workers ${WORKERS}${WORKERS === 'auto' ? ` (${autoWorkers()} on this machine)` : ''} over the whole tree, steady state (in this process, after the categories above): ${whole.filesPerSecond.toFixed(0)} files/s (${whole.seconds.toFixed(1)} s)`);
    console.log(`  RSS every 1000 files: ${rssSamples.map((r) => mb(r)).join(', ')} MiB; peak RSS ${mb(peakRss)} MiB (main thread and workers)`);
    // The visible layer decodes a downscaled copy of the pixels to find badges: timed on a sample.
    let sampled = 0;
    const visibleRun = countingReporter(() => void sampled++);
    const sampleDirs = readdirSync(tree).map((d) => join(tree, d, 'd0', 'e0'));
    const vis = await runScan(sampleDirs, visibleRun.reporter, { concurrency: CONCURRENCY, workers: WORKERS, failOn });
    console.log(`tamga scan with the visible-badge pixel scan (the default), ${sampled} files (100 per category): ${vis.filesPerSecond.toFixed(0)} files/s`);
    if (!eTotal) {
      console.log('exiftool not found (apt-get install libimage-exiftool-perl): no baseline');
      return;
    }
    if (oneShot) {
      console.log(
        `one-shot CLI scan of the whole tree (${cli.label}, a new process: start-up, cold JIT, each C2PA signer's first file through c2pa-rs): ` +
          `${oneShot.wall.toFixed(1)} s wall for ${oneShot.files} files, ${(oneShot.files / oneShot.wall).toFixed(0)} files/s (the scan reports ${oneShot.reported.toFixed(0)} files/s)`,
      );
    }
    const ratio = eTotal / whole.seconds;
    console.log(`\nratio over the whole tree, steady state (one scan vs exiftool over every category): ${ratio.toFixed(1)}x exiftool's files/s (target >= 10x): ${ratio >= 10 ? 'MET' : 'NOT MET'}`);
    if (oneShot) console.log(`ratio of a one-shot CLI run, wall clock including start-up, vs exiftool's wall clock: ${(eTotal / oneShot.wall).toFixed(1)}x (the scan's own files/s: ${((eTotal / FILES) * oneShot.reported).toFixed(1)}x)`);
  } finally {
    if (KEEP) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
