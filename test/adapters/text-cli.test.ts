import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers.js';
import { prose } from '../watermark/prose.js';

const tmp = tempDir('tamga-text-cli-');
afterAll(() => tmp.cleanup());
const BIN = join(ROOT, 'bin', 'tamga.js');
const KEY = 'cli-secret-key-2026';

function tamga(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp.dir, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tamga CLI: text label, detect with a key, strip', () => {
  it('labels with the key from the environment, finds the mark, strips it', () => {
    const text = prose(4000, 3);
    const src = join(tmp.dir, 'answer.txt');
    const out = join(tmp.dir, 'answer.labelled.txt');
    const clean = join(tmp.dir, 'answer.clean.txt');
    writeFileSync(src, text);
    const l = tamga(['label', src, '-o', out, '--lang', 'en', '--text-position', 'end', '--content-id', 'cli-1', '--json'], { TAMGA_WATERMARK_KEY: KEY });
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout).layers).toEqual(['visible', 'watermark']);
    const d = tamga(['detect', out, '--json', '--watermark-key', KEY]);
    expect(d.code, d.stderr).toBe(0);
    const kinds = (JSON.parse(d.stdout) as { findings: { kind: string }[] }[])[0]!.findings.map((f) => f.kind);
    expect(kinds).toEqual(expect.arrayContaining(['watermark:tamga-text', 'text:disclosure-line']));
    const wrongKey = tamga(['strip', out, '-o', clean, '--watermark-key', 'some-other-key']);
    expect(wrongKey.stdout).toMatch(/no watermark under this key/);
    const s = tamga(['strip', out, '-o', clean, '--json'], { TAMGA_WATERMARK_KEY: KEY });
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).removed).toBeGreaterThan(100);
    expect(readFileSync(clean, 'utf8')).toBe(`${text}\n\nGenerated with artificial intelligence\n`);
    const after = tamga(['detect', clean, '--json', '--watermark-key', KEY]);
    expect(after.stdout).not.toMatch(/watermark:tamga-text/);
    expect(tamga(['strip', join(ROOT, 'fixtures', 'demo', 'sample.jpg'), '-o', join(tmp.dir, 'x')]).code).toBe(3);
    expect(tamga(['label', src, '-o', join(tmp.dir, 'y.txt'), '--text-position', 'middle']).code).toBe(2);
    // Seven CLI runs, each a process start: more than the 30 s default on a loaded machine.
  }, 120_000);
});
