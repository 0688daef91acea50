import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/api.js';
import { LABEL_PARAMS, openApiDocument, startService, VERIFY_PARAMS, type RunningService } from '../../src/distributed/serve.js';
import { makeDevChain } from '../../src/metadata/c2pa-devcert.js';
import { TAMGA_BIN, tempDir } from '../helpers.js';
import { pngWithText } from '../verify/make.js';

/** The address a `tamga serve --port 0` child prints on its first stdout line. */
function listeningUrl(proc: ChildProcessWithoutNullStreams | ReturnType<typeof spawn>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
}

const serveTemps = () => readdirSync(tmpdir()).filter((d) => d.startsWith('tamga-serve-')).length;

/** An AUTOMATIC1111-style PNG (its infotext in a `parameters` text chunk): synthetic, unlabelled. */
const a1111Png = () => pngWithText([['parameters', 'a lighthouse at dusk\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x64, Model: sd_xl_base_1.0']]);
/** A plain photo-like JPEG with no AI signal, big enough that a visible badge takes a while. */
const plainJpeg = () =>
  sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .composite([{ input: Buffer.from('<svg width="1600" height="1200"><circle cx="800" cy="600" r="400" fill="#d84"/></svg>') }])
    .jpeg({ quality: 90 })
    .toBuffer();

