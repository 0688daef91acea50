import { createPrivateKey, sign as cryptoSign, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { assertStrictCbor } from './cbor-strict.js';
import { TamgaError } from '../core/errors.js';

/**
 * COSE_Sign1 for C2PA claim signatures (RFC 9052 §4.2, C2PA 2.x §14.5), built here because
 * c2pa-wasm's signer callback must return the complete structure: protected header
 * { alg, x5chain }, an unprotected header holding only zero padding, a detached payload (the
 * claim), and the signature over Sig_structure ["Signature1", protected, h'', claim]. The C2PA
 * fast path reads and verifies COSE_Sign1 here too (readCoseSign1, coseVerifies), so both sides
 * build the Sig_structure one way, with cbor-x.
 */

/** Signature algorithms C2PA allows (labelling-standards.md §3.6), with their COSE ids. */
export const COSE_ALGORITHMS = { es256: -7, es384: -35, es512: -36, ps256: -37, ps384: -38, ps512: -39, ed25519: -8 } as const;
export type C2paSigningAlg = keyof typeof COSE_ALGORITHMS;

/**
 * Signs C2PA claims. Implement it to sign with a KMS or HSM: tamga builds the COSE structure and
 * asks `sign` for the raw signature over the bytes it is given.
 */
export interface C2paSigner {
  alg: C2paSigningAlg;
  /** DER certificates, the signing (end-entity) certificate first, then its issuers; the root may be left out. */
  certificateChain: Uint8Array[];
  /**
   * Returns the signature over `toBeSigned`: for ES* either IEEE P1363 (r||s) or DER (converted
   * here), for PS* RSASSA-PSS with MGF1 and salt = hash length, for ed25519 the 64-byte signature.
   */
  sign(toBeSigned: Uint8Array): Promise<Uint8Array>;
}

/** A PEM chain + key pair as files or contents: `label --c2pa --cert chain.pem --key key.pem`. */
export interface C2paKeyPair {
  /** PEM certificate chain, signing certificate first. */
  cert: string | Uint8Array;
  /** PEM private key (PKCS#8, SEC1 or PKCS#1) of the signing certificate. */
  key: string | Uint8Array;
}

// Maps are written as plain CBOR maps and byte arrays as plain byte strings (cbor-x otherwise tags
// both, and c2pa-rs rejects the tags).
const cbor = new Encoder({ useRecords: false, tagUint8Array: false, useTag259ForMaps: false } as ConstructorParameters<typeof Encoder>[0]);
const encode = (v: unknown): Uint8Array => cbor.encode(v);

/** Sig_structure (RFC 9052 §4.4) with an empty external_aad: `[context, protected, h'', payload]`. */
export const sigStructure = (context: 'Signature1' | 'CounterSignature', protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array =>
  encode([context, protectedHeader, new Uint8Array(0), payload]);

const COSE_HEADER_ALG = 1;
const COSE_HEADER_X5CHAIN = 33;
const COSE_SIGN1_TAG = 18;

/** The certificates of a PEM bundle, in order, as DER. */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g)) {
    const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
    if (der.length) out.push(new Uint8Array(der));
  }
  return out;
}

const HASH_OF: Record<C2paSigningAlg, string | null> = { es256: 'sha256', es384: 'sha384', es512: 'sha512', ps256: 'sha256', ps384: 'sha384', ps512: 'sha512', ed25519: null };
const EC_SIG_BYTES: Partial<Record<C2paSigningAlg, number>> = { es256: 64, es384: 96, es512: 132 };

function algForKey(key: KeyObject): C2paSigningAlg {
  const d = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (d?.namedCurve === 'prime256v1') return 'es256';
      if (d?.namedCurve === 'secp384r1') return 'es384';
      if (d?.namedCurve === 'secp521r1') return 'es512';
      break;
    case 'rsa':
    case 'rsa-pss':
      if ((d?.modulusLength ?? 0) >= 2048) return 'ps256';
      break;
    case 'ed25519':
      return 'ed25519';
  }
  throw new TamgaError('INVALID_OPTION', `c2pa.key: a ${key.asymmetricKeyType} key${d?.namedCurve ? ` on ${d.namedCurve}` : ''} cannot sign C2PA (use EC P-256/P-384/P-521, RSA >= 2048 bits or Ed25519)`, { option: 'c2pa.key' });
}

