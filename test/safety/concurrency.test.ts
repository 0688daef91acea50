/**
 * Concurrency (issue 10): two labels of the same file at once, and reading a file while another
 * process writes it, each give the defined result documented in README ("Write safety"):
 *   - same output (or in place) twice at once: both succeed and the last rename wins, so the file
 *     is one complete labelled file carrying one of the two labels, never a mix; with
 *     overwrite: false exactly one succeeds and the other fails WRITE_FAILED;
 *   - a file read while it grows or is rewritten: a result for the bytes there when it was
 *     opened, or a TamgaError; never another exception or a hang.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { TamgaError } from '../../src/core/errors.js';
import { verify } from '../../src/verify/index.js';
import { makeAvFixtures } from '../../fixtures/make-av.js';
import { TAMGA_BIN, tempDir } from '../helpers.js';
import { pdfSeeds } from '../fuzz/media-targets.js';

const tmp = tempDir('tamga-concurrency-');
afterAll(() => tmp.cleanup());

let small: Buffer;
/** An uncompressed TIFF above the 16 MiB in-memory limit: labelling streams it through a temp file. */
let large: Buffer;
beforeAll(async () => {
  small = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#4a8' } }).png().toBuffer();
  large = await sharp({ create: { width: 2600, height: 2400, channels: 3, background: '#84a' } }).tiff({ compression: 'none' }).toBuffer();
  expect(large.length).toBeGreaterThan(16 << 20);
}, 60_000);

async function tamgaContentId(path: string): Promise<string | undefined> {
  const d = await detect(path, { labelsOnly: true, visible: false });
  return (d.findings.find((f) => f.kind === 'xmp:tamga')?.value as { contentId?: string } | undefined)?.contentId;
}

/** Settles both; every failure must be a TamgaError. */
async function both(a: Promise<unknown>, b: Promise<unknown>): Promise<PromiseSettledResult<unknown>[]> {
  const r = await Promise.allSettled([a, b]);
  for (const x of r) if (x.status === 'rejected') expect(x.reason).toBeInstanceOf(TamgaError);
  return r;
}

const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes('tamga-tmp'));

/** Runs the CLI in a child process (a real second writer, not just another promise). */
function cli(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TAMGA_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('labelling the same file twice at once', () => {
  for (const size of ['small', 'large'] as const) {
    it(`${size}: same output path — both succeed, the last rename wins, the output is one complete labelled file`, async () => {
      const input = join(tmp.dir, `in-${size}`);
      writeFileSync(input, size === 'small' ? small : large);
      const out = join(tmp.dir, `out-${size}`);
      const results = await both(label(input, { contentId: 'first' }, { output: out, visible: false }), label(input, { contentId: 'second' }, { output: out, visible: false }));
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(['first', 'second']).toContain(await tamgaContentId(out));
      expect((await sharp(out).metadata()).width).toBe(size === 'small' ? 64 : 2600);
      expect(leftovers(tmp.dir)).toEqual([]);
    }, 60_000);

    it(`${size}: in place — both succeed, the file is the original labelled once, never a mix`, async () => {
      const file = join(tmp.dir, `inplace-${size}`);
      writeFileSync(file, size === 'small' ? small : large);
      const results = await both(label(file, { contentId: 'first' }, { inPlace: true, visible: false }), label(file, { contentId: 'second' }, { inPlace: true, visible: false }));
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(['first', 'second']).toContain(await tamgaContentId(file));
      const d = await detect(file, { labelsOnly: true, visible: false });
      expect(d.findings.filter((f) => f.kind === 'xmp:tamga')).toHaveLength(1);
      expect((await sharp(file).raw().toBuffer()).equals(await sharp(size === 'small' ? small : large).raw().toBuffer())).toBe(true);
      expect(leftovers(tmp.dir)).toEqual([]);
    }, 60_000);
  }

  it('overwrite: false twice at once — exactly one succeeds, the other fails WRITE_FAILED', async () => {
    const input = join(tmp.dir, 'in-noover.png');
    writeFileSync(input, small);
    const out = join(tmp.dir, 'out-noover.png');
    const results = await both(label(input, { contentId: 'first' }, { output: out, visible: false, overwrite: false }), label(input, { contentId: 'second' }, { output: out, visible: false, overwrite: false }));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as TamgaError).code).toBe('WRITE_FAILED');
    expect(['first', 'second']).toContain(await tamgaContentId(out));
    expect(leftovers(tmp.dir)).toEqual([]);
  });

  it('two CLI processes labelling one large file in place at once: both exit 0, the file is complete and labelled', async () => {
    const file = join(tmp.dir, 'cli-inplace.tif');
    writeFileSync(file, large);
    const [a, b] = await Promise.all([cli('label', file, '--in-place', '--no-visible'), cli('label', file, '--in-place', '--no-visible')]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(await tamgaContentId(file)).toBeDefined();
    expect((await sharp(file).raw().toBuffer()).equals(await sharp(large).raw().toBuffer())).toBe(true);
    expect(leftovers(tmp.dir)).toEqual([]);
  }, 120_000);
});

