import { createHash, verify as cryptoVerify } from 'node:crypto';
import { certificateInfo } from './x509-cache.js';

/**
 * RFC 3161 time-stamp tokens in a C2PA COSE signature (`sigTst`/`sigTst2`, C2PA 2.x §10.3.2.5),
 * checked natively for the C2PA fast path: the message imprint over the countersignature data,
 * the CMS `messageDigest` attribute over the TSTInfo, and the TSA's signature over the signed
 * attributes. The ASN.1 is parsed with the @peculiar schemas (CMS from @peculiar/asn1-cms; TSTInfo
 * and TimeStampResp, which no installed package has, declared in timeStampSchemas below), and a
 * token is read only when it is DER exactly as those schemas write it back: any other encoding
 * returns undefined and the caller leaves the manifest to c2pa-rs. Trust in the TSA's certificate
 * is not decided here: the fast path takes that from c2pa-rs, keyed by the certificates this returns.
 */

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** Signature algorithms of a SignerInfo: PKCS #1 v1.5 (hash from digestAlgorithm or the OID) or ECDSA (DER). */
const SIGNATURES: Record<string, { kind: 'rsa' | 'ecdsa'; hash?: string }> = {
  '1.2.840.113549.1.1.1': { kind: 'rsa' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
};

export interface VerifiedTimeStamp {
  /**
   * False when the token is sound (the TSA's signature verifies) but stamps other data than
   * `countersigned`: a claim changed after it was time-stamped.
   */
  imprintMatches: boolean;
  /** genTime as c2pa-rs reports it (RFC 3339 with `+00:00`). */
  time: string;
  ms: number;
  /** DER certificates the token carries (the TSA's, first the one that signed). */
  certificates: Uint8Array[];
}

type Schema = typeof import('@peculiar/asn1-schema');
type Cms = typeof import('@peculiar/asn1-cms');
type X509 = typeof import('@peculiar/asn1-x509');

/**
 * The schemas, loaded on the first time stamp (the CMS package costs start-up time that a scan
 * without time-stamped manifests should not pay). The RFC 3161 types are declared with the
 * schema decorators applied as plain functions (this project compiles without legacy decorators).
 */
async function loadSchemas() {
  const [schema, cms, x509] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-cms'), import('@peculiar/asn1-x509')]);
  return { schema, cms, x509, ...timeStampSchemas(schema, x509, cms) };
}
let schemas: ReturnType<typeof loadSchemas> | undefined;
export const timeStampSchemasLoaded = (): ReturnType<typeof loadSchemas> => (schemas ??= loadSchemas());

/** TSTInfo, MessageImprint, Accuracy, PKIStatusInfo and TimeStampResp (RFC 3161 §2.4.2) as @peculiar/asn1-schema classes. */
export function timeStampSchemas(schema: Schema, x509: X509, cms: Cms) {
  const { AsnArray, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, OctetString, AsnIntegerArrayBufferConverter } = schema;
  const prop = (opts: Parameters<typeof AsnProp>[0], cls: { prototype: object }, name: string) => AsnProp(opts)(cls.prototype, name);

  class MessageImprint {
    hashAlgorithm = new x509.AlgorithmIdentifier();
    hashedMessage = new OctetString();
    constructor(params: Partial<MessageImprint> = {}) {
      Object.assign(this, params);
    }
  }
  prop({ type: x509.AlgorithmIdentifier }, MessageImprint, 'hashAlgorithm');
  prop({ type: OctetString }, MessageImprint, 'hashedMessage');

  class Accuracy {
    seconds?: number;
    millis?: number;
    micros?: number;
  }
  prop({ type: AsnPropTypes.Integer, optional: true }, Accuracy, 'seconds');
  prop({ type: AsnPropTypes.Integer, context: 0, implicit: true, optional: true }, Accuracy, 'millis');
  prop({ type: AsnPropTypes.Integer, context: 1, implicit: true, optional: true }, Accuracy, 'micros');

  class TSTInfo {
    version = 1;
    policy = '';
    messageImprint = new MessageImprint();
    serialNumber = new ArrayBuffer(0);
    /** The GeneralizedTime element as written (its fraction, which a Date would round to milliseconds, is reported). */
    genTime = new ArrayBuffer(0);
    accuracy?: Accuracy;
    ordering?: boolean;
    nonce?: ArrayBuffer;
    tsa?: InstanceType<typeof x509.GeneralName>;
    extensions?: InstanceType<typeof x509.Extensions>;
    constructor(params: Partial<TSTInfo> = {}) {
      Object.assign(this, params);
    }
  }
  prop({ type: AsnPropTypes.Integer }, TSTInfo, 'version');
  prop({ type: AsnPropTypes.ObjectIdentifier }, TSTInfo, 'policy');
  prop({ type: MessageImprint }, TSTInfo, 'messageImprint');
  prop({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter }, TSTInfo, 'serialNumber');
  prop({ type: AsnPropTypes.Any }, TSTInfo, 'genTime');
  prop({ type: Accuracy, optional: true }, TSTInfo, 'accuracy');
  prop({ type: AsnPropTypes.Boolean, optional: true }, TSTInfo, 'ordering');
  prop({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter, optional: true }, TSTInfo, 'nonce');
  prop({ type: x509.GeneralName, context: 0, optional: true }, TSTInfo, 'tsa');
  prop({ type: x509.Extensions, context: 1, implicit: true, optional: true }, TSTInfo, 'extensions');

  class PKIStatusInfo {
    status = 0;
    statusString?: string[];
    failInfo?: ArrayBuffer;
  }
  prop({ type: AsnPropTypes.Integer }, PKIStatusInfo, 'status');
  prop({ type: AsnPropTypes.Utf8String, repeated: 'sequence', optional: true }, PKIStatusInfo, 'statusString');
  prop({ type: AsnPropTypes.BitString, optional: true }, PKIStatusInfo, 'failInfo');

  class TimeStampResp {
    status = new PKIStatusInfo();
    timeStampToken?: InstanceType<typeof cms.ContentInfo>;
  }
  prop({ type: PKIStatusInfo }, TimeStampResp, 'status');
  prop({ type: cms.ContentInfo, optional: true }, TimeStampResp, 'timeStampToken');
  /** SignerInfo's signed attributes as the SET OF that is signed (CMS §5.4), for re-encoding them. */
  class SignedAttributes extends AsnArray<InstanceType<typeof cms.Attribute>> {}
  AsnType({ type: AsnTypeTypes.Set, itemType: cms.Attribute })(SignedAttributes);
  return { MessageImprint, TSTInfo, PKIStatusInfo, TimeStampResp, SignedAttributes };
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
const u8 = (b: ArrayBuffer | ArrayBufferView): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

/** A DER GeneralizedTime element `YYYYMMDDHHMMSS[.fff]Z`: the ISO time with its fraction kept, or undefined when malformed. */
export function generalizedTime(element: Uint8Array): { iso: string; ms: number; fraction: string } | undefined {
  if (element[0] !== 0x18 || element[1]! >= 0x80 || element[1]! + 2 !== element.length) return undefined;
  const s = Buffer.from(element.subarray(2)).toString('latin1');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return undefined;
  const fraction = m[7] ?? '';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction ? `.${fraction}` : ''}Z`;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction ? `.${fraction.slice(0, 3)}` : ''}Z`);
  return Number.isNaN(ms) ? undefined : { iso, ms, fraction };
}

