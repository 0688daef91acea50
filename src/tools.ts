import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripTextWatermarkFile } from './adapters/text.js';
import { fsErrorText, TamgaError } from './core/errors.js';
import { sniff, SNIFF_BYTES } from './core/sniff.js';
import { FileReader } from './core/source.js';
import { makeDevChain, type DevChain } from './metadata/c2pa-devcert.js';

/**
 * What the CLI's `strip` and `keygen` do, as API functions (the CLI calls these through the public
 * entry point, src/index.ts, like any app). The watermark alone (`tamga watermark`) is
 * embedWatermarkFile / detectWatermarkFile of src/watermark/file.ts, exported from there.
 */

export interface StripOptions {
  /** Where the stripped text goes (through a temp file and a rename). */
  output: string;
  /** Only remove a watermark made with this key; without one every tamga-shaped cluster is removed. */
  watermarkKey?: string;
  /** Default true; false fails WRITE_FAILED when `output` exists. */
  overwrite?: boolean;
}

/** Removes tamga's invisible text watermark from a text file (the visible disclosure and metadata stay). */
export async function strip(input: string, opts: StripOptions): Promise<{ removed: number; bytes: number }> {
  if (!opts || typeof opts.output !== 'string' || !opts.output) throw new TamgaError('INVALID_OPTION', 'output: give the path of the stripped file', { option: 'output' });
  const reader = await FileReader.open(input);
  const head = await reader.read(0, Math.min(SNIFF_BYTES, reader.size)).finally(() => reader.close());
  const s = sniff(head, input);
  if (s?.kind !== 'text') throw new TamgaError('UNSUPPORTED_FORMAT', `${input}: strip removes the text watermark; this is ${s ? `${s.format} (${s.kind})` : 'not a format tamga recognises'}`, { format: s?.format });
  return stripTextWatermarkFile(input, opts.output, opts.watermarkKey, { overwrite: opts.overwrite !== false });
}

/** File names in a development chain's folder, in the order `label --c2pa-cert/--c2pa-key` and `detect --trust-anchors` take them. */
export const DEV_CHAIN_FILES = { chainPem: 'chain.pem', keyPem: 'key.pem', rootPem: 'root.pem' } as const satisfies Record<keyof DevChain, string>;

/** Writes a development C2PA chain into `dir` (created if missing); refuses to replace existing files unless `force`. */
export async function writeDevChain(dir: string, opts: { organisation?: string; force?: boolean } = {}): Promise<Record<keyof DevChain, string>> {
  const paths = Object.fromEntries(Object.entries(DEV_CHAIN_FILES).map(([k, f]) => [k, join(dir, f)])) as Record<keyof DevChain, string>;
  if (!opts.force) {
    const existing = Object.values(paths).filter((p) => existsSync(p));
    if (existing.length) throw new TamgaError('WRITE_FAILED', `${existing.join(', ')}: exists (pass --force to replace)`, { paths: existing });
  }
  const chain = await makeDevChain(opts.organisation ? { organisation: opts.organisation } : {});
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.chainPem, chain.chainPem, { mode: 0o644 });
    writeFileSync(paths.rootPem, chain.rootPem, { mode: 0o644 });
    writeFileSync(paths.keyPem, chain.keyPem, { mode: 0o600 });
  } catch (e) {
    throw new TamgaError('WRITE_FAILED', `${dir}: ${fsErrorText(e)}`, { path: dir, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
  }
  return paths;
}
