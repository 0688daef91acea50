import { createHash } from 'node:crypto';

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
