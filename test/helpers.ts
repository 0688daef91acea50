import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { expect } from 'vitest';
import { renderPlan } from '../src/core/edit.js';
import { TamgaError } from '../src/core/errors.js';
import { BufferReader } from '../src/core/source.js';
import type { AvContainer, AvMetadataWrite, ImageContainer, MetadataWrite } from '../src/formats/types.js';
import type { Format } from '../src/core/types.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * TAMGA_NO_CORPUS=1 runs the suite as on a user's machine without ../shared (`.ci/run` does one such
 * run): CORPUS then names a folder that does not exist, so a test that reads the corpus outside
 * `skipIf(!hasCorpus)` (at collection time, say) fails in CI with the ENOENT a user would get.
 */
export const corpusHidden = Boolean(process.env['TAMGA_NO_CORPUS'] && process.env['TAMGA_NO_CORPUS'] !== '0');
/** ../shared/corpus beside the checkout (CI clones main with shared/ beside it). */
export const CORPUS = resolve(ROOT, '..', corpusHidden ? 'shared-hidden-by-TAMGA_NO_CORPUS' : 'shared', 'corpus');
export const hasCorpus = existsSync(join(CORPUS, 'corpus.json'));
export const corpusFile = (rel: string): string => join(CORPUS, rel);

export const hasExiftool = spawnSync('exiftool', ['-ver'], { encoding: 'utf8' }).status === 0;
if (!hasExiftool) {
  console.warn('[tamga tests] exiftool not found: interop tests against exiftool are SKIPPED (apt-get install libimage-exiftool-perl)');
}
if (!hasCorpus) console.warn(`[tamga tests] ${corpusHidden ? 'TAMGA_NO_CORPUS set' : `${CORPUS} not found`}: corpus tests are SKIPPED`);

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

export const TAM_URI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

/** A small real XMP packet declaring trainedAlgorithmicMedia; `extra` goes inside rdf:RDF. */
export const xmpPacket = (extra = ''): Buffer =>
  Buffer.from(
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
      `<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="${TAM_URI}"/>` +
      `${extra}</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>`,
    'utf8',
  );

/** Reads a container from bytes and renders its planned metadata write. */
export async function writeMetadata(container: ImageContainer, input: Uint8Array, write: MetadataWrite): Promise<Buffer> {
  const r = new BufferReader(input);
  return Buffer.from(await renderPlan(r, await container.planWrite(r, await container.read(r), write)));
}

/** Asserts that the promise rejects with a TamgaError of `code` (default CORRUPT_INPUT). */
export async function expectTamgaError(p: Promise<unknown>, code = 'CORRUPT_INPUT', message?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TamgaError);
  expect((err as TamgaError).code).toBe(code);
  if (message) expect((err as TamgaError).message).toMatch(message);
}

/** The warnings `exiftool -validate` reports for a file, as a set of lines. */
export function validateWarnings(path: string): Set<string> {
  const out = exiftool(['-validate', '-warning', '-a', '-s3', path]);
  return new Set(out.split('\n').filter((l) => l && !/^(OK|\d+ Warnings?)/.test(l)));
}

/** Random byte damage (deterministic seed): every read must give a result or CORRUPT_INPUT, nothing else. */
export async function expectOnlyCorruptUnderDamage(read: (b: Uint8Array) => Promise<unknown>, input: Uint8Array, seed: number, rounds = 500): Promise<void> {
  let state = seed;
  const rand = (n: number) => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < rounds; i++) {
    const bad = Buffer.from(input);
    for (let k = 0; k < 1 + rand(3); k++) bad[rand(bad.length)] = rand(256);
    await read(bad).catch((e: unknown) => {
      expect(e).toBeInstanceOf(TamgaError);
      expect((e as TamgaError).code).toBe('CORRUPT_INPUT');
    });
  }
}

/** A complete audio/video metadata write for container tests; `over` replaces fields. */
export const avMetadataWrite = (over: Partial<AvMetadataWrite> = {}): AvMetadataWrite => ({
  xmp: xmpPacket(),
  comment: 'Жасанды интеллект арқылы жасалған / AI-generated',
  aigc: '{"AIGC":{"Label":"1"}}',
  tamga: '{"contentId":"c1","digitalSourceType":"trainedAlgorithmicMedia"}',
  ...over,
});

/** Reads an audio/video container from bytes and renders its planned metadata write. */
export async function rewriteAv(container: AvContainer, input: Uint8Array, format: Format, w: AvMetadataWrite): Promise<Buffer> {
  const r = new BufferReader(input);
  return Buffer.from(await renderPlan(r, await container.planWrite(r, await container.read(r, format), w)));
}

export const TAMGA_BIN = join(ROOT, 'bin', 'tamga.js');

/** Runs the tamga CLI in `cwd` (arguments as an array, no shell); `code` and `status` are the exit code. */
export function runTamga(cwd: string, ...args: string[]): { code: number | null; status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TAMGA_BIN, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, status: r.status, stdout: r.stdout, stderr: r.stderr };
}
