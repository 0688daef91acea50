import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/api.js';
import { enqueueLabels, enqueueScan } from '../../src/distributed/enqueue.js';
import { openJob } from '../../src/distributed/report.js';
import { startWorker } from '../../src/distributed/worker.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { CORPUS, hasCorpus, tempDir } from '../helpers.js';
import { hasRedis, spawnWorker, startRedis, tamga } from './helpers.js';

interface JsonReport {
  schema: string;
  files: FileVerdict[];
  summary: { files: number; verdicts: Record<string, number> };
}

/**
 * Lists of names sorted: the C2PA reader (c2pa-rs in WebAssembly) lists a file's manifests in an
 * order that varies from process to process, so a single-process scan run twice differs there too.
 */
function canonical<T>(v: T): T {
  if (Array.isArray(v)) return (v.every((x) => typeof x === 'string') ? [...v].sort() : v.map(canonical)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)])) as T;
  return v;
}
const byPath = (r: JsonReport) => new Map(r.files.map((f) => [f.path, canonical(f)]));

describe.skipIf(!hasRedis || !hasCorpus)('distributed scan on BullMQ + redis-server', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let tmp: ReturnType<typeof tempDir>;
  let cwd: string;
  let single: JsonReport;

  beforeAll(async () => {
    // Made here, not at collection, so a skipped run leaves no directory behind.
    tmp = tempDir('tamga-dist-');
    cwd = tmp.dir;
    redis = await startRedis();
    // A few dozen files: generator outputs, camera photos, C2PA files, copies under other names,
    // and a link out of the tree (a walk problem, reported as an `error` verdict by both scans).
    const sources = [
      ...readdirSync(join(CORPUS, 'generators')).filter((f) => !f.endsWith('.md')).map((f) => join(CORPUS, 'generators', f)),
      ...readdirSync(join(CORPUS, 'camera')).filter((f) => f.endsWith('.jpg')).map((f) => join(CORPUS, 'camera', f)),
      ...readdirSync(join(CORPUS, 'c2pa')).filter((f) => f.endsWith('.jpg')).map((f) => join(CORPUS, 'c2pa', f)),
    ];
    for (let i = 0; i < 40; i++) {
      const src = sources[i % sources.length]!;
      const dir = join(cwd, 'tree', `d${i % 4}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(src, join(dir, `${i}-${basename(src)}`));
    }
    writeFileSync(join(cwd, 'outside.txt'), 'not in the tree');
    symlinkSync(join(cwd, 'outside.txt'), join(cwd, 'tree', 'd0', 'link-out.txt'));
    const r = await tamga(cwd, ['scan', 'tree', '--no-visible', '--format', 'json', '--fail-on', 'none']);
    expect(r.code, r.stderr).toBe(0);
    single = JSON.parse(r.stdout) as JsonReport;
    expect(single.files.length).toBe(41);
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    tmp?.cleanup();
  });

  it('two worker processes give the report of a single-process scan, sorted by path', async () => {
    const queue = redis.url(1);
    // A delay per batch makes both workers take batches, whichever starts first.
    const env = { TAMGA_TEST_BATCH_DELAY_MS: '150' };
    const workers = [spawnWorker(cwd, queue, ['--concurrency', '1'], env), spawnWorker(cwd, queue, ['--concurrency', '1'], env)];
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready on/)));
      // --follow: scan returns once the workers are done.
      const q = await tamga(cwd, ['scan', 'tree', '--no-visible', '--queue', queue, '--job', 'two', '--batch-size', '4', '--follow', '--json']);
      expect(q.code, q.stderr).toBe(0);
      expect(JSON.parse(q.stdout)).toMatchObject({ job: 'two', files: 41, results: 41, batches: 10, batchesDone: 10, batchesDead: 0, complete: true });
      const r = await tamga(cwd, ['report', '--queue', queue, '--job', 'two', '--format', 'json', '--fail-on', 'none', '--wait', '40']);
      expect(r.code, r.stderr).toBe(0);
      const dist = JSON.parse(r.stdout) as JsonReport;
      expect(dist.schema).toBe('tamga.scan/1');
      expect(dist.files.map((f) => f.path)).toEqual(single.files.map((f) => f.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      const want = byPath(single);
      for (const f of dist.files) expect(canonical(f), f.path).toEqual(want.get(f.path));
      expect(dist.summary.verdicts).toEqual(single.summary.verdicts);
      expect(dist.files.find((f) => f.path.endsWith('link-out.txt'))?.verdict).toBe('error');
      // Both processes did part of the work.
      for (const w of workers) expect(w.log()).toMatch(/batch two\.b\d+ finished/);
      // Other formats come from the same records: SARIF lists the same failing files.
      const sarif = await tamga(cwd, ['report', '--queue', queue, '--job', 'two', '--format', 'sarif']);
      expect(sarif.code).toBe(1);
      const results = (JSON.parse(sarif.stdout) as { runs: { results: unknown[] }[] }).runs[0]!.results;
      expect(results.length).toBe(single.files.filter((f) => ['unlabelled', 'partially-labelled', 'invalid', 'error'].includes(f.verdict)).length);
    } finally {
      for (const w of workers) w.proc.kill('SIGTERM');
      const codes = await Promise.all(workers.map((w) => w.exited));
      // SIGTERM is a graceful stop: exit code 0.
      expect(codes).toEqual([0, 0]);
    }
  }, 60_000);

  it('a worker killed with SIGKILL mid-batch: the batch is recovered by the other worker, every file reported once', async () => {
    const queue = redis.url(2);
    const lock = { TAMGA_QUEUE_LOCK_MS: '1500', TAMGA_QUEUE_STALLED_MS: '500' };
    // The doomed worker sleeps in its first batch, so it is certainly killed holding it.
    const doomed = spawnWorker(cwd, queue, ['--concurrency', '1'], { ...lock, TAMGA_TEST_BATCH_DELAY_MS: '60000' });
    await doomed.waitFor(/ready on/);
    const q = await tamga(cwd, ['scan', 'tree/d1', 'tree/d2', '--no-visible', '--queue', queue, '--job', 'killed', '--batch-size', '5']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/queued 20 files in 4 batches as job killed/);
    const [, held] = await doomed.waitFor(/batch (killed\.b\d+) started/);
    doomed.proc.kill('SIGKILL');
    expect(await doomed.exited).toBe(null);
    const rescuer = spawnWorker(cwd, queue, ['--concurrency', '2'], lock);
    try {
      const r = await tamga(cwd, ['report', '--queue', queue, '--job', 'killed', '--format', 'json', '--fail-on', 'none', '--wait', '40']);
      expect(r.code, r.stderr).toBe(0);
      const dist = JSON.parse(r.stdout) as JsonReport;
      const want = single.files.filter((f) => /^tree\/d[12]\//.test(f.path));
      expect(want.length).toBe(20);
      const paths = dist.files.map((f) => f.path);
      expect(new Set(paths).size).toBe(paths.length);
      expect([...paths].sort()).toEqual(want.map((f) => f.path).sort());
      const wantByPath = new Map(want.map((f) => [f.path, canonical(f)]));
      for (const f of dist.files) expect(canonical(f), f.path).toEqual(wantByPath.get(f.path));
      // The held batch was run again, by the rescuer, after its lock expired.
      expect(rescuer.log()).toContain(`batch ${held} finished`);
    } finally {
      rescuer.proc.kill('SIGTERM');
      await rescuer.exited;
    }
  }, 60_000);

  it('SIGTERM lets the batch in hand finish before the worker exits', async () => {
    const queue = redis.url(7);
    const w = spawnWorker(cwd, queue, ['--concurrency', '1'], { TAMGA_TEST_BATCH_DELAY_MS: '1500' });
    await w.waitFor(/ready on/);
    await enqueueScan([join(cwd, 'tree', 'd3')], { queue, job: 'graceful', batchSize: 10, visible: false });
    await w.waitFor(/batch graceful\.b0 started/);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.log()).toMatch(/SIGTERM: finishing[\s\S]*batch graceful\.b0 finished \(10 results\)[\s\S]*stopped/);
    const job = await openJob(queue, 'graceful');
    try {
      expect(await job.progress()).toMatchObject({ results: 10, batchesDone: 1, complete: true });
    } finally {
      await job.close();
    }
  });

  it('a batch that fails on every attempt is dead-lettered and reported as error verdicts', async () => {
    const queue = redis.url(3);
    const poisoned = readdirSync(join(cwd, 'tree', 'd3')).sort()[3]!;
    // A batch holding the poisoned file fails on every attempt.
    const beforeBatch = (files: readonly string[]) => {
      if (files.some((f) => f.includes(poisoned))) throw new Error('poison file in batch');
    };
    const worker = startWorker({ queue, concurrency: 1, beforeBatch });
    try {
      await worker.ready;
      const queued = await enqueueScan([join(cwd, 'tree', 'd3')], { queue, job: 'poison', batchSize: 2, attempts: 2, backoffMs: 50, visible: false });
      expect(queued.files).toBe(10);
      const job = await openJob(queue, 'poison');
      try {
        const p = await job.waitComplete(20_000);
        expect(p.batchesDead).toBe(1);
        const lines: FileVerdict[] = [];
        const summary = await job.report({ begin: async () => {}, file: async (v) => void lines.push(v), end: async () => {} }, ['error']);
        expect(lines.length).toBe(10);
        const dead = lines.filter((v) => v.verdict === 'error');
        // The poisoned file and the other file of its batch.
        expect(dead.length).toBe(2);
        expect(dead.some((v) => v.path.endsWith(poisoned))).toBe(true);
        expect(dead[0]!.error?.message).toMatch(/failed .*on every attempt/);
        expect(summary.failed).toBe(true);
        await job.purge();
      } finally {
        await job.close();
      }
      // Purged: the name is free again.
      await expect(openJob(queue, 'poison')).rejects.toMatchObject({ code: 'QUEUE_FAILED' });
    } finally {
      await worker.close();
    }
  }, 40_000);

  it('reads http:// sources: verdicts under the URL, 4xx as error, 5xx retried, downloads bounded', async () => {
    const queue = redis.url(6);
    const png = readFileSync(join(CORPUS, 'generators', 'fooocus1_cropped.png'));
    let flaky = 0;
    const server = createHttpServer((req, res) => {
      if (req.url === '/a.png') return void res.end(png);
      if (req.url === '/big.png') return void res.end(Buffer.alloc(5000));
      // Fails once, then serves: a transient error the batch retry cures.
      if (req.url === '/flaky.png') return void (flaky++ === 0 ? res.writeHead(503).end() : res.end(png));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const worker = startWorker({ queue, concurrency: 1, maxDownloadBytes: 4096 });
    try {
      await worker.ready;
      const urls = ['/a.png', '/missing.png', '/big.png', '/flaky.png'].map((u) => base + u);
      await enqueueScan(urls, { queue, job: 'web', attempts: 3, backoffMs: 50, visible: false });
      const job = await openJob(queue, 'web');
      try {
        await job.waitComplete(20_000);
        const got: FileVerdict[] = [];
        await job.report({ begin: async () => {}, file: async (v) => void got.push(v), end: async () => {} }, []);
        const at = (u: string) => got.find((v) => v.path === base + u);
        expect(got.length).toBe(4);
        expect(at('/a.png')).toMatchObject({ verdict: 'unlabelled', format: 'png' });
        expect(at('/missing.png')?.error?.code).toBe('READ_FAILED');
        expect(at('/big.png')?.error?.code).toBe('INPUT_TOO_LARGE');
        expect(at('/flaky.png')).toMatchObject({ verdict: 'unlabelled', format: 'png' });
        expect(flaky).toBe(2);
      } finally {
        await job.close();
      }
    } finally {
      await worker.close();
      server.close();
    }
  });

  it('refuses a job name in use and an unreachable queue, with TamgaErrors', async () => {
    const queue = redis.url(4);
    await enqueueScan([join(cwd, 'tree', 'd3')], { queue, job: 'once', visible: false });
    await expect(enqueueScan([join(cwd, 'tree', 'd3')], { queue, job: 'once' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(enqueueScan(['tree'], { queue, job: 'bad name' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(enqueueScan(['tree'], { queue: 'redis://127.0.0.1:1/0', job: 'x' })).rejects.toMatchObject({ code: 'QUEUE_FAILED', message: expect.stringMatching(/ECONNREFUSED/) });
    const r = await tamga(cwd, ['report', '--queue', 'redis://127.0.0.1:1/0', '--job', 'x', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('QUEUE_FAILED');
  });
});

describe.skipIf(!hasRedis || !hasCorpus)('distributed labelling jobs', () => {
  it('a worker labels queued files to their outputs; the report lists each once, errors included', async () => {
    const redis = await startRedis();
    const tmp = tempDir('tamga-dist-label-');
    const worker = startWorker({ queue: redis.url(5), concurrency: 1 });
    try {
      await worker.ready;
      const inputs = ['generators/fooocus1_cropped.png', 'camera/Canon_40D.jpg', 'generators/invokeai_dream1.png'].map((f) => join(CORPUS, f));
      writeFileSync(join(tmp.dir, 'junk.bin'), Buffer.from([0, 1, 2, 3, 255, 0]));
      const items = [...inputs, join(tmp.dir, 'junk.bin')].map((source, i) => ({ source, output: join(tmp.dir, `out-${i}${source.slice(source.lastIndexOf('.'))}`), provenance: { provider: 'Example AI' } }));
      await enqueueLabels(items, { queue: redis.url(5), job: 'lab', batchSize: 3, label: { visible: false } });
      const r = await tamga(tmp.dir, ['report', '--queue', redis.url(5), '--job', 'lab', '--format', 'ndjson', '--wait', '30']);
      // One input is not media: its record is an error, so the exit code is 1.
      expect(r.code, r.stderr).toBe(1);
      const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { source: string; output: string; layers?: string[]; contentId?: string; error?: { code: string } });
      expect(records.map((x) => x.source).sort()).toEqual(items.map((i) => i.source).sort());
      for (const rec of records.filter((x) => !x.error)) {
        expect(rec.layers).toEqual(['metadata']);
        const found = await detect(rec.output);
        expect(found.findings.find((f) => f.kind === 'xmp:tamga')?.value).toMatchObject({ contentId: rec.contentId, provider: 'Example AI' });
      }
      expect(records.find((x) => x.source.endsWith('junk.bin'))?.error?.code).toBe('UNSUPPORTED_FORMAT');
    } finally {
      await worker.close();
      await redis.stop();
      tmp.cleanup();
    }
  }, 40_000);
});
