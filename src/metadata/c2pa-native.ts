import { createHash } from 'node:crypto';
import { Decoder } from 'cbor-x';
import { assertStrictCbor, type StrictCborOptions } from './cbor-strict.js';

/** What the C2PA fast path's modules share: the decline signal, strict CBOR decoding, hashing. */

/** Thrown when the fast path declines a store; the file then goes to c2pa-rs. */
export class NotFast extends Error {
  override readonly name = 'NotFast';
}
export const bail = (why: string): never => {
  throw new NotFast(why);
};

const objects = new Decoder({ mapsAsObjects: true, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);

/**
 * CBOR as a plain value, after the strict check: with no duplicate or colliding keys, decoding
 * maps to objects loses nothing c2pa-rs would see.
 */
export function decodeStrict(b: Uint8Array, what: string, opts?: StrictCborOptions): unknown {
  try {
    assertStrictCbor(b, opts);
  } catch (e) {
    bail(`${what}: ${(e as Error).message}`);
  }
  return objects.decode(b);
}

/** decodeStrict, with the item's skeleton (keys and value types, cbor-strict.ts) as a short digest. */
export function decodeStrictWithShape(b: Uint8Array, what: string, opts?: StrictCborOptions): { value: unknown; shape: string } {
  const shape: string[] = [];
  const value = decodeStrict(b, what, { ...opts, shape });
  return { value, shape: digest('sha256', Buffer.from(shape.join('\u0000'))).toString('base64') };
}

export const HASHES = new Set(['sha256', 'sha384', 'sha512']);
export const bytesOf = (v: unknown): Uint8Array | undefined => (v instanceof Uint8Array ? v : undefined);
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
export const digest = (alg: string, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};
export const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
