import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { detect } from '../../src/api.js';
import { ROOT, runTamga, TAMGA_BIN, tempDir } from '../helpers.js';
import { pngWithText } from '../verify/make.js';

/**
 * The CLI conventions users of exiftool and ffmpeg expect (issue 20): one meaning per flag, `-` for
 * stdin/stdout, batches, exit codes, JSON usage errors, --quiet/--verbose, messages that name the
 * flag typed and the file once.
 */
// Each test runs the CLI several times (a process start each): past the 30 s default on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });
const tmp = tempDir('tamga-cli-conv-');
afterAll(() => tmp.cleanup());
const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);
const SAMPLE = join(ROOT, 'fixtures', 'demo', 'sample.png');
const KEY = '00112233445566778899aabbccddeeff';

/** The CLI with bytes on stdin and stdout as bytes. */
function tamgaPiped(input: Buffer, ...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [TAMGA_BIN, ...args], { cwd: tmp.dir, input, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

let a1111: string;
beforeAll(async () => {
  a1111 = join(tmp.dir, 'a1111.png');
  writeFileSync(a1111, await pngWithText([['parameters', 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64']]));
});

describe('one meaning per flag (item 6)', () => {
  it('label signs with --c2pa-cert/--c2pa-key; the old --cert/--key still work and warn', () => {
    const keys = join(tmp.dir, 'keys');
    expect(tamga('keygen', '--out', keys, '--json').code).toBe(0);
    const now = tamga('label', SAMPLE, '-o', 'signed.png', '--no-visible', '--c2pa', '--c2pa-cert', join(keys, 'chain.pem'), '--c2pa-key', join(keys, 'key.pem'), '--json');
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout).layers).toContain('c2pa');
    expect(now.stderr).toBe('');
    const old = tamga('label', SAMPLE, '-o', 'signed-old.png', '--no-visible', '--c2pa', '--cert', join(keys, 'chain.pem'), '--key', join(keys, 'key.pem'), '--json');
    expect(old.code, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout).layers).toContain('c2pa');
    expect(old.stderr).toMatch(/--cert is deprecated in `tamga label`: use --c2pa-cert/);
    expect(old.stderr).toMatch(/--key is deprecated in `tamga label`: use --c2pa-key/);
    // --help lists the new spellings only.
    const help = tamga('label', '--help').stdout;
    expect(help).toMatch(/--c2pa-key <pem>/);
    expect(help).not.toMatch(/^\s+--key\b/m);
  });

  it('scan takes --watermark-key (--key warns); watermark detect honours $TAMGA_WATERMARK_KEY', () => {
    expect(tamga('watermark', 'embed', SAMPLE, '-o', 'wm.png', '--watermark-key', KEY, '--payload', '0123456789abcdef').code).toBe(0);
    const viaEnv = spawnSync(process.execPath, [TAMGA_BIN, 'watermark', 'detect', 'wm.png'], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, TAMGA_WATERMARK_KEY: KEY } });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout.trim()).toBe('0123456789abcdef');
    const noKey = spawnSync(process.execPath, [TAMGA_BIN, 'watermark', 'detect', 'wm.png', '--json'], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, TAMGA_WATERMARK_KEY: '' } });
    expect(noKey.status).toBe(2);
    expect(JSON.parse(noKey.stdout).error.message).toMatch(/^--watermark-key: give --watermark-key <key> or set \$TAMGA_WATERMARK_KEY/);
    const old = tamga('watermark', 'detect', 'wm.png', '--key', KEY);
    expect(old.code).toBe(0);
    expect(old.stderr).toMatch(/--key is deprecated in `tamga watermark detect`: use --watermark-key/);
    const scanOld = tamga('scan', 'wm.png', '--key', KEY, '--json', '--fail-on', 'none');
    const scanNew = tamga('scan', 'wm.png', '--watermark-key', KEY, '--json', '--fail-on', 'none');
    expect(scanOld.stderr).toMatch(/--key is deprecated in `tamga scan`: use --watermark-key/);
    const marks = (s: string) => JSON.parse(s).files[0].labels.filter((f: { layer: string }) => f.layer === 'watermark').length;
    expect(marks(scanNew.stdout)).toBe(1);
    expect(marks(scanOld.stdout)).toBe(1);
  });
});

