import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan, verify } from '../../src/verify/index.js';
import { readResumeFile } from '../../src/verify/resume.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { mapConcurrent } from '../../src/verify/pool.js';
import { corpusFile, hasCorpus, tempDir, runTamga } from '../helpers.js';
import { pngWithText } from './make.js';

const A1111 = 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 8x8, Model: m';
const tmp = tempDir('tamga-scan-');
afterAll(() => tmp.cleanup());

/**
 * The tree: root/{gen/a1111.png, photos/plain.png, photos/deep/d.png, skip/x.png, notes.txt, blob.bin},
 * root/loop -> root (a loop), root/out -> outside/ (out of the roots), root/dangling -> nowhere,
 * root/alias.png -> gen/a1111.png (inside: followed).
 */
const root = join(tmp.dir, 'root');
const outside = join(tmp.dir, 'outside');
beforeAll(async () => {
  for (const d of ['gen', 'photos/deep', 'skip']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'gen', 'a1111.png'), await pngWithText([['parameters', A1111]]));
  const plain = await pngWithText([]);
  writeFileSync(join(root, 'photos', 'plain.png'), plain);
  writeFileSync(join(root, 'photos', 'deep', 'd.png'), plain);
  writeFileSync(join(root, 'skip', 'x.png'), plain);
  writeFileSync(join(outside, 'o.png'), plain);
  writeFileSync(join(root, 'notes.txt'), 'hello');
  writeFileSync(join(root, 'blob.bin'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 0x80, 0x81, 0, 7]));
  symlinkSync(root, join(root, 'loop'));
  symlinkSync(outside, join(root, 'out'));
  symlinkSync(join(tmp.dir, 'nowhere'), join(root, 'dangling'));
  symlinkSync(join(root, 'gen', 'a1111.png'), join(root, 'alias.png'));
});

async function collect(paths: string[], opts: Parameters<typeof scan>[1] = {}): Promise<Map<string, FileVerdict>> {
  const m = new Map<string, FileVerdict>();
  for await (const v of scan(paths, { visible: false, ...opts })) {
    expect(m.has(v.path), `${v.path} reported twice`).toBe(false);
    m.set(v.path.slice(root.length + 1), v);
  }
  return m;
}

