/**
 * Write safety under SIGKILL: a child labels large files in place and to an output path in a
 * loop; we kill it at random moments. After every kill the in-place file is either the original
 * or a complete labelled file (never a mix), the read-only input is untouched, and the output name
 * holds either nothing or a complete labelled file. TAMGA_KILLS sets the count (issue 10: 100).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/api.js';
import { ROOT, tempDir } from '../helpers.js';

const KILLS = Number(process.env.TAMGA_KILLS ?? 12);
const tmp = tempDir('tamga-kill-');
afterAll(() => tmp.cleanup());
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

let original: string;
let originalHash: string;
let input: string;
let inputHash: string;

beforeAll(async () => {
  // 36 MB uncompressed TIFF: above the 16 MiB in-memory limit, so labelling streams it.
  original = join(tmp.dir, 'original.tif');
  await sharp({ create: { width: 3000, height: 4000, channels: 3, background: '#5a7' } }).tiff({ compression: 'none' }).toFile(original);
  originalHash = sha(original);
  input = join(tmp.dir, 'input.png');
  await sharp({ create: { width: 1500, height: 1500, channels: 3, background: '#a57' } }).png({ compressionLevel: 0 }).toFile(input);
  inputHash = sha(input);
}, 60_000);

async function labelledContentId(path: string): Promise<string | undefined> {
  const d = await detect(path, { labelsOnly: true });
  return (d.findings.find((f) => f.kind === 'xmp:tamga')?.value as { contentId?: string } | undefined)?.contentId;
}

function runAndKill(target: string, output: string, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'safety', 'label-child.ts'), target, input, output], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), afterMs));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SIGKILL during label and in-place label', () => {
  it(`${KILLS} kills leave no damaged original and no partial output`, { timeout: 60_000 + KILLS * 5_000 }, async () => {
    let sawLabelled = 0;
    for (let k = 0; k < KILLS; k++) {
      const target = join(tmp.dir, 'inplace.tif');
      copyFileSync(original, target);
      const output = join(tmp.dir, 'out.png');
      writeFileSync(output, ''); // a stale file under the output name is replaced only by a complete one
      await runAndKill(target, output, Math.floor(Math.random() * 1500));
      // In place: the original bytes, or a complete file that reads back with our label.
      if (sha(target) !== originalHash) {
        expect(await labelledContentId(target)).toMatch(/^kill-\d+$/);
        sawLabelled++;
      }
      expect(sha(input)).toBe(inputHash);
      const out = readFileSync(output);
      if (out.length > 0) expect(await labelledContentId(output)).toMatch(/^out-\d+$/);
    }
    // Leftover temp files may remain after a kill, but never under a final name.
    const names = readdirSync(tmp.dir).filter((f) => !f.startsWith('.'));
    expect(names.sort()).toEqual(['input.png', 'inplace.tif', 'original.tif', 'out.png'].sort());
    console.log(`kill test: ${KILLS} kills, in-place file already relabelled at ${sawLabelled} of them`);
  });
});
