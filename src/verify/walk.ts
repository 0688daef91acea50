import type { Dir, Dirent } from 'node:fs';
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { TamgaError } from '../core/errors.js';

/** A file to verify, or a path the walk could not follow (reported, never fatal). */
export type WalkEntry = { path: string; problem?: undefined } | { path: string; problem: TamgaError };

export interface WalkOptions {
  include?: string[];
  exclude?: string[];
}

type Matcher = (rel: string) => boolean;

function matcher(globs: string[] | undefined): Matcher | undefined {
  if (!globs || globs.length === 0) return undefined;
  // A pattern without a slash matches the base name at any depth (`*.png`, `node_modules`); one
  // with a slash matches the whole relative path. (picomatch's own `basename` option breaks the latter.)
  const names = globs.filter((g) => !g.includes('/'));
  const paths = globs.filter((g) => g.includes('/'));
  const byName = names.length ? picomatch(names, { dot: true }) : undefined;
  const byPath = paths.length ? picomatch(paths, { dot: true }) : undefined;
  return (rel) => Boolean(byPath?.(rel) || byName?.(rel.slice(rel.lastIndexOf('/') + 1)));
}

function problem(path: string, reason: string, message: string, cause?: unknown): WalkEntry {
  return { path, problem: new TamgaError('READ_FAILED', `${path}: ${message}`, { path, reason }, cause === undefined ? undefined : { cause }) };
}

function errnoMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOENT' ? 'no such file or directory' : String((e as Error).message ?? e);
}

const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Walks the roots depth-first with `opendir` (entries are read in batches, so no list of the whole
 * tree is ever built: memory grows with depth, not with file count). Symbolic links are followed
 * only to targets inside a root; links leaving the roots, links back to an ancestor (loops),
 * dangling links and unreadable directories are yielded as problems and the walk goes on.
 * Explicitly named files are always yielded; include/exclude globs apply to paths found below a
 * directory root, relative to that root.
 */
export async function* walk(roots: string[], opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const include = matcher(opts.include);
  const exclude = matcher(opts.exclude);
  const realRoots: string[] = [];
  for (const r of roots) realRoots.push(await realpath(r).catch(() => resolve(r)));

  async function* directory(dirPath: string, rel: string, root: string, ancestors: string[]): AsyncGenerator<WalkEntry> {
    let dir: Dir;
    try {
      dir = await opendir(dirPath, { bufferSize: 256 });
    } catch (e) {
      yield problem(dirPath, 'unreadable-directory', `cannot read directory: ${errnoMessage(e)}`, e);
      return;
    }
    try {
      for await (const d of dir) {
        // A plain file is the common case: yielded here, without a generator per entry.
        const file = d.isFile() ? plainFile(d, dirPath, rel) : undefined;
        if (file) yield file;
        else if (file === undefined) yield* entry(d, dirPath, rel, root, ancestors);
      }
    } catch (e) {
      yield problem(dirPath, 'unreadable-directory', `directory listing failed: ${errnoMessage(e)}`, e);
    }
  }

  /** A regular file's entry; null when the filters drop it, undefined when `entry` must look. */
  function plainFile(d: Dirent, dirPath: string, dirRel: string): WalkEntry | null {
    const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
    if (exclude?.(rel) || (include && !include(rel))) return null;
    return { path: join(dirPath, d.name) };
  }

  async function* entry(d: Dirent, dirPath: string, dirRel: string, root: string, ancestors: string[]): AsyncGenerator<WalkEntry> {
    const path = join(dirPath, d.name);
    const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
    if (exclude?.(rel)) return;
    let isDir = d.isDirectory();
    let isFile = d.isFile();
    if (d.isSymbolicLink()) {
      // A link that cannot be followed is reported only if it could have been a file the filters want.
      const wanted = !include || include(rel);
      let target: string;
      try {
        target = await realpath(path);
      } catch (e) {
        if (wanted) yield problem(path, 'dangling-symlink', `symbolic link cannot be resolved: ${errnoMessage(e)}`, e);
        return;
      }
      if (!realRoots.some((r) => inside(target, r))) {
        if (wanted) yield problem(path, 'symlink-outside-roots', `symbolic link to ${target}, outside the scanned roots: not followed`);
        return;
      }
      const st = await stat(target).catch(() => undefined);
      isDir = Boolean(st?.isDirectory());
      isFile = Boolean(st?.isFile());
      if (isDir && ancestors.includes(target)) {
        if (wanted) yield problem(path, 'symlink-loop', `symbolic link back to ${target}, a directory above it: loop not followed`);
        return;
      }
      if (isDir) {
        yield* directory(path, rel, root, [...ancestors, target]);
        return;
      }
    } else if (!isDir && !isFile) {
      // Some file systems do not report entry types: ask.
      const st = await lstat(path).catch(() => undefined);
      isDir = Boolean(st?.isDirectory());
      isFile = Boolean(st?.isFile());
    }
    if (isDir) {
      yield* directory(path, rel, root, [...ancestors, await realpath(path).catch(() => resolve(path))]);
      return;
    }
    if (!isFile) return; // sockets, FIFOs, devices: not media
    if (include && !include(rel)) return;
    yield { path };
  }

  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    const st = await stat(root).catch((e: unknown) => e as Error);
    if (st instanceof Error) {
      yield problem(root, 'missing-root', `cannot scan: ${errnoMessage(st)}`, st);
      continue;
    }
    if (st.isDirectory()) yield* directory(root, '', root, [realRoots[i]!]);
    else yield { path: root };
  }
}

/** The absolute form used to match paths across runs (resume). */
export const pathKey = (p: string): string => (isAbsolute(p) ? p : resolve(p));
