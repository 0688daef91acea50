import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect, label } from '../../src/api.js';
import { scan, verify } from '../../src/verify/index.js';
import type { Finding } from '../../src/core/types.js';
import type { FileVerdict } from '../../src/verify/types.js';
import { keyFingerprint } from '../../src/watermark/image-layer.js';
import { runFfmpeg } from '../../src/media/ffmpeg.js';
import { embedWatermarkFile } from '../../src/watermark/file.js';
import { expectTamgaError, ROOT, runTamga, tempDir } from '../helpers.js';
import { prose } from '../watermark/prose.js';

const KEY_A = 'newsroom key A (2026)';
const KEY_B = 'partner, key B: with a comma';
const WRONG = 'not one of ours at all';
const DEMO = join(ROOT, 'fixtures', 'demo');
const tmp = tempDir('tamga-wm-keys-');
const root = join(tmp.dir, 'tree');
afterAll(() => tmp.cleanup());

/** Two images, each carrying only a watermark (no metadata): one under key A, one under key B. */
beforeAll(async () => {
  mkdirSync(root);
  await embedWatermarkFile(join(DEMO, 'sample.png'), join(root, 'a.png'), KEY_A, Buffer.from('00000000000000aa', 'hex'));
  await embedWatermarkFile(join(DEMO, 'sample.jpg'), join(root, 'b.jpg'), KEY_B, Buffer.from('00000000000000bb', 'hex'));
}, 60_000);

async function scanned(opts: Parameters<typeof scan>[1]): Promise<Map<string, FileVerdict>> {
  const m = new Map<string, FileVerdict>();
  for await (const v of scan([root], { visible: false, ...opts })) m.set(v.path.split('/').pop()!, v);
  return m;
}

const watermarkKeysFound = (v: FileVerdict | undefined) => v?.labels.filter((f) => f.kind === 'watermark:tamga').map((f) => (f.value as { key: string }).key);