describe('scan: the directory walk', () => {
  it('gives every file one verdict; loops, links out of the roots and dangling links are reported, not followed', async () => {
    const m = await collect([root], { concurrency: 3 });
    expect([...m.keys()].sort()).toEqual(['alias.png', 'blob.bin', 'dangling', 'gen/a1111.png', 'loop', 'notes.txt', 'out', 'photos/deep/d.png', 'photos/plain.png', 'skip/x.png']);
    expect(m.get('gen/a1111.png')?.verdict).toBe('unlabelled');
    expect(m.get('alias.png')?.verdict).toBe('unlabelled');
    expect(m.get('photos/plain.png')?.verdict).toBe('not-synthetic');
    expect(m.get('blob.bin')).toMatchObject({ verdict: 'error', error: { code: 'UNSUPPORTED_FORMAT' } });
    expect(m.get('loop')?.error?.message).toMatch(/loop not followed/);
    expect(m.get('out')?.error?.message).toMatch(/outside the scanned roots: not followed/);
    expect(m.get('dangling')?.error?.message).toMatch(/cannot be resolved/);
  });

  it('include and exclude globs (base-name patterns match at any depth; excluded directories are pruned)', async () => {
    const m = await collect([root], { include: ['*.png'], exclude: ['skip', 'deep', 'loop', 'out', 'dangling', 'alias.png'] });
    expect([...m.keys()].sort()).toEqual(['gen/a1111.png', 'photos/plain.png']);
    const n = await collect([root], { include: ['photos/**'] });
    expect([...n.keys()].sort()).toEqual(['photos/deep/d.png', 'photos/plain.png']);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable directory is reported and the walk goes on', async () => {
    const locked = join(root, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0);
    try {
      const m = await collect([root], { exclude: ['loop', 'out', 'dangling'] });
      expect(m.get('locked')?.error?.message).toMatch(/permission denied/);
      expect(m.get('gen/a1111.png')?.verdict).toBe('unlabelled');
    } finally {
      chmodSync(locked, 0o755);
    }
  });

  it('a missing root is an error verdict; bad options are INVALID_OPTION', async () => {
    const out: FileVerdict[] = [];
    for await (const v of scan([join(tmp.dir, 'missing')])) out.push(v);
    expect(out).toMatchObject([{ verdict: 'error', error: { code: 'READ_FAILED' } }]);
    await expect(scan([root], { concurrency: 0 }).next()).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(scan([root], { policy: 'us' as 'kz' }).next()).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(verify(join(root, 'gen', 'a1111.png'), { timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it.skipIf(!hasCorpus)('a file that takes longer than the per-file timeout gets verdict error/TIMEOUT', async () => {
    const v = await verify(corpusFile('c2pa/amazon-titan-g1.png'), { timeoutMs: 1 });
    expect(v).toMatchObject({ verdict: 'error', error: { code: 'TIMEOUT' } });
  });
});

describe('the async pool', () => {
  it('never runs more than N at once and returns every result', async () => {
    let running = 0;
    let peak = 0;
    async function* items() {
      for (let i = 0; i < 50; i++) yield i;
    }
    const out: number[] = [];
    for await (const r of mapConcurrent(items(), 4, async (i) => {
      peak = Math.max(peak, ++running);
      await new Promise((res) => setTimeout(res, (i * 7) % 5));
      running--;
      return i * 2;
    })) out.push(r);
    expect(peak).toBe(4);
    expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });
});

describe('tamga scan (CLI)', () => {
  const tamga = (...args: string[]) => runTamga(tmp.dir, 'scan', ...args);

  it('exit 1 when a verdict matches --fail-on, 0 otherwise; --json prints tamga.scan/1', () => {
    const files = [join(root, 'gen', 'a1111.png'), join(root, 'photos', 'plain.png')];
    const r = tamga(...files, '--json', '--no-visible');
    expect(r.status, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('tamga.scan/1');
    expect(doc.files.map((f: FileVerdict) => f.verdict).sort()).toEqual(['not-synthetic', 'unlabelled']);
    expect(tamga(...files, '--fail-on', 'invalid,error', '--no-visible').status).toBe(0);
    expect(tamga(files[1]!, '--no-visible').status).toBe(0);
    expect(tamga(files[0]!, '--fail-on', 'bogus').status).toBe(2);
    expect(tamga(files[0]!, '--format', 'xml').status).toBe(2);
  });

  it('-o writes the report file; --resume appends only the files not yet in it', () => {
    const report = join(tmp.dir, 'scan.ndjson');
    const first = tamga(join(root, 'photos'), '--format', 'ndjson', '-o', report, '--no-visible');
    expect(first.status, first.stderr).toBe(0);
    // The report is in the file; stdout says how the scan went and where the report is.
    expect(first.stdout).toBe(`2 file(s): not-synthetic 2; ndjson report written to ${report}\n`);
    // Simulate an interrupted run: drop the summary and leave a torn line.
    const lines = readFileSync(report, 'utf8').trimEnd().split('\n');
    writeFileSync(report, lines.slice(0, -1).join('\n') + '\n{"type":"file","pa');
    const second = tamga(root, '--format', 'ndjson', '-o', report, '--resume', report, '--no-visible', '--exclude', 'loop', '--exclude', 'out', '--exclude', 'dangling', '--fail-on', 'none');
    expect(second.status, second.stderr).toBe(0);
    const recs = readFileSync(report, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const paths = recs.filter((r) => r.type === 'file').map((r) => r.path.slice(root.length + 1));
    expect(paths.sort()).toEqual(['alias.png', 'blob.bin', 'gen/a1111.png', 'notes.txt', 'photos/deep/d.png', 'photos/plain.png', 'skip/x.png']);
    expect(recs.at(-1)).toMatchObject({ type: 'summary', files: 7, resumed: 2 });
  });

  it('readResumeFile skips headers, summaries and torn lines', async () => {
    const f = join(tmp.dir, 'r.ndjson');
    writeFileSync(f, '{"type":"header"}\n{"type":"file","path":"a.png","verdict":"unlabelled"}\n{"type":"summary"}\n{"type":"file","path":"b.p');
    const s = await readResumeFile(f);
    expect([...s.done]).toEqual([join(process.cwd(), 'a.png')]);
    expect(s.counts.unlabelled).toBe(1);
  });
});

describe.skipIf(!hasCorpus)('scan of a copy of the corpus generators', () => {
  it('every generator file is unlabelled except the input without metadata', async () => {
    const dir = join(tmp.dir, 'gens');
    mkdirSync(dir);
    for (const f of ['automatic1111_cropped.png', 'automatic1111_stealth.png', 'comfyui-input-pose-nometa.png', 'novelai1_cropped.png']) copyFileSync(corpusFile(`generators/${f}`), join(dir, f));
    const verdicts: Record<string, string> = {};
    for await (const v of scan([dir], { visible: false })) verdicts[v.path.slice(dir.length + 1)] = v.verdict;
    expect(verdicts).toEqual({ 'automatic1111_cropped.png': 'unlabelled', 'automatic1111_stealth.png': 'unlabelled', 'comfyui-input-pose-nometa.png': 'not-synthetic', 'novelai1_cropped.png': 'unlabelled' });
  });
});
