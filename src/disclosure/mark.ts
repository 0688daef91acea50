import type { VisiblePosition } from '../core/types.js';
import type { DisclosureLang } from './catalogue.js';

/**
 * The tamga seal: a 7x7-module square drawn at the start of every badge, light on the badge's
 * dark plate. Its middle row and column read light:dark:light:dark:light in the ratio 1:1:3:1:1
 * (a QR finder pattern, inverted), which a run-length scan finds at any scale and survives JPEG
 * and resizing. Twelve of its modules carry a 7-bit payload (languages and position) plus a
 * 5-bit CRC, which also rejects look-alikes in photos.
 *
 *   L L L L L L L     L light, D dark, d data (ring), c data (centre corners)
 *   L D d D d D L
 *   L d c L c d L
 *   L D L L L D L
 *   L d c L c d L
 *   L D d D d D L
 *   L L L L L L L
 */
export const MARK_MODULES = 7;

export type BadgePosition = VisiblePosition;
/** Order fixes the 3-bit position code in the seal: append only. */
export const BADGE_POSITIONS: readonly BadgePosition[] = ['bottom-right', 'bottom-left', 'top-right', 'top-left', 'bottom', 'top'];

/** Bit order of the language mask; a badge with the caller's own text carries mask 0. */
export const MARK_LANGS: readonly DisclosureLang[] = ['kk', 'ru', 'en', 'zh'];

/** Data modules [row, col], payload bits 0..6 then CRC bits 0..4. */
export const DATA_MODULES: readonly (readonly [number, number])[] = [
  [1, 2], [1, 4], [2, 1], [4, 1], [5, 2], [5, 4], [2, 5], [4, 5],
  [2, 2], [2, 4], [4, 2], [4, 4],
];

/** Whether a fixed (non-data) module is light. */
export function fixedLight(r: number, c: number): boolean {
  if (r === 0 || r === 6 || c === 0 || c === 6) return true;
  if (r === 1 || r === 5 || c === 1 || c === 5) return false;
  return true;
}

export const isDataModule = (r: number, c: number) => DATA_MODULES.some(([a, b]) => a === r && b === c);

/** CRC-5 (polynomial x^5 + x^2 + 1) of a 7-bit value. */
export function crc5(value: number): number {
  let reg = 0;
  for (let i = 6; i >= 0; i--) {
    const bit = ((value >> i) & 1) ^ ((reg >> 4) & 1);
    reg = ((reg << 1) & 0x1f) ^ (bit ? 0x05 : 0);
  }
  return reg;
}

export interface MarkPayload {
  langs: DisclosureLang[];
  position: BadgePosition;
}

export function encodePayload(p: MarkPayload): boolean[] {
  let mask = 0;
  for (const l of p.langs) {
    const i = MARK_LANGS.indexOf(l);
    if (i >= 0) mask |= 1 << i;
  }
  const value = mask | (BADGE_POSITIONS.indexOf(p.position) << 4);
  const word = value | (crc5(value) << 7);
  return DATA_MODULES.map((_, i) => ((word >> i) & 1) === 1);
}

/** The payload, or undefined when the CRC does not match or the position is out of range. */
export function decodePayload(bits: readonly boolean[]): MarkPayload | undefined {
  let word = 0;
  bits.forEach((b, i) => (word |= (b ? 1 : 0) << i));
  const value = word & 0x7f;
  if (crc5(value) !== word >> 7) return undefined;
  const position = BADGE_POSITIONS[value >> 4];
  if (!position) return undefined;
  return { position, langs: MARK_LANGS.filter((_, i) => (value >> i) & 1) };
}

/** Light modules of the mark as [row, col] for a payload. */
export function lightModules(p: MarkPayload): [number, number][] {
  const bits = encodePayload(p);
  const out: [number, number][] = [];
  for (let r = 0; r < MARK_MODULES; r++) {
    for (let c = 0; c < MARK_MODULES; c++) {
      const d = DATA_MODULES.findIndex(([a, b]) => a === r && b === c);
      if (d >= 0 ? bits[d] : fixedLight(r, c)) out.push([r, c]);
    }
  }
  return out;
}
