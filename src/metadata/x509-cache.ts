import { X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Parsed certificates by their DER bytes: an archive holds thousands of files signed with the same
 * few certificates, so each is parsed once per process (bounded, oldest dropped first).
 */

export interface CertificateInfo {
  publicKey: KeyObject;
  notBefore: number;
  notAfter: number;
  /** The parsed certificate, for subject/issuer fields. */
  x509: X509Certificate;
}

const MAX_ENTRIES = 1024;
const cache = new Map<string, CertificateInfo | null>();

/** The certificate's key and validity, or undefined when node:crypto cannot parse it. */
export function certificateInfo(der: Uint8Array): CertificateInfo | undefined {
  const id = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let info = cache.get(id);
  if (info === undefined) {
    try {
      const x509 = new X509Certificate(der);
      info = { publicKey: x509.publicKey, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo), x509 };
    } catch {
      info = null;
    }
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(id, info);
  }
  return info ?? undefined;
}

/** Where `time` falls in the certificate's validity: before (-1), inside (0) or after (1); undefined for an unparsable certificate. */
export function validityAt(der: Uint8Array, time: number): -1 | 0 | 1 | undefined {
  const info = certificateInfo(der);
  if (!info) return undefined;
  return time < info.notBefore ? -1 : time > info.notAfter ? 1 : 0;
}
