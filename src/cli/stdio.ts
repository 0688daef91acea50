import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isTamgaError, TamgaError } from '../core/errors.js';

/** `-` for a file argument: stdin as the input, stdout as the output (as ffmpeg and exiftool take it). */
export const STDIO = '-';

/** A TamgaError whose message and details name `-` instead of the temp file that stood for it. */
function renamed(e: unknown, dir: string, name: string): unknown {
  if (!isTamgaError(e)) return e;
  const fix = (s: string) => s.split(join(dir, 'stdin')).join(name).split(join(dir, 'stdout')).join(name).split(dir).join(name);
  if (!e.message.includes(dir) && !JSON.stringify(e.details ?? {}).includes(dir)) return e;
  const details = JSON.parse(fix(JSON.stringify(e.details ?? {}))) as Record<string, unknown>;
  return new TamgaError(e.code, fix(e.message), details, { cause: e });
}

/**
 * Runs `fn` on paths: stdin is spooled to a private temp file first when `input` is `-` (the
 * formats are read with random access, and ffmpeg needs a file), and an `output` of `-` is written
 * to a temp file that is copied to stdout once complete, so stdout never gets half a file. The temp
 * folder is removed afterwards, and no message names it.
 */
export async function withStdio<T>(input: string, output: string | undefined, fn: (input: string, output: string | undefined) => Promise<T>): Promise<T> {
  if (input !== STDIO && output !== STDIO) return fn(input, output);
  if (input === STDIO && process.stdin.isTTY) throw new TamgaError('INVALID_OPTION', 'input: - reads the file from stdin, which is a terminal here; pipe a file in (tamga ... - < file)', { option: 'input' });
  const dir = await mkdtemp(join(tmpdir(), 'tamga-stdio-'));
  try {
    const inPath = input === STDIO ? join(dir, 'stdin') : input;
    if (input === STDIO) await pipeline(process.stdin, createWriteStream(inPath));
    const outPath = output === STDIO ? join(dir, 'stdout') : output;
    const r = await fn(inPath, outPath);
    if (output === STDIO) await pipeline(createReadStream(outPath!), process.stdout, { end: false });
    return r;
  } catch (e) {
    throw renamed(e, dir, STDIO);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
