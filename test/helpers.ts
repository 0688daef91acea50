import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** ../shared/corpus beside the checkout (CI clones main with shared/ beside it). */
export const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');
export const hasCorpus = existsSync(join(CORPUS, 'corpus.json'));
export const corpusFile = (rel: string): string => join(CORPUS, rel);

export const hasExiftool = spawnSync('exiftool', ['-ver'], { encoding: 'utf8' }).status === 0;
if (!hasExiftool) {
  console.warn('[tamga tests] exiftool not found: interop tests against exiftool are SKIPPED (apt-get install libimage-exiftool-perl)');
}
if (!hasCorpus) console.warn(`[tamga tests] ${CORPUS} not found: corpus tests are SKIPPED`);

/** exiftool -j -a -G1 output for one file (tag names prefixed by family-1 group, e.g. XMP-iptcExt:DigitalSourceType). */
export function exiftoolJson(path: string, extra: string[] = []): Record<string, unknown> {
  const out = execFileSync('exiftool', ['-j', '-a', '-G1', '-struct', ...extra, path], { encoding: 'utf8' });
  return (JSON.parse(out) as Record<string, unknown>[])[0]!;
}

/** Runs exiftool with arguments (e.g. to write fixtures) and returns stdout. */
export function exiftool(args: string[]): string {
  return execFileSync('exiftool', args, { encoding: 'utf8' });
}

/** Decoded pixels (all frames, raw RGBA) so tests can prove a metadata write left them bit-identical. */
export async function decodedPixels(input: string | Uint8Array): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(input, { animated: true, limitInputPixels: false }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

export function tempDir(prefix = 'tamga-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
