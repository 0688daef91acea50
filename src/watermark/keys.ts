import { TamgaError } from '../core/errors.js';

/** Keys tried on one file: each costs a detection pass over the decoded pixels or samples (not a decode). */
export const MAX_WATERMARK_KEYS = 64;

function invalid(option: string, message: string): TamgaError {
  return new TamgaError('INVALID_OPTION', `${option}: ${message}`, { option });
}

export function checkWatermarkKey(key: unknown, option = 'watermarkKey'): string {
  if (typeof key !== 'string' || key.length < 8 || key.length > 1024) throw invalid(option, 'expected a secret string of 8 to 1024 characters');
  return key;
}

/**
 * The keys a detection tries: `watermarkKey` (the single-key option, kept) then `watermarkKeys`,
 * checked and without duplicates. A file holds one mark per key; each key found is its own finding.
 */
export function watermarkKeysOf(opts: { watermarkKey?: string | undefined; watermarkKeys?: readonly string[] | undefined }): string[] {
  const keys: string[] = [];
  if (opts.watermarkKey !== undefined) keys.push(checkWatermarkKey(opts.watermarkKey));
  if (opts.watermarkKeys !== undefined) {
    if (!Array.isArray(opts.watermarkKeys)) throw invalid('watermarkKeys', 'expected a list of secret strings');
    for (const k of opts.watermarkKeys) keys.push(checkWatermarkKey(k, 'watermarkKeys'));
  }
  const unique = [...new Set(keys)];
  if (unique.length > MAX_WATERMARK_KEYS) throw invalid('watermarkKeys', `at most ${MAX_WATERMARK_KEYS} keys`);
  return unique;
}
