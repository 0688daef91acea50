import { createHash } from 'node:crypto';
import { rsDecode, rsEncode } from './ecc.js';
import { keyedTag } from './prng.js';

/** Bytes of the id every tamga watermark carries. */
export const WATERMARK_ID_BYTES = 8;

/**
 * The 64-bit id a watermark carries for a Provenance contentId: the same in every medium, so a
 * stripped copy found as image, audio or text points to the same ledger entry. A hash, so any
 * contentId string (UUID v7 or the caller's own) maps to a uniform 64 bits.
 */
export function watermarkIdOf(contentId: string): Uint8Array {
  return createHash('sha256').update(`tamga/watermark/content-id\0${contentId}`).digest().subarray(0, WATERMARK_ID_BYTES);
}

/**
 * The payload code shared by the image and audio marks: id (8 bytes) + a keyed 24-bit MAC,
 * Reed-Solomon with 5 parity bytes = 16 bytes, 128 bits.
 */
const MAC_BYTES = 3;
const NSYM = 5;
export const PAYLOAD_CODE_BYTES = WATERMARK_ID_BYTES + MAC_BYTES + NSYM;
export const PAYLOAD_CODE_BITS = PAYLOAD_CODE_BYTES * 8;
/** Erasure levels tried per decode (0..MAX_ERASURES least reliable bytes; never all NSYM). */
export const MAX_ERASURES = 4;
/**
 * False-positive bound of one decodePayloadSoft call on a random word: RS(16, 11) with v erasures
 * accepts a random word with probability (ball of radius floor((5 - v) / 2) in n - v bytes) /
 * 256^(5 - v): 7e-6, 1.6e-3, 2.1e-4, 0.05, 3.9e-3 for v = 0..4 (v = 3 still corrects one error),
 * 0.056 in all, times 2^-24 for the keyed MAC.
 */
export const FALSE_POSITIVE_PER_DECODE = 0.056 * 2 ** -24;

/** The 128 code bits (MSB first) for `id` under `key`; `domain` separates the media's MACs. */
export function encodePayloadBits(id: Uint8Array, key: string, domain: string): Uint8Array {
  const mac = keyedTag(key, `${domain}/mac`, id, MAC_BYTES);
  const code = rsEncode(Uint8Array.from([...id, ...mac]), NSYM);
  const bits = new Uint8Array(PAYLOAD_CODE_BITS);
  for (let i = 0; i < PAYLOAD_CODE_BITS; i++) bits[i] = (code[i >> 3]! >> (7 - (i & 7))) & 1;
  return bits;
}

/**
 * Soft-decision decoding of 128 soft bits (positive = 1): hard decisions, then Reed-Solomon with
 * the least reliable bytes (by their weakest bit) tried as 0..MAX_ERASURES erasures; accepted only
 * when the keyed MAC matches. Returns the id, or undefined.
 */
export function decodePayloadSoft(soft: Float64Array, key: string, domain: string): { id: Uint8Array; corrected: number } | undefined {
  const word = new Uint8Array(PAYLOAD_CODE_BYTES);
  for (let i = 0; i < PAYLOAD_CODE_BITS; i++) if (soft[i]! > 0) word[i >> 3] = word[i >> 3]! | (1 << (7 - (i & 7)));
  const reliability = Array.from({ length: PAYLOAD_CODE_BYTES }, (_, b) => {
    let m = Infinity;
    for (let i = b * 8; i < b * 8 + 8; i++) m = Math.min(m, Math.abs(soft[i]!));
    return { b, m };
  }).sort((x, y) => x.m - y.m);
  for (let v = 0; v <= MAX_ERASURES; v++) {
    const decoded = rsDecode(
      word,
      NSYM,
      reliability.slice(0, v).map((r) => r.b),
    );
    if (!decoded) continue;
    const id = decoded.data.subarray(0, WATERMARK_ID_BYTES);
    const mac = keyedTag(key, `${domain}/mac`, id, MAC_BYTES);
    if (mac.every((m, i) => m === decoded.data[WATERMARK_ID_BYTES + i])) return { id: Uint8Array.from(id), corrected: decoded.corrected.length };
  }
  return undefined;
}
