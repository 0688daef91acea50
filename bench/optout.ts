/**
 * bench/optout: training-data opt-out check throughput over a 10,000-file dataset tree (5 image
 * formats; a tdmrep.json reserving a subtree, a robots.txt), with the audit log written, against
 * baselines measured in the same run: hashing alone (the floor of any audit that logs SHA-256),
 * tamga's detect() alone, and one batch exiftool process reading plus:DataMining.
 * Run: npm run bench:optout [-- --files 10000 --concurrency 4]
 *      npm run bench:optout -- --tree DIR   (an existing tree, e.g. the one `npm run bench:scan -- --keep`
 *      leaves, read as is: nothing is written into it)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { detect } from '../src/index.js';
import { addToSummary, emptySummary, iterateOptOut, sha256OfFile } from '../src/optout/check.js';
import { OptOutLog } from '../src/optout/log.js';
import { defaultTemplates, writeBenchTree } from './tree.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CONCURRENCY = arg('--concurrency', 4);
const treeArg = process.argv.indexOf('--tree');
const GIVEN_TREE = treeArg > 0 ? process.argv[treeArg + 1] : undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);

const work = mkdtempSync(join(tmpdir(), 'tamga-bench-optout-'));
try {
  let root: string;
  let tree: { files: string[]; bytes: number };
  if (GIVEN_TREE) {
    root = GIVEN_TREE;
    const files = (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
    tree = { files, bytes: files.reduce((s, f) => s + statSync(f).size, 0) };
    console.log(`bench/optout: ${files.length} files (${(tree.bytes / 2 ** 20).toFixed(1)} MiB) in ${root}, as given`);
  } else {
    root = join(work, 'dataset');
    tree = writeBenchTree(root, arg('--files', 10_000), await defaultTemplates());
    writeFileSync(join(root, 'tdmrep.json'), JSON.stringify([{ location: '/', 'tdm-reservation': 0 }, { location: '/d000/', 'tdm-reservation': 1, 'tdm-policy': 'https://example.kz/tdm' }]));
    writeFileSync(join(root, 'robots.txt'), 'User-agent: GPTBot\nDisallow: /d001/\n');
    console.log(`bench/optout: ${tree.files.length} files (${(tree.bytes / 2 ** 20).toFixed(1)} MiB, 5 formats, 1/3 with plus:DataMining) + tdmrep.json + robots.txt`);
  }
  const FILES = tree.files.length;

  const optoutRun = async (concurrency: number, logPath?: string) => {
    const log = logPath ? OptOutLog.open(logPath) : undefined;
    const summary = emptySummary();
    const t0 = performance.now();
    for await (const item of iterateOptOut(root, { concurrency })) {
      addToSummary(summary, item);
      log?.append(item, 'genai-training');
    }
    log?.close();
    return { rate: rate(FILES, t0), summary };
  };
  await optoutRun(CONCURRENCY); // warm the JIT and the page cache
  const seq = median([(await optoutRun(1, join(work, 'seq1'))).rate, (await optoutRun(1, join(work, 'seq2'))).rate, (await optoutRun(1, join(work, 'seq3'))).rate]);
  const runs = [await optoutRun(CONCURRENCY, join(work, 'log1')), await optoutRun(CONCURRENCY, join(work, 'log2')), await optoutRun(CONCURRENCY, join(work, 'log3'))];
  const par = median(runs.map((r) => r.rate));
  const s = runs[0]!.summary;
  if (s.total !== FILES || (!GIVEN_TREE && (s.errors || !s.reserved || !s.allowed))) throw new Error(`unexpected summary ${JSON.stringify(s)}`);

  const hashRun = async () => {
    const t0 = performance.now();
    for (const f of tree.files) await sha256OfFile(f);
    return rate(FILES, t0);
  };
  const detectRun = async () => {
    const t0 = performance.now();
    for (const f of tree.files) await detect(f, { labelsOnly: true, visible: false });
    return rate(FILES, t0);
  };
  const hash = median([await hashRun(), await hashRun(), await hashRun()]);
  const det = median([await detectRun(), await detectRun(), await detectRun()]);

  const rows: [string, number][] = [
    [`tamga optout, ${CONCURRENCY} in flight, audit log on`, par],
    ['tamga optout, one at a time, audit log on', seq],
    ['baseline: detect() alone (headers only), one at a time', det],
    ['floor: SHA-256 of every file, one at a time', hash],
  ];
  for (const [name, r] of rows) console.log(`${name.padEnd(48)} ${r.toFixed(0).padStart(7)} files/s`);
  console.log(`verdicts: ${s.reserved} reserved, ${s.allowed} allowed, ${s.unknown} unknown; decided by ${JSON.stringify(s.decidedBy)}`);
  if (spawnSync('exiftool', ['-ver']).status !== 0) {
    console.log('exiftool not installed: baseline skipped (apt-get install libimage-exiftool-perl)');
  } else {
    const exRun = () => {
      const t0 = performance.now();
      const out = execFileSync('exiftool', ['-r', '-q', '-fast', '-T', '-XMP-plus:DataMining', root], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const r = rate(FILES, t0);
      if (!GIVEN_TREE && !out.includes('DMI-PROHIBITED-AIMLTRAINING')) throw new Error('exiftool baseline did not read plus:DataMining');
      return r;
    };
    const ex = median([exRun(), exRun(), exRun()]);
    console.log(`${'baseline: exiftool -r one process, plus:DataMining'.padEnd(48)} ${ex.toFixed(0).padStart(7)} files/s  (exiftool ${execFileSync('exiftool', ['-ver'], { encoding: 'utf8' }).trim()}; reads one signal, hashes nothing, logs nothing)`);
    console.log(`ratio tamga optout (${CONCURRENCY} in flight) / exiftool: ${(par / ex).toFixed(1)}x`);
  }
  console.log(`ratio tamga optout (${CONCURRENCY} in flight) / detect() alone: ${(par / det).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