const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v).toString('utf8'));

/** A signer over a local PEM key and chain; checks that the key belongs to the first certificate. */
export function localSigner(pair: C2paKeyPair): C2paSigner {
  const chain = pemCertificates(text(pair.cert));
  if (!chain.length) throw new TamgaError('INVALID_OPTION', 'c2pa.cert: no PEM certificate found', { option: 'c2pa.cert' });
  let key: KeyObject;
  try {
    key = createPrivateKey(text(pair.key));
  } catch (e) {
    throw new TamgaError('INVALID_OPTION', `c2pa.key: not a readable PEM private key (${(e as Error).message})`, { option: 'c2pa.key' }, { cause: e });
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
  } catch (e) {
    throw new TamgaError('INVALID_OPTION', `c2pa.cert: the first certificate does not parse (${(e as Error).message})`, { option: 'c2pa.cert' }, { cause: e });
  }
  if (!leaf.checkPrivateKey(key)) throw new TamgaError('INVALID_OPTION', 'c2pa.key: the key does not belong to the first certificate of the chain', { option: 'c2pa.key' });
  const alg = algForKey(key);
  return {
    alg,
    certificateChain: chain,
    async sign(toBeSigned) {
      const options = alg.startsWith('ps')
        ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 /* RSA_PSS_SALTLEN_DIGEST */ }
        : { key, dsaEncoding: 'ieee-p1363' as const };
      return new Uint8Array(cryptoSign(HASH_OF[alg], toBeSigned, options));
    },
  };
}

/** An ECDSA signature in DER (as most KMS APIs return it) to IEEE P1363 r||s, which COSE requires. */
export function ecdsaDerToP1363(sig: Uint8Array, size: number): Uint8Array {
  const half = size / 2;
  const bad = () => new TamgaError('INVALID_OPTION', 'c2pa.signer: the signer returned an ECDSA signature that is neither r||s nor DER', { option: 'c2pa.signer' });
  if (sig[0] !== 0x30) throw bad();
  let at = sig[1]! & 0x80 ? 2 + (sig[1]! & 0x7f) : 2;
  const out = new Uint8Array(size);
  for (let i = 0; i < 2; i++) {
    if (sig[at] !== 0x02) throw bad();
    const len = sig[at + 1]!;
    let int = sig.subarray(at + 2, at + 2 + len);
    while (int.length > half && int[0] === 0) int = int.subarray(1);
    if (int.length > half || at + 2 + len > sig.length) throw bad();
    out.set(int, i * half + half - int.length);
    at += 2 + len;
  }
  return out;
}

/** Bytes a COSE_Sign1 with this chain needs, plus slack for the padding header (c2pa-rs reserves alike). */
export function coseReserveSize(signer: C2paSigner): number {
  return signer.certificateChain.reduce((n, c) => n + c.length + 5, 0) + 1024;
}

/**
 * The complete, tagged COSE_Sign1 over `claim`, padded with a zero `pad` header to exactly
 * `size` bytes: c2pa-rs lays out the signature box at the reserved size before it signs.
 */
export async function coseSign1(signer: C2paSigner, claim: Uint8Array, size: number): Promise<Uint8Array> {
  const chain = signer.certificateChain.map((c) => new Uint8Array(c));
  const protectedHeader = encode(new Map<number, unknown>([[COSE_HEADER_ALG, COSE_ALGORITHMS[signer.alg]], [COSE_HEADER_X5CHAIN, chain.length === 1 ? chain[0] : chain]]));
  const toBeSigned = sigStructure('Signature1', protectedHeader, claim);
  let signature = await signer.sign(toBeSigned);
  const ecSize = EC_SIG_BYTES[signer.alg];
  if (ecSize && signature.length !== ecSize) signature = ecdsaDerToP1363(signature, ecSize);
  const unprotected = (n: number, pad2: boolean) => new Map<string, Uint8Array>(pad2 ? [['pad', new Uint8Array(n)], ['pad2', new Uint8Array(0)]] : [['pad', new Uint8Array(n)]]);
  const padded = (n: number, pad2: boolean) => encode(new Tag([protectedHeader, unprotected(n, pad2), null, signature], COSE_SIGN1_TAG));
  // A pad's length prefix grows at 24, 256 and 65536 bytes, so some sizes need a second (empty)
  // pad header to be hit exactly, as c2pa-rs does with `pad2`.
  for (const pad2 of [false, true]) {
    const start = size - padded(0, pad2).length;
    for (let n = start; n >= Math.max(0, start - 8); n--) {
      const out = padded(n, pad2);
      if (out.length === size) return out;
    }
  }
  throw new TamgaError('INVALID_OPTION', `c2pa.signer: a ${padded(0, false).length}-byte signature does not fit the ${size} bytes reserved for it`, { option: 'c2pa.signer' });
}

