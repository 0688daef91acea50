import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Fontkit from '@pdf-lib/fontkit';
import { TamgaError } from '../core/errors.js';

/**
 * Font files for the PDF stamp: the Noto Sans subsets that @fontsource ships as separate WOFF
 * files (latin, cyrillic, cyrillic-ext... and ~100 numbered CJK slices of Noto Sans SC), looked up
 * per code point through each package's unicode.json, as src/disclosure/fonts.ts does for badges
 * (that module returns opentype.js fonts; pdf-lib needs the file bytes, read by @pdf-lib/fontkit,
 * which reads WOFF but not WOFF2). Kazakh needs two subsets: Ұ and І live in `cyrillic`,
 * Ә Ғ Қ Ң Ө Ү Һ in `cyrillic-ext`.
 */

const require = createRequire(import.meta.url);
const WEIGHT = 400;
const FAMILIES = [
  { pkg: '@fontsource/noto-sans', stem: 'noto-sans' },
  { pkg: '@fontsource/noto-sans-sc', stem: 'noto-sans-sc' },
] as const;

interface Subset {
  file: string;
  ranges: [number, number][];
}

let subsets: Subset[] | undefined;

function allSubsets(): Subset[] {
  if (subsets) return subsets;
  subsets = [];
  for (const fam of FAMILIES) {
    let dir: string;
    try {
      dir = dirname(require.resolve(`${fam.pkg}/package.json`));
    } catch {
      continue;
    }
    const unicode = JSON.parse(readFileSync(join(dir, 'unicode.json'), 'utf8')) as Record<string, string>;
    for (const [key, spec] of Object.entries(unicode)) {
      subsets.push({
        file: join(dir, 'files', `${fam.stem}-${key.replace(/[[\]]/g, '')}-${WEIGHT}-normal.woff`),
        ranges: spec.split(',').map((r) => {
          const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
          const lo = parseInt(a!, 16);
          return [lo, b ? parseInt(b, 16) : lo] as [number, number];
        }),
      });
    }
  }
  return subsets;
}

const requireCjs = createRequire(import.meta.url);
let fontkitModule: typeof Fontkit | undefined;

/** @pdf-lib/fontkit, loaded on first use: it unpacks its tables when loaded (~50 ms of every CLI start-up otherwise). */
export function fontkit(): typeof Fontkit {
  return (fontkitModule ??= requireCjs('@pdf-lib/fontkit') as typeof Fontkit);
}

const glyphCheck = new Map<string, { hasGlyphForCodePoint(cp: number): boolean }>();
const fileBytes = new Map<string, Uint8Array>();

export function fontBytes(file: string): Uint8Array {
  let b = fileBytes.get(file);
  if (!b) {
    b = readFileSync(file);
    fileBytes.set(file, b);
  }
  return b;
}

function hasGlyph(file: string, cp: number): boolean {
  let f = glyphCheck.get(file);
  if (!f) {
    f = fontkit().create(Buffer.from(fontBytes(file))) as unknown as { hasGlyphForCodePoint(cp: number): boolean };
    glyphCheck.set(file, f);
  }
  return f.hasGlyphForCodePoint(cp);
}

export interface FontRun {
  /** The subset file that draws this run. */
  file: string;
  text: string;
}

/**
 * Splits `text` into runs that one subset file each can draw. A character no installed font
 * covers is an INVALID_OPTION (a custom disclosure text in an unsupported script), not tofu.
 */
export function fontRuns(text: string): FontRun[] {
  const runs: FontRun[] = [];
  let current: FontRun | undefined;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    // Spaces draw with whatever font the run has (every subset has a space).
    let file = cp === 0x20 && current ? current.file : undefined;
    if (!file) {
      for (const s of allSubsets()) {
        if (s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) && hasGlyph(s.file, cp)) {
          file = s.file;
          break;
        }
      }
    }
    if (!file) {
      throw new TamgaError('INVALID_OPTION', `disclosureText: no bundled font draws ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}); the PDF stamp supports Latin, Cyrillic (incl. Kazakh), Greek and Chinese`, {
        option: 'disclosureText',
      });
    }
    if (current && current.file === file) current.text += ch;
    else runs.push((current = { file, text: ch }));
  }
  return runs;
}
