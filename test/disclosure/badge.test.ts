import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { layoutBadge, MIN_TEXT_PX, type BadgeSpec } from '../../src/disclosure/badge.js';
import { DISCLOSURE_LANGS, disclosureLine, disclosureTexts, type DisclosureLang } from '../../src/disclosure/catalogue.js';
import { capHeightRatio, fontFor } from '../../src/disclosure/fonts.js';
import { BADGE_POSITIONS, crc5, decodePayload, encodePayload, type BadgePosition } from '../../src/disclosure/mark.js';
import { applyBadge } from '../../src/disclosure/apply.js';
import { resolveLabelOptions } from '../../src/api.js';
import { expectTamgaError } from '../helpers.js';

const spec = (langs: DisclosureLang[], position: BadgePosition = 'bottom-right', sizePercent = 5): BadgeSpec => ({
  texts: disclosureTexts('trainedAlgorithmicMedia', langs, 'short'),
  langs,
  position,
  sizePercent,
  minTextPx: MIN_TEXT_PX,
});

describe('catalogue', () => {
  it('has short and long texts in kk, ru, en, zh and joins several languages', () => {
    for (const l of DISCLOSURE_LANGS) {
      const [short] = disclosureTexts('trainedAlgorithmicMedia', [l], 'short');
      const [long] = disclosureTexts('trainedAlgorithmicMedia', [l], 'long');
      expect(short!.text.length).toBeGreaterThan(0);
      expect(long!.text.length).toBeGreaterThan(short!.text.length);
    }
    expect(disclosureLine('trainedAlgorithmicMedia', ['kk', 'ru'], 'short')).toBe('ЖИ көмегімен жасалды / Создано ИИ');
  });
});

describe('fonts: bundled Noto outlines, no system fonts', () => {
  it('covers every Kazakh letter, Russian, English and the Chinese of the catalogue', () => {
    for (const ch of 'ӘҒҚҢӨҰҮҺІәғқңөұүһіЁЖЩЪЭЮЯёжщъэюяAZaz-') expect(fontFor(ch.codePointAt(0)!), ch).toBeDefined();
    for (const dst of ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'algorithmicMedia'] as const) {
      for (const len of ['short', 'long'] as const) {
        for (const { text } of disclosureTexts(dst, DISCLOSURE_LANGS, len)) for (const ch of text.replace(/\s/g, '')) expect(fontFor(ch.codePointAt(0)!), ch).toBeDefined();
      }
    }
  });

  it('draws text as paths only: the SVG reaching librsvg has no <text> and names no font', () => {
    for (const langs of [['kk'], ['ru'], ['en'], ['zh'], ['kk', 'ru'], ['kk', 'ru', 'en', 'zh']] as DisclosureLang[][]) {
      const b = layoutBadge(1200, 800, spec(langs));
      expect(b.svg).not.toMatch(/<text|font-family|font=/);
      expect(b.svg).toMatch(/<path fill="#ffffff" d="M/);
      // Every glyph outline is there: one contour (moveto) or more per visible character.
      const glyphPath = b.svg.match(/<path fill="#ffffff" d="([^"]*)"\/><\/svg>$/)![1]!;
      const chars = spec(langs).texts.map((t) => t.text.replace(/\s/g, '')).join('').length;
      expect((glyphPath.match(/M/g) ?? []).length).toBeGreaterThanOrEqual(chars);
    }
  });

  it('refuses a character no bundled font has, naming the option', async () => {
    expect(() => layoutBadge(800, 600, { ...spec([]), texts: [{ text: 'שלום' }] })).toThrow(/text: U\+05E9/);
  });
});

describe('seal payload', () => {
  it('round-trips every language set and position, and the CRC rejects any single flipped bit', () => {
    const sets: DisclosureLang[][] = [[], ['kk'], ['ru'], ['en'], ['zh'], ['kk', 'ru'], ['kk', 'ru', 'en', 'zh']];
    for (const langs of sets) {
      for (const position of BADGE_POSITIONS) {
        const bits = encodePayload({ langs, position });
        expect(decodePayload(bits)).toEqual({ langs, position });
        for (let i = 0; i < bits.length; i++) expect(decodePayload(bits.map((b, j) => (j === i ? !b : b)))).toBeUndefined();
      }
    }
    expect(crc5(0)).toBe(0);
  });
});