describe('- for stdin/stdout, and batches (item 7)', () => {
  it('label - -o - , detect - and watermark embed/detect - work on pipes, and no message names a temp file', async () => {
    const png = readFileSync(SAMPLE);
    const l = tamgaPiped(png, 'label', '-', '-o', '-', '--no-visible', '--provider', 'Example AI LLP');
    expect(l.status, l.stderr).toBe(0);
    expect(l.stdout.subarray(0, 8)).toEqual(png.subarray(0, 8));
    expect((await detect(l.stdout)).findings.some((f) => f.kind === 'xmp:tamga')).toBe(true);
    expect(l.stderr).toMatch(/^labelled - -> - \(png;/);
    const d = tamgaPiped(l.stdout, 'detect', '-', '--json', '--no-visible');
    expect(d.status).toBe(0);
    expect(JSON.parse(d.stdout.toString())[0]).toMatchObject({ source: '-', format: 'png' });
    const w = tamgaPiped(png, 'watermark', 'embed', '-', '-o', '-', '--watermark-key', KEY, '--payload', 'fedcba9876543210');
    expect(w.status, w.stderr).toBe(0);
    expect(tamgaPiped(w.stdout, 'watermark', 'detect', '-', '--watermark-key', KEY).stdout.toString().trim()).toBe('fedcba9876543210');
    const bad = tamgaPiped(png.subarray(0, 300), 'label', '-', '-o', '-', '--no-visible');
    expect(bad.status).toBe(3);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toMatch(/^tamga: -: /);
    expect(bad.stderr).not.toMatch(/tamga-stdio-|\/tmp\//);
  });

  it('label of a directory mirrors it into -o DIR, several at once, skipping files it does not label and its own output', () => {
    const src = join(tmp.dir, 'batch');
    mkdirSync(join(src, 'sub'), { recursive: true });
    copyFileSync(SAMPLE, join(src, 'a.png'));
    copyFileSync(join(ROOT, 'fixtures', 'demo', 'sample.jpg'), join(src, 'sub', 'b.jpg'));
    writeFileSync(join(src, 'notes.bin'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const out = join(src, 'labelled'); // inside the input: never labelled again
    const r = tamga('label', src, '-o', out, '--no-visible', '--concurrency', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { results: { input: string; output?: string; skipped?: string }[]; summary: Record<string, number> };
    expect(doc.summary).toEqual({ labelled: 2, skipped: 1, failed: 0 });
    expect(existsSync(join(out, 'a.png')) && existsSync(join(out, 'sub', 'b.jpg'))).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['a.png', 'sub']);
    // Several files: -o must be a directory; a truncated one fails alone, named, exit 3.
    writeFileSync(join(tmp.dir, 'trunc.jpg'), readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.jpg')).subarray(0, 500));
    const two = tamga('label', SAMPLE, 'trunc.jpg', '-o', 'two', '--no-visible');
    expect(two.code).toBe(3);
    expect(two.stderr).toMatch(/tamga: trunc\.jpg: JPEG: .*\[CORRUPT_INPUT\]/);
    expect(existsSync(join(tmp.dir, 'two', 'sample.png'))).toBe(true);
    expect(tamga('label', SAMPLE, 'trunc.jpg', '-o', '-').code).toBe(2);
    expect(tamga('label', src, '--no-visible').code).toBe(2);
  });
});

describe('exit codes (item 8)', () => {
  it('scan of a missing path exits 3; an unreadable or corrupt file fails the default --fail-on', () => {
    const missing = tamga('scan', 'no-such-dir', '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).files[0]).toMatchObject({ verdict: 'error' });
    writeFileSync(join(tmp.dir, 'corrupt.png'), readFileSync(SAMPLE).subarray(0, 120));
    expect(tamga('scan', 'corrupt.png', '--no-visible').code).toBe(1);
    expect(tamga('scan', 'corrupt.png', '--no-visible', '--fail-on', 'none').code).toBe(0);
    expect(tamga('scan', '--help').stdout.replace(/\s+/g, ' ')).toMatch(/default unlabelled,partially-labelled,invalid,error/);
  });

  it('piping into a reader that stops early (head) is a normal end, not an internal error', async () => {
    const dir = join(tmp.dir, 'many');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 400; i++) copyFileSync(SAMPLE, join(dir, `f${i}.png`));
    const child = spawn(process.execPath, [TAMGA_BIN, 'scan', dir, '--format', 'ndjson', '--no-visible', '--workers', '0', '--fail-on', 'none'], { cwd: tmp.dir });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // what `head -1` does once it has its line
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/internal error|EPIPE|at .*\.ts:\d+/);
    expect(code).toBe(0);
  }, 60_000);
});

describe('--json usage errors, output and verbosity (items 9, 10)', () => {
  it('an invalid choice or an unknown option with --json is a JSON error on stdout, exit 2, nothing on stderr', () => {
    for (const args of [['label', SAMPLE, '-o', 'x.png', '--policy', 'xx', '--json'], ['label', SAMPLE, '-o', 'x.png', '--polcy', 'kz', '--json'], ['scan', '.', '--json', '--bogus']]) {
      const r = tamga(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'INVALID_OPTION', message: expect.any(String) } });
    }
    expect(JSON.parse(tamga('label', SAMPLE, '--polcy', 'kz', '--json').stdout).error.message).toMatch(/unknown option '--polcy'/);
    // Without --json, commander's text on stderr as before.
    const text = tamga('label', SAMPLE, '--polcy', 'kz');
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/unknown option '--polcy'/);
  });

  it('scan -o prints the summary and where the report went; --quiet and --verbose on every command; optout --json', () => {
    const r = tamga('scan', SAMPLE, '-o', 'report.json', '--format', 'json', '--no-visible', '--fail-on', 'none');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^1 file\(s\): not-synthetic 1; json report written to report\.json$/);
    expect(JSON.parse(readFileSync(join(tmp.dir, 'report.json'), 'utf8')).schema).toBe('tamga.scan/1');
    expect(tamga('scan', SAMPLE, '-o', 'report2.json', '--format', 'json', '--no-visible', '--quiet').stdout).toBe('');
    const quiet = tamga('label', SAMPLE, '-o', 'q.png', '--no-visible', '--quiet');
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, '', '']);
    expect(tamga('label', SAMPLE, '-o', 'q2.png', '--no-visible').stdout).toMatch(/^labelled /);
    for (const cmd of ['detect', 'optout', 'serve', 'watermark detect']) {
      const help = tamga(...cmd.split(' '), '--help').stdout;
      expect(help, cmd).toMatch(/--quiet/);
      expect(help, cmd).toMatch(/--verbose/);
    }
    const o = tamga('optout', SAMPLE, '--json');
    expect(o.code).toBe(0);
    expect(JSON.parse(o.stdout)).toEqual([expect.objectContaining({ verdict: expect.any(String) })]);
    expect(tamga('optout', SAMPLE, '--json', '--format', 'ndjson').code).toBe(2);
  });
});

