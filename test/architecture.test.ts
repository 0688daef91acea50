import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/**
 * The layers of README "Layout" (architecture.md "Layers"): a module imports only from its own
 * folder and from lower ranks. Folders of one rank are peers and do not import each other.
 * Type-only imports count too: a type is a dependency on the module that defines it.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core', 'version.ts'],
  ['formats'],
  ['metadata'],
  ['media'],
  ['disclosure', 'watermark'],
  ['adapters'],
  ['ledger'],
  ['api'],
  ['verify', 'optout'],
  ['index.ts'],
  ['distributed'],
  ['cli'],
];

/**
 * Known edges against the order, each with the reason it stays. The C2PA signing types are
 * defined in metadata/cose.ts, which issue 17 owns; LabelOptions in core names them.
 */
const ALLOWED = new Set(['core/types.ts -> metadata/cose.ts']);

const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer unit of a path under src: its top folder, or the file itself at the top (api.ts and tools.ts are API entry points, of the api layer). */
const unitOf = (rel: string): string => (rel === 'api.ts' || rel === 'tools.ts' ? 'api' : rel.split('/')[0]!);
const rankOf = (unit: string): number => LAYERS.findIndex((l) => l.includes(unit));

/** Every relative import and re-export specifier of a module (static, dynamic and type-only). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[^\w.])(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2])!);
  return out;
}

describe('architecture: imports go downwards only', () => {
  const files = sourceFiles(SRC);

  it('finds the imports of a module, type-only and dynamic ones included', () => {
    const src = `import { a } from './a.js';\nimport type { B } from '../b/b.js';\nexport { c } from './c.js';\nexport type { D } from "./d.js";\nconst e = await import('./e.js');\n// from './not-an-import.js' in a comment is not matched unless it is an import\n`;
    expect(importsOf(src)).toEqual(['./a.js', '../b/b.js', './c.js', './d.js', './e.js']);
  });

  it('every src folder and top-level file has a layer', () => {
    const units = new Set(files.map((f) => unitOf(relative(SRC, f))));
    expect([...units].filter((u) => rankOf(u) < 0)).toEqual([]);
  });

  it('no module imports from a higher layer or from a peer folder', () => {
    const violations: string[] = [];
    for (const file of files) {
      const rel = relative(SRC, file);
      const from = unitOf(rel);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
        if (target.startsWith('..')) continue; // package.json and the like, outside src
        const to = unitOf(target);
        if (to === from) continue;
        const edge = `${rel} -> ${target}`;
        if (rankOf(to) >= rankOf(from) && !ALLOWED.has(edge)) violations.push(edge);
      }
    }
    expect(violations).toEqual([]);
  });
});
