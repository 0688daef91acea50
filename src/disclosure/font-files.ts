import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DISCLOSURE_LANGS, disclosureTexts } from './catalogue.js';
import { WRITABLE_SOURCE_TYPES } from '../core/provenance.js';

/**
 * Where the glyphs of badges (opentype.js) and PDF stamps (pdf-lib) come from, in fallback order:
 *
 * 1. fonts/noto-sans: Noto Sans (Latin, Cyrillic incl. Kazakh, Greek, Vietnamese, Devanagari),
 *    every @fontsource subset file at the two weights tamga draws;
 * 2. fonts/noto-sans-sc: the Noto Sans SC glyphs of the catalogue's Chinese texts only (a few KB
 *    instead of the 76 MB package; scripts/subset-fonts.ts cuts them);
 * 3. @fontsource/noto-sans-sc when installed: the whole CJK font, for custom Chinese text
 *    (`npm install @fontsource/noto-sans-sc`).
 *
 * Every folder lists its files' code points in unicode.json (the @fontsource layout: one entry per
 * subset file `<stem>-<key>-<weight>-normal.woff`), so a text reads only the files it needs.
 */

/** 400 for the PDF stamp, 600 (semi-bold) for badges. */
export const FONT_WEIGHTS = [400, 600] as const;
export type FontWeight = (typeof FONT_WEIGHTS)[number];

/** The fonts/ folder of the package: two levels above this file in src/ and in dist/ alike. */
export const BUNDLED_FONTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fonts');

/** The package that adds every CJK glyph when installed. */
export const FULL_CJK_FONT_PACKAGE = '@fontsource/noto-sans-sc';

export interface FontSubsetFile {
  file: string;
  ranges: [number, number][];
}

/** "U+0400-045F,U+2116" -> [[0x400, 0x45f], [0x2116, 0x2116]]. */
export function parseUnicodeRanges(spec: string): [number, number][] {
  return spec.split(',').map((r) => {
    const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
    const lo = parseInt(a!, 16);
    return [lo, b ? parseInt(b, 16) : lo];
  });
}

const require = createRequire(import.meta.url);

function folderSubsets(dir: string, stem: string, weight: FontWeight): FontSubsetFile[] {
  const unicode = JSON.parse(readFileSync(join(dir, 'unicode.json'), 'utf8')) as Record<string, string>;
  return Object.entries(unicode).map(([key, spec]) => ({
    file: join(dir, 'files', `${stem}-${key.replace(/[[\]]/g, '')}-${weight}-normal.woff`),
    ranges: parseUnicodeRanges(spec),
  }));
}

function installedPackageDir(pkg: string): string | undefined {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return undefined;
  }
}

const cache = new Map<FontWeight, FontSubsetFile[]>();

/** The subset files for `weight`, in fallback order (see above). */
export function fontSubsets(weight: FontWeight): FontSubsetFile[] {
  let list = cache.get(weight);
  if (list) return list;
  list = [];
  for (const stem of ['noto-sans', 'noto-sans-sc']) {
    const dir = join(BUNDLED_FONTS_DIR, stem);
    if (existsSync(join(dir, 'unicode.json'))) list.push(...folderSubsets(dir, stem, weight));
  }
  const full = installedPackageDir(FULL_CJK_FONT_PACKAGE);
  if (full) list.push(...folderSubsets(full, 'noto-sans-sc', weight));
  cache.set(weight, list);
  return list;
}

/** How to draw a character the bundled fonts lack, for error messages. */
export function missingGlyphHint(cp: number): string {
  const cjk = (cp >= 0x2e80 && cp <= 0x9fff) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xffef) || (cp >= 0x20000 && cp <= 0x3ffff);
  if (cjk && !installedPackageDir(FULL_CJK_FONT_PACKAGE)) return `; tamga ships the Chinese glyphs of its catalogue only: for other Chinese text, npm install ${FULL_CJK_FONT_PACKAGE}`;
  return '; the bundled fonts draw Latin, Cyrillic (incl. Kazakh), Greek, Vietnamese, Devanagari and Chinese';
}

/** Every code point of the disclosure catalogue (all languages, lengths and source types), sorted. */
export function catalogueCodePoints(): number[] {
  const cps = new Set<number>();
  for (const dst of WRITABLE_SOURCE_TYPES) {
    for (const length of ['short', 'long'] as const) {
      for (const { text } of disclosureTexts(dst, DISCLOSURE_LANGS, length)) for (const ch of text) cps.add(ch.codePointAt(0)!);
    }
  }
  return [...cps].sort((a, b) => a - b);
}
