import type { DisclosureLang } from './catalogue.js';
import { capHeightRatio, measure, shape } from './fonts.js';
import { lightModules, MARK_MODULES, type BadgePosition } from './mark.js';

/**
 * The visible disclosure badge: a dark rounded plate with the tamga seal (see mark.ts) and one
 * line per language, white on dark so it reads on light and dark images alike (contrast of white
 * on the plate stays above 10:1 whatever shows through its 12% transparency). Everything is
 * drawn as paths and rects: the SVG handed to librsvg holds no <text>, so no system font is used.
 */

/** GB 45438-2025 §5.2: explicit-label text at least 5% of the shortest side. */
export const DEFAULT_SIZE_PERCENT = 5;
/** Below this the text is not legible on a phone screen, whatever the image size. */
export const MIN_TEXT_PX = 12;

const PLATE_RGB = '#0f172a';
const PLATE_OPACITY = 0.88;
const INK = '#ffffff';

export interface BadgeSpec {
  /** One entry per language (or one with the caller's own text), drawn top to bottom. */
  texts: { lang?: DisclosureLang; text: string }[];
  /** Languages recorded in the seal; empty for the caller's own text. */
  langs: DisclosureLang[];
  position: BadgePosition;
  /** Cap height of the text as a percentage of the image's shortest side. */
  sizePercent: number;
  /** Floor for the cap height in pixels. */
  minTextPx: number;
}

export interface BadgeLayout {
  /** The overlay: SVG with paths only. */
  svg: string;
  left: number;
  top: number;
  width: number;
  height: number;
  /** Cap height of the text in px (the size rule's measure). */
  capPx: number;
  fontPx: number;
  /** Pixel size of one seal module. */
  modulePx: number;
  /** True when the badge had to be made smaller than the size rule to fit the image. */
  shrunk: boolean;
}