/** `YYYY-MM-DDTHH:MM:SS[.fraction]+00:00`, the way chrono prints a UTC DateTime (c2pa-rs signature_info.time). */
export function rfc3339(g: { iso: string; fraction: string }): string {
  let frac = g.fraction.replace(/0+$/, '');
  if (frac) frac = frac.length <= 3 ? frac.padEnd(3, '0') : frac.length <= 6 ? frac.padEnd(6, '0') : frac.padEnd(9, '0');
  return `${g.iso.slice(0, 19)}${frac ? `.${frac}` : ''}+00:00`;
}

/**
 * Verifies one token (`val` of `tstTokens`): a TimeStampResp (sigTst) or a bare TimeStampToken
 * (sigTst2) over `countersigned`, the COSE countersignature data. Undefined when the token is
 * malformed, not DER, or its signature does not verify.
 */
export async function verifyTimeStampToken(val: Uint8Array, countersigned: Uint8Array): Promise<VerifiedTimeStamp | undefined> {
  const { schema, cms, TSTInfo, TimeStampResp, SignedAttributes } = await timeStampSchemasLoaded();
  const { AsnConvert, OctetString } = schema;
  /** Parses `bytes` as `type`, only if writing it back gives the same bytes (DER as the schema knows it). */
  const parseDer = <T>(bytes: Uint8Array, type: new () => T): T | undefined => {
    try {
      const v = AsnConvert.parse(bytes, type);
      return equalBytes(u8(AsnConvert.serialize(v)), bytes) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  // A TimeStampResp starts with PKIStatusInfo (a SEQUENCE); a ContentInfo with an OID.
  let token: InstanceType<Cms['ContentInfo']> | undefined;
  const firstChild = val[1]! & 0x80 ? 2 + (val[1]! & 0x7f) : 2;
  if (val[0] === 0x30 && val[firstChild] === 0x30) {
    const resp = parseDer(val, TimeStampResp);
    // granted (0) or grantedWithMods (1)
    if (!resp || resp.status.status > 1 || !resp.timeStampToken) return undefined;
    token = resp.timeStampToken;
  } else token = parseDer(val, cms.ContentInfo);
  if (!token || token.contentType !== OID_SIGNED_DATA) return undefined;
  const sd = parseDer(u8(token.content), cms.SignedData);
  if (!sd || sd.encapContentInfo.eContentType !== OID_TST_INFO || !sd.encapContentInfo.eContent?.single) return undefined;
  const tstInfoBytes = u8(sd.encapContentInfo.eContent.single.buffer);
  const tst = parseDer(tstInfoBytes, TSTInfo);
  if (!tst) return undefined;
  const imprintHash = DIGESTS[tst.messageImprint.hashAlgorithm.algorithm];
  const gen = generalizedTime(u8(tst.genTime));
  if (!imprintHash || !gen) return undefined;
  const imprintMatches = equalBytes(createHash(imprintHash).update(countersigned).digest(), u8(tst.messageImprint.hashedMessage.buffer));

  const certs = (sd.certificates ?? []).filter((c) => c.certificate);
  if (!certs.length || sd.signerInfos.length !== 1) return undefined;
  const certificates = certs.map((c) => u8(AsnConvert.serialize(c.certificate!)));
  const si = sd.signerInfos[0]!;
  const digest = DIGESTS[si.digestAlgorithm.algorithm];
  const scheme = SIGNATURES[si.signatureAlgorithm.algorithm];
  if (!digest || !scheme || !si.signedAttrs) return undefined;
  // messageDigest over the TSTInfo, then the signature over the attributes re-tagged as a SET.
  const md = si.signedAttrs.filter((a) => a.attrType === OID_MESSAGE_DIGEST);
  if (md.length !== 1 || md[0]!.attrValues.length !== 1) return undefined;
  const mdValue = parseDer(u8(md[0]!.attrValues[0]!), OctetString);
  if (!mdValue || !equalBytes(u8(mdValue.buffer), createHash(digest).update(tstInfoBytes).digest())) return undefined;
  // The token round-tripped byte for byte, so this is the [0] IMPLICIT content re-tagged as the SET OF that was signed.
  const signedAttrs = u8(AsnConvert.serialize(new SignedAttributes(si.signedAttrs)));
  const hash = scheme.hash ?? digest;
  const sig = u8(si.signature.buffer);
  // The signer: by issuer and serial number when given, else whichever certificate verifies.
  const byId = si.sid.issuerAndSerialNumber;
  const issuer = byId && u8(AsnConvert.serialize(byId.issuer));
  const candidates = certificates.filter((_der, i) => {
    if (!byId) return true;
    const tbs = certs[i]!.certificate!.tbsCertificate;
    return equalBytes(u8(tbs.serialNumber), u8(byId.serialNumber)) && equalBytes(u8(AsnConvert.serialize(tbs.issuer)), issuer!);
  });
  const signer = candidates.find((der) => {
    const key = certificateInfo(der)?.publicKey;
    try {
      return key !== undefined && cryptoVerify(hash, signedAttrs, scheme.kind === 'ecdsa' ? { key, dsaEncoding: 'der' } : key, sig);
    } catch {
      return false;
    }
  });
  if (!signer) return undefined;
  return { imprintMatches, time: rfc3339(gen), ms: gen.ms, certificates: [signer, ...certificates.filter((c) => c !== signer)] };
}