describe('several watermark keys', () => {
  it('one scan with both keys labels each file with the fingerprint of the key that matched, never the key', async () => {
    const m = await scanned({ watermarkKeys: [WRONG, KEY_A, KEY_B] });
    expect(watermarkKeysFound(m.get('a.png'))).toEqual([keyFingerprint(KEY_A)]);
    expect(watermarkKeysFound(m.get('b.jpg'))).toEqual([keyFingerprint(KEY_B)]);
    for (const name of ['a.png', 'b.jpg']) {
      const v = m.get(name)!;
      expect(v.synthetic?.grade).toBe('hard');
      expect(v.evidence.find((e) => e.kind === 'tamga:watermark')?.value).toMatchObject({ key: watermarkKeysFound(v)![0] });
      expect(v.requirements.find((r) => r.id === 'machine-readable')?.by).toContain('watermark');
      const text = JSON.stringify(v);
      for (const k of [KEY_A, KEY_B, WRONG]) expect(text).not.toContain(k);
    }
  });

  it('with only one key, the other file has no watermark label and no evidence', async () => {
    const m = await scanned({ watermarkKeys: [KEY_A] });
    expect(watermarkKeysFound(m.get('a.png'))).toEqual([keyFingerprint(KEY_A)]);
    expect(watermarkKeysFound(m.get('b.jpg'))).toEqual([]);
    expect(m.get('b.jpg')).toMatchObject({ verdict: 'not-synthetic', synthetic: null });
  });

  it('wrong keys only: nothing is found', async () => {
    const m = await scanned({ watermarkKeys: [WRONG, 'another wrong key'] });
    for (const v of m.values()) expect(v).toMatchObject({ verdict: 'not-synthetic', labels: [] });
  });

  it('watermarkKey (the single-key option) still works and combines with watermarkKeys; duplicates count once', async () => {
    const v = await verify(join(root, 'b.jpg'), { visible: false, watermarkKey: KEY_B, watermarkKeys: [KEY_A, KEY_B] });
    expect(watermarkKeysFound(v)).toEqual([keyFingerprint(KEY_B)]);
    const d = await detect(join(root, 'a.png'), { visible: false, watermarkKey: KEY_B, watermarkKeys: [KEY_A] });
    expect(d.findings.filter((f) => f.layer === 'watermark').map((f) => (f.value as { key: string }).key)).toEqual([keyFingerprint(KEY_A)]);
  });

  it('text: the mark under either key is found and named by its fingerprint', async () => {
    const r = await label(Buffer.from(prose(3000, 7)), {}, { watermarkKey: KEY_B, visible: false, metadata: false });
    const v = await verify(Buffer.from(r.data!), { watermarkKeys: [KEY_A, KEY_B] });
    expect(v.labels.filter((f) => f.kind === 'watermark:tamga-text').map((f) => (f.value as { key: string }).key)).toEqual([keyFingerprint(KEY_B)]);
    expect(v.synthetic?.grade).toBe('hard');
    expect((await verify(Buffer.from(r.data!), { watermarkKeys: [KEY_A] })).labels.filter((f) => f.layer === 'watermark')).toEqual([]);
  });

  it('audio: every key is tried on the decoded samples; the matching key is named', async () => {
    const src = join(tmp.dir, 'tone.wav');
    const marked = join(tmp.dir, 'tone-marked.wav');
    await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=220:d=12', '-f', 'lavfi', '-i', 'anoisesrc=c=pink:a=0.08:d=12', '-filter_complex', '[0][1]amix=inputs=2', '-ar', '44100', '-c:a', 'pcm_s16le', '-y', src]);
    await embedWatermarkFile(src, marked, KEY_B, Buffer.from('00000000000000cc', 'hex'));
    const v = await verify(marked, { visible: false, watermarkKeys: [WRONG, KEY_A, KEY_B] });
    expect(watermarkKeysFound(v)).toEqual([keyFingerprint(KEY_B)]);
    expect(v.labels.find((f) => f.kind === 'watermark:tamga')?.value).toMatchObject({ id: '00000000000000cc' });
    expect(watermarkKeysFound(await verify(marked, { visible: false, watermarkKeys: [WRONG, KEY_A] }))).toEqual([]);
  }, 60_000);

  it('bad keys are INVALID_OPTION naming the option', async () => {
    await expectTamgaError(verify(join(root, 'a.png'), { watermarkKeys: ['short'] }), 'INVALID_OPTION', /watermarkKeys/);
    await expectTamgaError(verify(join(root, 'a.png'), { watermarkKeys: 'not a list' as unknown as string[] }), 'INVALID_OPTION', /watermarkKeys/);
    await expectTamgaError(detect(join(root, 'a.png'), { watermarkKeys: Array.from({ length: 65 }, (_, i) => `key number ${i}`) }), 'INVALID_OPTION', /at most 64/);
  });

  it('CLI: --key and --watermark-key accumulate, $TAMGA_WATERMARK_KEY adds one', () => {
    const run = (env: string | undefined, ...args: string[]) => {
      const saved = process.env['TAMGA_WATERMARK_KEY'];
      if (env === undefined) delete process.env['TAMGA_WATERMARK_KEY'];
      else process.env['TAMGA_WATERMARK_KEY'] = env;
      try {
        const r = runTamga(tmp.dir, 'scan', root, '--no-visible', '--format', 'json', '--fail-on', 'none', ...args);
        expect(r.status, r.stderr).toBe(0);
        const files = (JSON.parse(r.stdout) as { files: FileVerdict[] }).files;
        return Object.fromEntries(files.map((v) => [v.path.split('/').pop()!, watermarkKeysFound(v)]));
      } finally {
        if (saved === undefined) delete process.env['TAMGA_WATERMARK_KEY'];
        else process.env['TAMGA_WATERMARK_KEY'] = saved;
      }
    };
    expect(run(undefined, '--key', KEY_A, '--watermark-key', KEY_B)).toEqual({ 'a.png': [keyFingerprint(KEY_A)], 'b.jpg': [keyFingerprint(KEY_B)] });
    expect(run(KEY_B, '--key', KEY_A)).toEqual({ 'a.png': [keyFingerprint(KEY_A)], 'b.jpg': [keyFingerprint(KEY_B)] });
    // A bad key is a usage error before any report is written.
    const bad = runTamga(tmp.dir, 'scan', root, '--key', KEY_A, '--key', 'short', '--format', 'json');
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'INVALID_OPTION', details: { option: 'watermarkKey' }, message: expect.stringMatching(/^--key:/) } });
  }, 60_000);

  it('CLI: detect --watermark-key is repeatable and tries every key on each file', () => {
    const r = runTamga(tmp.dir, 'detect', join(root, 'a.png'), join(root, 'b.jpg'), '--no-visible', '--json', '--watermark-key', WRONG, '--watermark-key', KEY_A, '--watermark-key', KEY_B);
    expect(r.status, r.stderr).toBe(0);
    const found = (JSON.parse(r.stdout) as { source: string; findings: Finding[] }[]).map((d) => d.findings.filter((f) => f.layer === 'watermark').map((f) => (f.value as { key: string }).key));
    expect(found).toEqual([[keyFingerprint(KEY_A)], [keyFingerprint(KEY_B)]]);
  }, 60_000);
});
