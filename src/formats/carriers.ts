import type { Splice } from '../core/edit.js';
import type { ContainerMetadata } from './types.js';

/**
 * The splices every single-carrier container shares: put the new XMP carrier where the old one
 * was (its position may matter to other tools), else insert it at `insertAt`; drop the C2PA store
 * when asked.
 */
export function xmpCarrierSplices(meta: ContainerMetadata, carrier: Uint8Array, insertAt: number, stripC2pa: boolean | undefined): Splice[] {
  const splices: Splice[] = [
    meta.xmp ? { at: meta.xmp.carrier.offset, length: meta.xmp.carrier.length, bytes: carrier } : { at: insertAt, length: 0, bytes: carrier },
  ];
  if (stripC2pa && meta.c2pa) splices.push({ at: meta.c2pa.offset, length: meta.c2pa.length });
  return splices;
}