describe('messages (items 11, 12)', () => {
  it('name the file once, the flag as typed, and never a temp file or a raw errno', () => {
    writeFileSync(join(tmp.dir, 'broken.jpg'), readFileSync(join(ROOT, 'fixtures', 'demo', 'sample.jpg')).subarray(0, 500));
    const d = tamga('detect', 'broken.jpg');
    expect(d.stderr.split('broken.jpg').length - 1).toBe(1);
    const l = tamga('label', 'broken.jpg', '-o', 'b.jpg');
    expect(l.code).toBe(3);
    expect(l.stderr).toMatch(/^tamga: broken\.jpg: JPEG/);
    for (const out of [join(tmp.dir, 'no-such-folder', 'x.png')]) {
      const w = tamga('label', SAMPLE, '-o', out, '--no-visible');
      expect(w.code).toBe(4);
      expect(w.stderr).toBe(`tamga: ${out}: cannot create output: the folder does not exist [WRITE_FAILED]\n`);
    }
    const flag = tamga('label', SAMPLE, '-o', 'f.png', '--on-c2pa', 'strip', '--text', ' ', '--json');
    expect(JSON.parse(flag.stdout).error.message).toMatch(/^--text: /);
    const size = tamga('label', SAMPLE, '-o', 'f.png', '--size', '90');
    expect(size.stderr).toMatch(/^tamga: --size: /);
  });

  it('reports the TC260 producer decoded, as the provider, apart from the AI generators', () => {
    expect(tamga('label', a1111, '-o', 'prov.png', '--no-visible', '--provider', 'Example AI LLP', '--generator', 'Kandinsky/3.1').code).toBe(0);
    const s = JSON.parse(tamga('scan', 'prov.png', '--json', '--no-visible', '--fail-on', 'none').stdout).files[0];
    expect(s.synthetic.providers).toEqual(['Example AI LLP']);
    expect(s.synthetic.generators).not.toContain('Example AI LLP');
    expect(s.synthetic.generators).not.toContain('Example%20AI%20LLP');
    expect(JSON.stringify(s.evidence)).not.toMatch(/Example%20AI/);
    expect(tamga('scan', 'prov.png', '--no-visible', '--fail-on', 'none').stdout).toMatch(/provider Example AI LLP/);
  });
});
