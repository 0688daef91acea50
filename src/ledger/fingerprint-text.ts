import { WRITABLE_SOURCE_TYPES } from '../core/provenance.js';
import { DISCLOSURE_LANGS, disclosureTexts } from '../disclosure/catalogue.js';
import { readHtml } from '../formats/html.js';
import { HTML_BADGE_CLASS } from '../formats/text.js';

/**
 * Text fingerprint: a 64-bit simhash over 3-word shingles of the normalised words. Normalising
 * removes what a copy changes without changing the words: Unicode form (NFKC), case, whitespace
 * and line breaks, markup (HTML tags, Markdown front matter), invisible characters (tamga's
 * variation-selector watermark among them) and tamga's own disclosure lines and HTML badge, so a
 * stripped, reflowed copy of a labelled text hashes like the labelled text. Han, kana and Hangul
 * have no spaces between words: each of their characters is a token.
 */

export const TEXT_FINGERPRINT_METHOD = 'text-simhash64/1';
/** Fewer tokens than this: too little text to tell copies from coincidences (exact SHA only). */
export const MIN_TEXT_TOKENS = 8;
const SHINGLE = 3;
/** Only the first this many characters are hashed (bounded time; a copy shares its beginning). */
const MAX_CHARS = 4 << 20;

/** Every catalogue disclosure, lower-cased, longest first (so a long line goes before a short one inside it). */
const DISCLOSURES: string[] = (() => {
  const s = new Set<string>();
  for (const dst of WRITABLE_SOURCE_TYPES) for (const len of ['long', 'short'] as const) for (const d of disclosureTexts(dst, DISCLOSURE_LANGS, len)) s.add(d.text.normalize('NFKC').toLowerCase());
  return [...s].sort((a, b) => b.length - a.length);
})();

const INVISIBLE = /[\u00ad\u200b-\u200f\u2060\ufeff\ufe00-\ufe0f]|\udb40[\udc00-\udc7f\udd00-\uddef]/g;
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{M}\p{N}]+/gu;

/** The words a copy keeps (see the module comment). */
export function normalisedTokens(text: string): string[] {
  let t = text.slice(0, MAX_CHARS).normalize('NFKC').replace(INVISIBLE, '');
  t = t.replace(/^---\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)\r?\n/, '');
  // Markup: the text a reader sees (formats/html.ts), without tamga's badge.
  if (/<[a-z!/][^>]*>/i.test(t)) t = readHtml(t, { skipClass: HTML_BADGE_CLASS }).text.replace(/\u00a0/g, ' ');
  t = t.toLowerCase();
  for (const d of DISCLOSURES) if (t.includes(d)) t = t.split(d).join(' ');
  return t.match(TOKEN) ?? [];
}

/** FNV-1a over UTF-16 units with a seed: two seeds give the 64 bits of a shingle's hash. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  // Final avalanche (murmur3 fmix32): FNV's low bits are weak for short inputs.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The simhash of a text, or undefined with fewer than MIN_TEXT_TOKENS words. */
export function textFingerprint(text: string): bigint | undefined {
  const tokens = normalisedTokens(text);
  if (tokens.length < MIN_TEXT_TOKENS) return undefined;
  const votes = new Int32Array(64);
  for (let i = 0; i + SHINGLE <= tokens.length; i++) {
    const sh = tokens.slice(i, i + SHINGLE).join(' ');
    const lo = fnv1a(sh, 0);
    const hi = fnv1a(sh, 0x9e3779b9);
    for (let b = 0; b < 32; b++) {
      votes[b]! += (lo >>> b) & 1 ? 1 : -1;
      votes[b + 32]! += (hi >>> b) & 1 ? 1 : -1;
    }
  }
  let h = 0n;
  for (let b = 0; b < 64; b++) if (votes[b]! > 0) h |= 1n << BigInt(b);
  return h;
}
