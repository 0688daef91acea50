import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Fontkit from '@pdf-lib/fontkit';
import { TamgaError } from '../core/errors.js';
import { fontSubsets, missingGlyphHint } from '../disclosure/font-files.js';

/**
 * Font files for the PDF stamp: the Noto subset files tamga ships (src/disclosure/font-files.ts),
 * looked up per code point, as src/disclosure/fonts.ts does for badges (that module returns
 * opentype.js fonts; pdf-lib needs the file bytes, read by @pdf-lib/fontkit, which reads WOFF but
 * not WOFF2). Kazakh needs two subsets: Ұ and І live in `cyrillic`, Ә Ғ Қ Ң Ө Ү Һ in `cyrillic-ext`.
 */

const WEIGHT = 400 as const;

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
      for (const s of fontSubsets(WEIGHT)) {
        if (s.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) && hasGlyph(s.file, cp)) {
          file = s.file;
          break;
        }
      }
    }
    if (!file) {
      throw new TamgaError('INVALID_OPTION', `disclosureText: no bundled font draws ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})${missingGlyphHint(cp)}`, {
        option: 'disclosureText',
      });
    }
    if (current && current.file === file) current.text += ch;
    else runs.push((current = { file, text: ch }));
  }
  return runs;
}