/** Thrown by readCoseSign1 on a COSE_Sign1 that is not in the strict form it reads. */
export class CoseFormError extends Error {
  override readonly name = 'CoseFormError';
}

/** Header labels as written: integers stay numbers, text stays strings (33 and "33" differ). */
export type CoseHeaderMap = Map<number | string, unknown>;

export interface CoseSign1 {
  /** The protected header as encoded (it is signed as these bytes). */
  protectedBytes: Uint8Array;
  protectedHeader: CoseHeaderMap;
  unprotected: CoseHeaderMap;
  signature: Uint8Array;
  alg: C2paSigningAlg;
}

const keepKeys = new Decoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);
const ALG_OF_ID = new Map<number, C2paSigningAlg>(Object.entries(COSE_ALGORITHMS).map(([name, id]) => [id, name as C2paSigningAlg]));

/**
 * A COSE_Sign1 with a detached payload, tagged 18 as c2pa-rs (coset) requires, in strict CBOR
 * (cbor-strict.ts), with an algorithm C2PA allows in the protected header. Throws CoseFormError
 * otherwise: the caller then leaves the signature to c2pa-rs.
 */
export function readCoseSign1(bytes: Uint8Array): CoseSign1 {
  const bad = (why: string): never => {
    throw new CoseFormError(why);
  };
  try {
    assertStrictCbor(bytes, { topTag: COSE_SIGN1_TAG });
  } catch (e) {
    bad(`COSE_Sign1: ${(e as Error).message}`);
  }
  const tagged = keepKeys.decode(bytes) as unknown;
  if (!(tagged instanceof Tag) || tagged.tag !== COSE_SIGN1_TAG) return bad('not a tagged COSE_Sign1');
  const cose = tagged.value as unknown;
  if (!Array.isArray(cose) || cose.length !== 4) return bad('not a COSE_Sign1 array');
  const [protectedBytes, unprotected, payload, signature] = cose as unknown[];
  if (!(protectedBytes instanceof Uint8Array) || !(signature instanceof Uint8Array) || payload !== null || !(unprotected instanceof Map)) return bad('malformed COSE_Sign1');
  try {
    assertStrictCbor(protectedBytes);
  } catch (e) {
    bad(`protected header: ${(e as Error).message}`);
  }
  const protectedHeader = keepKeys.decode(protectedBytes) as unknown;
  if (!(protectedHeader instanceof Map)) return bad('protected header is not a map');
  const alg = ALG_OF_ID.get(protectedHeader.get(COSE_HEADER_ALG) as number) ?? bad('unsupported COSE algorithm');
  const ecSize = EC_SIG_BYTES[alg];
  if (ecSize && signature.length !== ecSize) bad('EC signature not in r|s form');
  return { protectedBytes, protectedHeader, unprotected: unprotected as CoseHeaderMap, signature, alg };
}

/** Whether `key` verifies the signature over Sig_structure("Signature1", protected, payload). */
export function coseVerifies(c: CoseSign1, key: KeyObject, payload: Uint8Array): boolean {
  const tbs = sigStructure('Signature1', c.protectedBytes, payload);
  const hash = HASH_OF[c.alg];
  if (c.alg.startsWith('ps')) return cryptoVerify(hash, tbs, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 /* RSA_PSS_SALTLEN_DIGEST */ }, c.signature);
  if (c.alg === 'ed25519') return cryptoVerify(null, tbs, key, c.signature);
  return cryptoVerify(hash, tbs, { key, dsaEncoding: 'ieee-p1363' }, c.signature);
}
