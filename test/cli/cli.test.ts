import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCorpus, ROOT, tempDir, runTamga } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const SAMPLE = join(ROOT, 'fixtures', 'demo', 'sample.jpg');

const tamga = (...args: string[]) => runTamga(tmp.dir, ...args);

describe('tamga CLI', () => {
  it('--version and --help', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(tamga('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = tamga('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/label \[options\] <inputs\.\.\.>/);
    expect(help.stdout).toMatch(/detect \[options\] <files\.\.\.>/);
  });

  it('label --json then detect --json --require-label', () => {
    const out = join(tmp.dir, 'a.jpg');
    const l = tamga('label', SAMPLE, '-o', out, '--no-visible', '--generator', 'Kandinsky/3.1', '--provider', 'Example AI LLP', '--source-type', 'compositeWithTrainedAlgorithmicMedia', '--jurisdiction', 'KZ,EU', '--json');
    expect(l.code, l.stderr).toBe(0);
    const res = JSON.parse(l.stdout);
    expect(res).toMatchObject({ input: SAMPLE, format: 'jpeg', layers: ['metadata'], output: out, provenance: { generator: { name: 'Kandinsky', version: '3.1' }, digitalSourceType: 'compositeWithTrainedAlgorithmicMedia', jurisdictions: ['KZ', 'EU'] } });
    const d = tamga('detect', out, SAMPLE, '--json', '--labels-only');
    expect(d.code).toBe(0);
    const [a, b] = JSON.parse(d.stdout);
    expect(a.findings.map((f: { kind: string }) => f.kind)).toEqual(expect.arrayContaining(['xmp:iptc-digital-source-type', 'xmp:tc260-aigc', 'xmp:tamga', 'exif:image-description']));
    expect(b.findings).toEqual([]);
    expect(tamga('detect', out, '--require-label').code).toBe(0);
    expect(tamga('detect', out, SAMPLE, '--require-label').code).toBe(1);
  });

  it('exit codes: 2 for usage, 3 for bad input, with a JSON error', () => {
    expect(tamga('label', SAMPLE).code).toBe(2);
    expect(tamga('label', SAMPLE, '-o', join(tmp.dir, 'x.jpg'), '--source-type', 'photo').code).toBe(2);
    expect(tamga('frobnicate').code).toBe(2);
    const missing = tamga('label', join(tmp.dir, 'nope.jpg'), '-o', join(tmp.dir, 'y.jpg'), '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { name: 'TamgaError', code: 'READ_FAILED' } });
    const d = tamga('detect', join(tmp.dir, 'nope.jpg'), SAMPLE, '--json');
    expect(d.code).toBe(3);
    expect(JSON.parse(d.stdout)[0]).toMatchObject({ error: { code: 'READ_FAILED' } });
    expect(existsSync(join(tmp.dir, 'y.jpg'))).toBe(false);
  });

  it('demo labels and detects every bundled sample', () => {
    const r = tamga('demo', '--json');
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.ok).toBe(true);
    expect(res.files.map((f: { format: string }) => f.format).sort()).toEqual(['gif', 'jpeg', 'png', 'tiff', 'webp']);
    // Before/after PNGs of three corpus photos with the visible badge, found again by detect.
    expect(res.visible).toHaveLength(hasCorpus ? 3 : 0);
    for (const p of res.visible) expect(p).toMatchObject({ detected: true });
  });

  it('label --lang --position --size draws the badge; detect finds it unless --no-visible', () => {
    const out = join(tmp.dir, 'badge.png');
    const input = join(ROOT, 'fixtures', 'demo', 'sample.png');
    const l = tamga('label', input, '-o', out, '--lang', 'kk,ru', '--position', 'top-left', '--size', '7%', '--json');
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout)).toMatchObject({ layers: ['visible', 'metadata'] });
    const badge = (args: string[]) => JSON.parse(tamga('detect', out, '--json', ...args).stdout)[0].findings.filter((f: { kind: string }) => f.kind === 'visible:tamga-badge');
    expect(badge([])).toEqual([expect.objectContaining({ layer: 'visible', value: expect.objectContaining({ position: 'top-left', langs: ['kk', 'ru'] }) })]);
    expect(badge(['--no-visible'])).toEqual([]);
    const bad = tamga('label', input, '-o', join(tmp.dir, 'bad.png'), '--size', 'huge', '--json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'INVALID_OPTION', details: { option: 'size' } } });
    expect(tamga('label', input, '-o', join(tmp.dir, 'bad.png'), '--position', 'middle').code).toBe(2);
  });
});
