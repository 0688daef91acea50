import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/api.js';
import { startService, type RunningService } from '../../src/distributed/serve.js';
import { corpusFile, hasCorpus, TAMGA_BIN } from '../helpers.js';

const serveTemps = () => readdirSync(tmpdir()).filter((d) => d.startsWith('tamga-serve-')).length;

describe.skipIf(!hasCorpus)('tamga serve: the labelling service over HTTP', () => {
  let svc: RunningService;
  const png = readFileSync(corpusFile('generators/fooocus1_cropped.png'));
  const photo = readFileSync(corpusFile('camera/DSCN0010.jpg'));

  beforeAll(async () => {
    svc = await startService({ port: 0, maxBodyBytes: 200_000, concurrency: 1, maxQueued: 4 });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('listens on loopback and answers GET /health', async () => {
    expect(svc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await fetch(`${svc.url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', running: 0, queued: 0 });
  });

  it('POST /label returns the labelled file, and detect finds the label in it', async () => {
    const before = serveTemps();
    const r = await fetch(`${svc.url}/label?visible=false&provider=Example%20AI&generator=Fooocus&name=out.png`, { method: 'POST', body: png });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('x-tamga-layers')).toBe('metadata');
    const out = new Uint8Array(await r.arrayBuffer());
    expect(out.length).toBeGreaterThan(png.length);
    const found = await detect(out);
    const record = found.findings.find((f) => f.kind === 'xmp:tamga');
    expect(record?.value).toMatchObject({ contentId: r.headers.get('x-tamga-content-id'), provider: 'Example AI' });
    expect(found.findings.some((f) => f.kind === 'xmp:iptc-digital-source-type')).toBe(true);
    // The request's temp directory goes once the response is sent.
    for (let i = 0; i < 50 && serveTemps() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(serveTemps()).toBe(before);
  });

  it('POST /verify returns the FileVerdict as JSON', async () => {
    const labelled = new Uint8Array(await (await fetch(`${svc.url}/label?visible=false`, { method: 'POST', body: png })).arrayBuffer());
    const r = await fetch(`${svc.url}/verify?policy=eu&visible=false&name=a.png`, { method: 'POST', body: labelled });
    expect(r.status).toBe(200);
    const v = (await r.json()) as { path: string; verdict: string; policy: string; labels: { kind: string }[] };
    expect(v.path).toBe('a.png');
    expect(v.policy).toBe('eu');
    expect(v.labels.some((f) => f.kind === 'xmp:tamga')).toBe(true);
    const plain = (await (await fetch(`${svc.url}/verify`, { method: 'POST', body: photo })).json()) as { verdict: string };
    expect(plain.verdict).toBe('not-synthetic');
  });

  it('POST /label with a policy the layers cannot meet is 422 POLICY_UNMET naming the missing requirement', async () => {
    const r = await fetch(`${svc.url}/label?policy=eu`, { method: 'POST', body: png });
    expect(r.status).toBe(422);
    expect(await r.json()).toMatchObject({ error: { code: 'POLICY_UNMET', message: expect.stringMatching(/detectable/) } });
  });

  it('refuses a body over --max-body with 413 JSON, declared or streamed', async () => {
    const big = Buffer.alloc(300_000, 1);
    const r = await fetch(`${svc.url}/label`, { method: 'POST', body: big });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: { code: 'INPUT_TOO_LARGE', message: expect.stringMatching(/over the 200000-byte limit/) } });
    // Chunked, with no length announced: stopped once the limit passes.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(64_000));
        c.close();
      },
    });
    const s = await fetch(`${svc.url}/verify`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(s.status).toBe(413);
    expect(((await s.json()) as { error: { code: string } }).error.code).toBe('INPUT_TOO_LARGE');
  });

  it('answers bad input and bad options with 4xx JSON errors, and keeps serving', async () => {
    const garbage = await fetch(`${svc.url}/label`, { method: 'POST', body: Buffer.from([0, 159, 146, 150, 0, 0, 1, 2, 3, 255, 254, 0, 7]) });
    expect(garbage.status).toBe(415);
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_FORMAT');
    const truncated = await fetch(`${svc.url}/label`, { method: 'POST', body: png.subarray(0, 200) });
    expect(truncated.status).toBe(422);
    expect(((await truncated.json()) as { error: { code: string } }).error.code).toBe('CORRUPT_INPUT');
    const badPolicy = await fetch(`${svc.url}/label?policy=xx`, { method: 'POST', body: png });
    expect(badPolicy.status).toBe(400);
    expect(await badPolicy.json()).toEqual({ error: { code: 'INVALID_OPTION', message: expect.stringMatching(/^policy:/) } });
    const badBool = await fetch(`${svc.url}/verify?visible=maybe`, { method: 'POST', body: png });
    expect(badBool.status).toBe(400);
    const empty = await fetch(`${svc.url}/verify`, { method: 'POST', body: '' });
    expect(empty.status).toBe(400);
    expect((await fetch(`${svc.url}/label`)).status).toBe(405);
    expect((await fetch(`${svc.url}/nothing`, { method: 'POST', body: png })).status).toBe(404);
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
  });

  it('with every slot busy and no queue, answers 503 with Retry-After', async () => {
    const one = await startService({ port: 0, concurrency: 1, maxQueued: 0 });
    try {
      // A visible badge on a photo keeps the one slot busy while the second request arrives.
      const slow = fetch(`${one.url}/label?policy=kz&visible=true`, { method: 'POST', body: photo });
      for (let i = 0; i < 200; i++) {
        if (((await (await fetch(`${one.url}/health`)).json()) as { running: number }).running === 1) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const busy = await fetch(`${one.url}/verify`, { method: 'POST', body: png });
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('BUSY');
      expect((await slow).status).toBe(200);
    } finally {
      await one.close();
    }
  });

  it('`tamga serve --port 0` prints its address, serves, and stops on SIGTERM', async () => {
    const proc = spawn(process.execPath, [TAMGA_BIN, 'serve', '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.once('exit', () => reject(new Error(`serve exited: ${out}`)));
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);
});
