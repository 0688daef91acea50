import { readFileSync } from 'node:fs';
import opentype, { type Font, type Glyph } from 'opentype.js';
import { TamgaError } from '../core/errors.js';
import { fontSubsets, missingGlyphHint } from './font-files.js';

/**
 * Text outlines from the Noto fonts tamga ships (src/disclosure/font-files.ts), so a badge renders
 * the same on a machine without any system fonts: glyphs become SVG path data and librsvg never
 * lays out text. A character is looked up subset file by subset file in fallback order, and only
 * the files a text needs are read: Kazakh takes letters from both cyrillic (Ұ, І) and cyrillic-ext
 * (Ә Ғ Қ Ң Ө Ү Һ). opentype.js reads WOFF (zlib), not WOFF2, so the .woff files are used.
 */

/** Semi-bold: legible at small sizes and on busy backgrounds. */
export const BADGE_WEIGHT = 600 as const;

const fontCache = new Map<string, Font>();

function loadFont(file: string): Font {
  let f = fontCache.get(file);
  if (!f) {
    const b = readFileSync(file);
    f = opentype.parse(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    fontCache.set(file, f);
  }
  return f;
}

/** The first font (in fallback order) with a real glyph for the code point, or undefined. */
export function fontFor(cp: number): Font | undefined {
  for (const s of fontSubsets(BADGE_WEIGHT)) {
    if (!s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi)) continue;
    const f = loadFont(s.file);
    if (f.charToGlyphIndex(String.fromCodePoint(cp)) > 0) return f;
  }
  return undefined;
}

export interface ShapedLine {
  /** SVG path data of the outlines, baseline at y = `baseline`, starting at x = `x`. */
  d: string;
  /** Advance width in px. */
  width: number;
}

/** Advance widths (px) per character, for word wrapping before drawing. */
export function measure(text: string, sizePx: number): number {
  return shape(text, 0, 0, sizePx, false).width;
}

const isSpace = (cp: number) => cp === 0x20 || cp === 0xa0 || cp === 0x3000;

/**
 * Lays out one line left to right (Latin, Cyrillic and CJK need no complex shaping), with pair
 * kerning inside a font. Whitespace advances by the space width of the primary font.
 */
export function shape(text: string, x: number, baseline: number, sizePx: number, withPath = true): ShapedLine {
  const parts: string[] = [];
  let pen = x;
  let prev: { font: Font; glyph: Glyph } | undefined;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const lookup = isSpace(cp) ? 0x20 : cp;
    const font = fontFor(lookup);
    if (!font) {
      throw new TamgaError('INVALID_OPTION', `text: U+${cp.toString(16).toUpperCase().padStart(4, '0')} (${JSON.stringify(ch)}) has no glyph in the bundled Noto fonts${missingGlyphHint(cp)}`, {
        option: 'text',
      });
    }
    const glyph = font.glyphs.get(font.charToGlyphIndex(String.fromCodePoint(lookup)));
    const scale = sizePx / font.unitsPerEm;
    if (prev && prev.font === font) pen += font.getKerningValue(prev.glyph, glyph) * scale;
    if (withPath && !isSpace(cp)) parts.push(glyph.getPath(pen, baseline, sizePx).toPathData(2));
    pen += (glyph.advanceWidth ?? 0) * scale;
    prev = { font, glyph };
  }
  return { d: parts.join(''), width: pen - x };
}

/** Cap height / em of the primary font (Noto Sans: 714/1000), the basis of the size rule. */
export function capHeightRatio(): number {
  const f = fontFor(0x41);
  if (!f) throw new TamgaError('INVALID_OPTION', 'the bundled Noto Sans font (fonts/noto-sans in the tamga package) is missing', { option: 'visible' });
  return (f.tables.os2?.sCapHeight ?? 0.714 * f.unitsPerEm) / f.unitsPerEm;
}
