/**
 * Builds fonts/: the Noto glyphs tamga draws badges and PDF stamps with, shipped in the package
 * instead of the @fontsource packages (8 MB + 76 MB installed, of which a few hundred KB are read).
 *
 * - fonts/noto-sans/: every @fontsource/noto-sans subset file (Latin, Cyrillic incl. Kazakh, Greek,
 *   Vietnamese, Devanagari) at the two weights used (400 PDF stamp, 600 badge), copied verbatim.
 * - fonts/noto-sans-sc/: of Noto Sans SC, only the glyphs of the disclosure catalogue's Chinese
 *   texts, cut out of the @fontsource slices that hold them with harfbuzz's subsetter (outlines,
 *   advances and kerning kept as they are), one file per slice and weight, with a unicode.json
 *   listing exactly the code points kept.
 *
 * Each folder keeps its family's SIL Open Font License (OFL.txt). Custom Chinese text outside the
 * catalogue needs the full font: `npm install @fontsource/noto-sans-sc` (src/disclosure/font-files.ts
 * uses it when installed). Re-run after a catalogue change: `npx tsx scripts/subset-fonts.ts`;
 * test/disclosure/fonts.test.ts fails while the catalogue has a character fonts/ lacks.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import subsetFont from 'subset-font';
import { catalogueCodePoints, FONT_WEIGHTS, parseUnicodeRanges } from '../src/disclosure/font-files.js';

const require = createRequire(import.meta.url);
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'fonts');
const pkgDir = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));
const unicodeOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'unicode.json'), 'utf8')) as Record<string, string>;
const fileKey = (key: string) => key.replace(/[[\]]/g, '');

rmSync(out, { recursive: true, force: true });

// Noto Sans: whole subset files.
{
  const src = pkgDir('@fontsource/noto-sans');
  const dest = join(out, 'noto-sans');
  mkdirSync(join(dest, 'files'), { recursive: true });
  const unicode = unicodeOf(src);
  for (const key of Object.keys(unicode)) {
    for (const w of FONT_WEIGHTS) copyFileSync(join(src, 'files', `noto-sans-${fileKey(key)}-${w}-normal.woff`), join(dest, 'files', `noto-sans-${fileKey(key)}-${w}-normal.woff`));
  }
  writeFileSync(join(dest, 'unicode.json'), JSON.stringify(unicode, null, 2) + '\n');
  copyFileSync(join(src, 'LICENSE'), join(dest, 'OFL.txt'));
}

// Noto Sans SC: the catalogue's CJK characters only.
{
  const src = pkgDir('@fontsource/noto-sans-sc');
  const dest = join(out, 'noto-sans-sc');
  mkdirSync(join(dest, 'files'), { recursive: true });
  const latin = Object.values(unicodeOf(pkgDir('@fontsource/noto-sans'))).flatMap(parseUnicodeRanges);
  const wanted = catalogueCodePoints().filter((cp) => !latin.some(([lo, hi]) => cp >= lo && cp <= hi));
  const kept: Record<string, string> = {};
  for (const [key, spec] of Object.entries(unicodeOf(src))) {
    const ranges = parseUnicodeRanges(spec);
    const here = wanted.filter((cp) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi));
    if (!here.length) continue;
    const text = String.fromCodePoint(...here);
    for (const w of FONT_WEIGHTS) {
      const name = `noto-sans-sc-${fileKey(key)}-${w}-normal.woff`;
      writeFileSync(join(dest, 'files', name), await subsetFont(readFileSync(join(src, 'files', name)), text, { targetFormat: 'woff' }));
    }
    kept[key] = here.map((cp) => `U+${cp.toString(16).toUpperCase()}`).join(',');
  }
  const missing = wanted.filter((cp) => !Object.values(kept).some((s) => parseUnicodeRanges(s).some(([lo]) => lo === cp)));
  if (missing.length) throw new Error(`no Noto Sans SC slice holds ${missing.map((c) => String.fromCodePoint(c)).join('')}`);
  writeFileSync(join(dest, 'unicode.json'), JSON.stringify(kept, null, 2) + '\n');
  copyFileSync(join(src, 'LICENSE'), join(dest, 'OFL.txt'));
}
console.log(`wrote ${out}`);