/** Greedy word wrap; a single word longer than the width stays on its own line. */
function wrap(text: string, fontPx: number, maxWidth: number): string[] {
  // CJK text has no spaces: let it break between any two ideographs.
  const words = /[\u3400-\u9fff]/.test(text) && !/\s/.test(text) ? [...text] : text.split(/\s+/).filter(Boolean);
  const sep = /[\u3400-\u9fff]/.test(text) && !/\s/.test(text) ? '' : ' ';
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const next = cur ? cur + sep + w : w;
    if (cur && measure(next, fontPx) > maxWidth) {
      lines.push(cur);
      cur = w;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

interface Metrics {
  fontPx: number;
  padX: number;
  padY: number;
  gap: number;
  lineH: number;
  module: number;
  markSide: number;
  lines: string[];
  textW: number;
  width: number;
  height: number;
}

function measureBadge(spec: BadgeSpec, fontPx: number, maxWidth: number): Metrics {
  const padX = Math.round(0.5 * fontPx);
  const padY = Math.max(2, Math.round(0.3 * fontPx));
  const gap = Math.round(0.45 * fontPx);
  const lineH = 1.25 * fontPx;
  let lines = spec.texts.map((t) => t.text);
  let module = 1;
  let markSide = MARK_MODULES;
  for (let pass = 0; pass < 2; pass++) {
    // One line tall, or 1.7 lines beside two or more: bigger would dwarf the text.
    const sealH = lines.length > 1 ? 1.7 * lineH : lineH;
    // Never under 2 px a module: below that a resize or JPEG blurs the seal past reading.
    module = Math.max(2, Math.round(sealH / MARK_MODULES));
    markSide = module * MARK_MODULES;
    const textMax = maxWidth - 2 * padX - markSide - gap;
    lines = spec.texts.flatMap((t) => wrap(t.text, fontPx, Math.max(1, textMax)));
  }
  const textW = Math.ceil(Math.max(...lines.map((l) => measure(l, fontPx))));
  const contentH = Math.max(lines.length * lineH, markSide);
  return { fontPx, padX, padY, gap, lineH, module, markSide, lines, textW, width: 2 * padX + markSide + gap + textW, height: Math.ceil(contentH + 2 * padY) };
}

const isBand = (p: BadgePosition) => p === 'top' || p === 'bottom';

/** Badge size and place for an image of width x height (display orientation), and its SVG. */
export function layoutBadge(imageW: number, imageH: number, spec: BadgeSpec): BadgeLayout {
  const short = Math.min(imageW, imageH);
  const band = isBand(spec.position);
  const margin = band ? 0 : Math.max(2, Math.round(0.025 * short));
  const capTarget = Math.max(Math.ceil((spec.sizePercent / 100) * short), spec.minTextPx);
  const ratio = capHeightRatio();
  let fontPx = Math.ceil(capTarget / ratio);
  const availW = imageW - 2 * margin;
  const availH = imageH - 2 * margin;
  let m = measureBadge(spec, fontPx, availW);
  let shrunk = false;
  // Tiny or very narrow images cannot hold the rule's size: shrink until the badge fits.
  while ((m.width > availW || m.height > availH) && fontPx > 4) {
    fontPx = Math.max(4, Math.floor(fontPx * 0.9));
    m = measureBadge(spec, fontPx, availW);
    shrunk = true;
  }
  const width = band ? imageW : Math.min(m.width, availW);
  const height = m.height;
  const left = band ? 0 : spec.position.endsWith('right') ? imageW - margin - width : margin;
  const top = spec.position.startsWith('top') ? margin : imageH - margin - height;
  return { svg: badgeSvg(spec, m, width, height, band), left, top, width, height, capPx: Math.round(fontPx * ratio * 100) / 100, fontPx, modulePx: m.module, shrunk };
}

function badgeSvg(spec: BadgeSpec, m: Metrics, width: number, height: number, band: boolean): string {
  const contentW = m.markSide + m.gap + m.textW;
  const x0 = band ? Math.max(m.padX, Math.round((width - contentW) / 2)) : m.padX;
  const contentH = height - 2 * m.padY;
  const markX = x0;
  const markY = m.padY + Math.round((contentH - m.markSide) / 2);
  const stroke = Math.max(1, Math.round(m.fontPx * 0.05));
  const radius = band ? 0 : Math.round(m.fontPx * 0.3);
  const parts: string[] = [];
  parts.push(
    `<rect x="${stroke / 2}" y="${stroke / 2}" width="${width - stroke}" height="${height - stroke}" rx="${radius}" fill="${PLATE_RGB}" fill-opacity="${PLATE_OPACITY}" ` +
      `stroke="${INK}" stroke-opacity="0.28" stroke-width="${stroke}"/>`,
  );
  // Module rects sit on whole pixels so the seal stays crisp (and its runs exact) at any size.
  const mod = m.module;
  const cells = lightModules({ langs: spec.langs, position: spec.position })
    .map(([r, c]) => `M${markX + c * mod} ${markY + r * mod}h${mod}v${mod}h${-mod}z`)
    .join('');
  parts.push(`<path fill="${INK}" d="${cells}"/>`);
  // A hairline between seal and text; at 25% it stays far below the seal's light/dark threshold.
  const divX = markX + m.markSide + m.gap / 2;
  parts.push(`<rect x="${(divX - stroke / 2).toFixed(2)}" y="${markY}" width="${stroke}" height="${m.markSide}" fill="${INK}" fill-opacity="0.25"/>`);
  const textX = markX + m.markSide + m.gap;
  const blockTop = m.padY + (contentH - m.lines.length * m.lineH) / 2;
  const cap = m.fontPx * capHeightRatio();
  const glyphs = m.lines.map((line, i) => shape(line, textX, blockTop + i * m.lineH + m.lineH / 2 + cap / 2, m.fontPx).d).join('');
  parts.push(`<path fill="${INK}" d="${glyphs}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}