describe('reading a file while it is written', () => {
  let files: Record<string, Buffer>;
  beforeAll(async () => {
    const av = await makeAvFixtures(join(tmp.dir, 'av'), [
      { name: 'w.mp4', video: true, seconds: 0.5, args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] },
      { name: 'w.mp3', seconds: 0.5, args: ['-c:a', 'libmp3lame', '-b:a', '64k'] },
    ]);
    const labelledPng = (await label(await sharp({ create: { width: 400, height: 300, channels: 3, background: '#a84' } }).png({ compressionLevel: 0 }).toBuffer(), {}, { visible: false })).data!;
    files = {
      'png': Buffer.from(labelledPng),
      'mp4': readFileSync(av['w.mp4']!),
      'mp3': readFileSync(av['w.mp3']!),
      'pdf': Buffer.from((await pdfSeeds())[1]!),
      'html': Buffer.from(`<!doctype html><html><head><title>t</title></head><body>${'<p>Some prose here.</p>'.repeat(4000)}</body></html>`),
    };
  }, 60_000);

  for (const name of ['png', 'mp4', 'mp3', 'pdf', 'html']) {
    it(`${name}: detect and verify during appends and a truncating rewrite give a result or a TamgaError`, async () => {
      const bytes = files[name]!;
      const path = join(tmp.dir, `growing.${name}`);
      writeFileSync(path, '');
      let writing = true;
      const writer = (async () => {
        // Append in chunks, then rewrite from scratch (an editor's save), then append again.
        const chunk = Math.max(512, Math.ceil(bytes.length / 24));
        for (let round = 0; round < 2; round++) {
          writeFileSync(path, bytes.subarray(0, chunk));
          for (let at = chunk; at < bytes.length; at += chunk) {
            appendFileSync(path, bytes.subarray(at, at + chunk));
            await new Promise((r) => setTimeout(r, 2));
          }
        }
        writing = false;
      })();
      let answers = 0;
      const outcomes = new Set<string>();
      while (writing || answers < 4) {
        const t0 = performance.now();
        for (const run of [() => detect(path, { visible: false }), () => verify(path, { visible: false })]) {
          try {
            const r = await run();
            outcomes.add('verdict' in r ? `verdict:${r.verdict}` : 'result');
          } catch (e) {
            expect(e, String((e as Error)?.stack)).toBeInstanceOf(TamgaError);
            outcomes.add((e as TamgaError).code);
          }
        }
        expect(performance.now() - t0).toBeLessThan(15_000);
        answers++;
      }
      await writer;
      // Once complete, the file reads normally.
      expect((await detect(path, { visible: false })).format).toBe(name === 'html' ? 'text' : name);
      expect(outcomes.size).toBeGreaterThan(0);
    }, 60_000);
  }
});