describe('size and placement rules', () => {
  const sizes: [number, number][] = [
    [64, 64],
    [200, 120],
    [1000, 1000],
    [1920, 1080],
    [1080, 1920],
    [12000, 12000],
    [12000, 600],
  ];
  it.each(sizes)('%ix%i: cap height at least 5 percent of the shortest side (>= 12 px), inside the image, at the position asked', (w, h) => {
    const short = Math.min(w, h);
    for (const position of BADGE_POSITIONS) {
      for (const langs of [['en'], ['kk', 'ru'], ['zh']] as DisclosureLang[][]) {
        const b = layoutBadge(w, h, spec(langs, position));
        expect(b.left).toBeGreaterThanOrEqual(0);
        expect(b.top).toBeGreaterThanOrEqual(0);
        expect(b.left + b.width).toBeLessThanOrEqual(w);
        expect(b.top + b.height).toBeLessThanOrEqual(h);
        if (!b.shrunk) expect(b.capPx).toBeGreaterThanOrEqual(Math.max(0.05 * short, MIN_TEXT_PX) - 0.01);
        else expect(short).toBeLessThan(400);
        // The gap to the named edges is the smaller one (on a tiny image the badge spans it all).
        const [gapL, gapR, gapT, gapB] = [b.left, w - b.left - b.width, b.top, h - b.top - b.height];
        if (position.startsWith('top')) expect(gapT).toBeLessThanOrEqual(gapB);
        else expect(gapB).toBeLessThanOrEqual(gapT);
        if (position.endsWith('right')) expect(gapR).toBeLessThanOrEqual(gapL);
        if (position.endsWith('left')) expect(gapL).toBeLessThanOrEqual(gapR);
        if (!b.shrunk && position.startsWith('top')) expect(gapB).toBeGreaterThan(gapT);
        if (!b.shrunk && position.startsWith('bottom')) expect(gapT).toBeGreaterThan(gapB);
        if (position === 'top' || position === 'bottom') expect([b.left, b.width]).toEqual([0, w]);
        else expect(Math.min(b.left, w - b.left - b.width)).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('the size option scales the text, and the rendered glyphs are as tall as the rule says', async () => {
    const w = 1000;
    const h = 800;
    const base = await sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } }).png().toBuffer();
    for (const sizePercent of [5, 8]) {
      const s = { ...spec(['en']), texts: [{ text: 'HIGH' }], langs: [] };
      s.sizePercent = sizePercent;
      const r = await applyBadge(base, 'png', s);
      const { data, info } = await sharp(r.bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
      // White ink right of the seal: its rows are the cap height of "HIGH" (no ascenders/descenders).
      const b = r.badge;
      const textX0 = b.left + Math.round(b.fontPx * 0.5) + 7 * b.modulePx + Math.round(b.fontPx * 0.45) + 1;
      let top = Infinity;
      let bottom = -1;
      for (let y = b.top; y < b.top + b.height; y++) for (let x = textX0; x < b.left + b.width - 2; x++) if (data[y * info.width + x]! > 200) (top = Math.min(top, y)), (bottom = Math.max(bottom, y));
      const ink = bottom - top + 1;
      expect(ink).toBeGreaterThanOrEqual(Math.floor((sizePercent / 100) * h) - 1);
      expect(ink).toBeLessThanOrEqual(Math.ceil((sizePercent / 100) * h / capHeightRatio()));
    }
  });

  it('validates position and size in the API options, naming the option', async () => {
    await expectTamgaError(Promise.resolve().then(() => resolveLabelOptions({ position: 'middle' as never })), 'INVALID_OPTION', /^position:/);
    for (const size of [0, 0.5, 51, Number.NaN, '5' as never]) await expectTamgaError(Promise.resolve().then(() => resolveLabelOptions({ size })), 'INVALID_OPTION', /^size:/);
    expect(resolveLabelOptions({ position: 'top', size: 7.5 })).toMatchObject({ position: 'top', sizePercent: 7.5 });
    expect(resolveLabelOptions({})).toMatchObject({ position: 'bottom-right', sizePercent: 5, visible: true, langs: ['kk', 'ru'] });
  });
});