describe('tamga serve: the labelling service over HTTP', () => {
  let svc: RunningService;
  let png: Uint8Array<ArrayBuffer>;
  let photo: Uint8Array<ArrayBuffer>;

  beforeAll(async () => {
    // Copied into plain ArrayBuffers: what fetch() and Blob take as a body.
    png = new Uint8Array(await a1111Png());
    photo = new Uint8Array(await plainJpeg());
    svc = await startService({ port: 0, maxBodyBytes: 2_000_000, concurrency: 1, maxQueued: 4 });
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
    const r = await fetch(`${svc.url}/label?policy=eu&provider=Example%20AI&generator=AUTOMATIC1111&name=out.png`, { method: 'POST', body: png });
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
    const labelled = new Uint8Array(await (await fetch(`${svc.url}/label?policy=eu`, { method: 'POST', body: png })).arrayBuffer());
    const r = await fetch(`${svc.url}/verify?policy=eu&visible=false&name=a.png`, { method: 'POST', body: labelled });
    expect(r.status).toBe(200);
    const v = (await r.json()) as { path: string; verdict: string; policy: string; labels: { kind: string }[] };
    expect(v.path).toBe('a.png');
    expect(v.policy).toBe('eu');
    expect(v.labels.some((f) => f.kind === 'xmp:tamga')).toBe(true);
    const plain = (await (await fetch(`${svc.url}/verify`, { method: 'POST', body: photo })).json()) as { verdict: string };
    expect(plain.verdict).toBe('not-synthetic');
  });

  it('refuses a body over --max-body with 413 JSON, declared or streamed', async () => {
    const big = Buffer.alloc(3_000_000, 1);
    const r = await fetch(`${svc.url}/label`, { method: 'POST', body: big });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: { code: 'INPUT_TOO_LARGE', message: expect.stringMatching(/over the 2000000-byte limit/) } });
    // Chunked, with no length announced: stopped once the limit passes.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(64_000));
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
    const url = await listeningUrl(proc);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);

  it('accepts multipart/form-data (curl -F, HTML forms): the file part is the file, text fields are parameters', async () => {
    const form = new FormData();
    form.append('policy', 'eu');
    form.append('file', new Blob([png], { type: 'image/png' }), 'gen.png');
    const v = (await (await fetch(`${svc.url}/verify`, { method: 'POST', body: form })).json()) as { path: string; verdict: string; synthetic: { generators: string[] } };
    // The form body is not taken as the file: the A1111 PNG inside is seen as synthetic and unlabelled.
    expect(v).toMatchObject({ path: 'gen.png', verdict: 'unlabelled', synthetic: { generators: ['AUTOMATIC1111'] } });
    const raw = (await (await fetch(`${svc.url}/verify?policy=eu`, { method: 'POST', body: png })).json()) as { verdict: string };
    expect(raw.verdict).toBe('unlabelled');

    const labelForm = new FormData();
    labelForm.append('visible', 'false');
    labelForm.append('provider', 'Example AI LLP');
    labelForm.append('file', new Blob([png]), 'gen.png');
    const r = await fetch(`${svc.url}/label?policy=eu`, { method: 'POST', body: labelForm });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    const found = await detect(new Uint8Array(await r.arrayBuffer()));
    expect(found.findings.find((f) => f.kind === 'xmp:tamga')?.value).toMatchObject({ provider: 'Example AI LLP' });

    // A form without a file part, a bad field, two files: 400, never a 200 of the wrong bytes.
    const noFile = new FormData();
    noFile.append('policy', 'eu');
    const a = await fetch(`${svc.url}/verify`, { method: 'POST', body: noFile });
    expect(a.status).toBe(400);
    expect(((await a.json()) as { error: { message: string } }).error.message).toMatch(/without a file part/);
    const badField = new FormData();
    badField.append('visble', 'false');
    badField.append('file', new Blob([png]), 'gen.png');
    expect((await fetch(`${svc.url}/label`, { method: 'POST', body: badField })).status).toBe(400);
    const two = new FormData();
    two.append('file', new Blob([png]), 'a.png');
    two.append('file2', new Blob([png]), 'b.png');
    expect((await fetch(`${svc.url}/verify`, { method: 'POST', body: two })).status).toBe(400);
  });

  it('refuses unknown query parameters with 400 naming them (visble=false must not draw a badge)', async () => {
    const r = await fetch(`${svc.url}/label?policy=kz&visble=false`, { method: 'POST', body: png });
    expect(r.status).toBe(400);
    const e = (await r.json()) as { error: { code: string; message: string } };
    expect(e.error.code).toBe('INVALID_OPTION');
    expect(e.error.message).toMatch(/^visble: not a parameter of POST \/label/);
    expect((await fetch(`${svc.url}/verify?deepfak=true`, { method: 'POST', body: png })).status).toBe(400);
    // A label parameter is not a verify parameter.
    expect((await fetch(`${svc.url}/verify?provider=x`, { method: 'POST', body: png })).status).toBe(400);
    expect((await fetch(`${svc.url}/label?policy=eu&policy=kz`, { method: 'POST', body: png })).status).toBe(400);
  });

  it('answers text formats with charset=utf-8, and errors never name a temp file', async () => {
    const r = await fetch(`${svc.url}/label?policy=eu&name=answer.md`, { method: 'POST', body: '# Answer\n\nСгенерированный ответ модели.\n' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/.+; charset=utf-8$/);
    expect(await r.text()).toContain('Сгенерированный ответ модели.');
    const truncated = await fetch(`${svc.url}/label?name=photo.jpg`, { method: 'POST', body: photo.subarray(0, 600) });
    const body = (await truncated.json()) as { error: { message: string } };
    expect(truncated.status).toBe(422);
    expect(body.error.message).not.toMatch(/tamga-serve-|upload|\/tmp\//);
    const v = (await (await fetch(`${svc.url}/verify?name=photo.jpg`, { method: 'POST', body: photo.subarray(0, 600) })).json()) as { path: string; error?: { message: string } };
    expect(v.path).toBe('photo.jpg');
    expect(JSON.stringify(v)).not.toMatch(/tamga-serve-|\/tmp\//);
  });

  it('serves its OpenAPI document, whose parameters are exactly the ones the routes accept', async () => {
    const r = await fetch(`${svc.url}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: { content: Record<string, unknown> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/health', '/label', '/openapi.json', '/verify']);
    expect(doc).toEqual(openApiDocument());
    for (const [route, table] of [['/label', LABEL_PARAMS], ['/verify', VERIFY_PARAMS]] as const) {
      const names = doc.paths[route]!['post']!.parameters!.map((p) => p.name);
      expect(names.sort()).toEqual(Object.keys(table).sort());
      expect(Object.keys(doc.paths[route]!['post']!.requestBody!.content).sort()).toEqual(['application/octet-stream', 'multipart/form-data']);
      // Every documented parameter is accepted (a bad value may be refused, but never as unknown).
      for (const name of names) {
        const res = await fetch(`${svc.url}${route}?${name}=zz`, { method: 'POST', body: png });
        if (res.status === 400) expect(((await res.json()) as { error: { message: string } }).error.message).not.toMatch(/not a parameter/);
        else await res.arrayBuffer();
      }
    }
  });

  it('signs C2PA server-side with the configured pair or signer command, and applies the configured watermark key', async () => {
    const tmp = tempDir('tamga-serve-c2pa-');
    const chain = await makeDevChain();
    const certFile = join(tmp.dir, 'chain.pem');
    const keyFile = join(tmp.dir, 'key.pem');
    writeFileSync(certFile, chain.chainPem);
    writeFileSync(keyFile, chain.keyPem);
    // A stand-in for a KMS client: signs stdin with the key file, as `openssl dgst` would.
    const signer = join(tmp.dir, 'kms-sign.mjs');
    writeFileSync(signer, `import { createSign } from 'node:crypto'; import { readFileSync } from 'node:fs';\nconst s = createSign('sha256'); s.update(readFileSync(0)); process.stdout.write(s.sign({ key: readFileSync(${JSON.stringify(keyFile)}), dsaEncoding: 'ieee-p1363' }));\n`);
    chmodSync(signer, 0o755);
    const key = '00112233445566778899aabbccddeeff';
    const { commandSigner } = await import('../../src/distributed/serve.js');
    for (const c2pa of [{ cert: certFile, key: keyFile }, { signer: commandSigner([process.execPath, signer], chain.chainPem) }]) {
      const s = await startService({ port: 0, c2pa, watermarkKeys: [key] });
      try {
        const r = await fetch(`${s.url}/label?policy=eu&visible=false`, { method: 'POST', body: photo });
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('image/jpeg');
        expect(r.headers.get('x-tamga-layers')?.split(',')).toEqual(expect.arrayContaining(['metadata', 'watermark', 'c2pa']));
        const out = new Uint8Array(await r.arrayBuffer());
        const found = await detect(out, { trustAnchors: chain.rootPem, watermarkKey: key });
        expect(found.findings.find((f) => f.kind === 'c2pa:manifest')?.value).toMatchObject({ validationState: 'valid' });
        expect(found.findings.some((f) => f.layer === 'watermark')).toBe(true);
        // c2pa=false leaves it out for one request.
        const plain = await fetch(`${s.url}/label?policy=eu&visible=false&c2pa=false&watermark=false`, { method: 'POST', body: photo });
        expect(plain.headers.get('x-tamga-layers')).toBe('metadata');
        await plain.arrayBuffer();
      } finally {
        await s.close();
      }
    }
    tmp.cleanup();
  }, 60_000);

  it('with a token, every route but /health needs Authorization: Bearer', async () => {
    const token = 'a-long-enough-secret-token';
    const s = await startService({ port: 0, token });
    try {
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
      const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-of-some-length' }, { authorization: `Basic ${token}` }];
      for (const headers of attempts) {
        const r = await fetch(`${s.url}/verify`, { method: 'POST', body: png, headers });
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
      expect((await fetch(`${s.url}/openapi.json`)).status).toBe(401);
      const ok = await fetch(`${s.url}/verify`, { method: 'POST', body: png, headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    } finally {
      await s.close();
    }
    await expect(startService({ port: 0, token: 'short' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('`tamga serve --c2pa-cert --c2pa-key --watermark-key --token` wires the flags to the service', async () => {
    const tmp = tempDir('tamga-serve-cli-');
    const chain = await makeDevChain();
    writeFileSync(join(tmp.dir, 'chain.pem'), chain.chainPem);
    writeFileSync(join(tmp.dir, 'key.pem'), chain.keyPem);
    const token = 'token-from-the-environment-123';
    const args = ['serve', '--port', '0', '--quiet', '--c2pa-cert', join(tmp.dir, 'chain.pem'), '--c2pa-key', join(tmp.dir, 'key.pem'), '--watermark-key', '00112233445566778899aabbccddeeff'];
    const proc = spawn(process.execPath, [TAMGA_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TAMGA_SERVE_TOKEN: token } });
    try {
      const url = await listeningUrl(proc);
      expect((await fetch(`${url}/label?visible=false`, { method: 'POST', body: photo })).status).toBe(401);
      const r = await fetch(`${url}/label?policy=eu&visible=false`, { method: 'POST', body: photo, headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-tamga-layers')?.split(',').sort()).toEqual(['c2pa', 'metadata', 'watermark']);
      await r.arrayBuffer();
    } finally {
      proc.kill('SIGTERM');
      tmp.cleanup();
    }
  }, 60_000);
});
