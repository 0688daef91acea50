import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import opentype from 'opentype.js';
import { describe, expect, it } from 'vitest';
import { BUNDLED_FONTS_DIR, catalogueCodePoints, FONT_WEIGHTS, fontSubsets, FULL_CJK_FONT_PACKAGE, missingGlyphHint } from '../../src/disclosure/font-files.js';
import { fontFor } from '../../src/disclosure/fonts.js';
import { fontRuns } from '../../src/formats/pdf-fonts.js';
import { ROOT } from '../helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
const hasFullCjk = (() => {
  try {
    import.meta.resolve(`${FULL_CJK_FONT_PACKAGE}/package.json`);
    return true;
  } catch {
    return false;
  }
})();

function hasGlyph(file: string, cp: number): boolean {
  const b = readFileSync(file);
  return opentype.parse(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).charToGlyphIndex(String.fromCodePoint(cp)) > 0;
}

describe('bundled fonts (fonts/): the glyphs the catalogue needs, with their licences', () => {
  it('every character of the catalogue has a glyph in the bundled files, at both weights', () => {
    const bundled = (w: (typeof FONT_WEIGHTS)[number]) => fontSubsets(w).filter((s) => s.file.startsWith(BUNDLED_FONTS_DIR));
    for (const w of FONT_WEIGHTS) {
      for (const cp of catalogueCodePoints()) {
        if (cp === 0x20) continue;
        const files = bundled(w).filter((s) => s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi));
        expect(files.some((s) => hasGlyph(s.file, cp)), `U+${cp.toString(16)} ${String.fromCodePoint(cp)} at ${w}`).toBe(true);
      }
    }
  });

  it('the bundled files come first, so the catalogue renders from them whether or not the full CJK font is installed', () => {
    for (const ch of '本内容由人工智能生成Жасанды интеллект арқылы жасалғанAI-generated') {
      if (ch === ' ') continue;
      const cp = ch.codePointAt(0)!;
      const first = fontSubsets(600).find((s) => s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) && hasGlyph(s.file, cp));
      expect(first?.file.startsWith(BUNDLED_FONTS_DIR), ch).toBe(true);
      expect(fontFor(cp)).toBeDefined();
    }
    for (const run of fontRuns('本内容由人工智能生成 / AI')) expect(run.file.startsWith(BUNDLED_FONTS_DIR)).toBe(true);
  });

  it('is small: Chinese is the catalogue subset, not the 76 MB family; the package ships fonts/ and not @fontsource', () => {
    const size = (dir: string): number => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
    expect(size(join(BUNDLED_FONTS_DIR, 'noto-sans-sc'))).toBeLessThan(100 * 1024);
    expect(size(BUNDLED_FONTS_DIR)).toBeLessThan(1024 * 1024);
    expect(pkg.files).toContain('fonts');
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@fontsource/'))).toEqual([]);
  });

  it('ships each family with its SIL Open Font License', () => {
    for (const fam of ['noto-sans', 'noto-sans-sc']) expect(readFileSync(join(BUNDLED_FONTS_DIR, fam, 'OFL.txt'), 'utf8')).toMatch(/SIL Open Font License, Version 1\.1/);
  });

  it.skipIf(!hasFullCjk)(`Chinese outside the catalogue draws from ${FULL_CJK_FONT_PACKAGE} when it is installed`, () => {
    const cp = '猫'.codePointAt(0)!;
    expect(fontSubsets(600).filter((s) => s.file.startsWith(BUNDLED_FONTS_DIR)).some((s) => s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi))).toBe(false);
    expect(fontFor(cp)).toBeDefined();
    expect(fontRuns('猫')[0]!.file).toContain(FULL_CJK_FONT_PACKAGE.replace('@fontsource/', ''));
  });

  it('names the package to install for Chinese outside the catalogue', () => {
    // The hint depends on whether the full font is installed here; both wordings are checked against that.
    expect(missingGlyphHint('猫'.codePointAt(0)!)).toMatch(hasFullCjk ? /bundled fonts draw/ : /npm install @fontsource\/noto-sans-sc/);
    expect(missingGlyphHint(0x0e01)).toMatch(/bundled fonts draw Latin, Cyrillic/);
  });
});
