import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';

type Schema = typeof import('@peculiar/asn1-schema');
type Cms = typeof import('@peculiar/asn1-cms');
type X509 = typeof import('@peculiar/asn1-x509');

/** TSTInfo, MessageImprint, Accuracy, PKIStatusInfo and TimeStampResp (RFC 3161 §2.4.2) as @peculiar/asn1-schema classes. */
function timeStampSchemas(schema: Schema, x509: X509, cms: Cms) {
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


async function loadSchemas() {
  const [schema, cms, x509] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-cms'), import('@peculiar/asn1-x509')]);
  return { schema, cms, x509, ...timeStampSchemas(schema, x509, cms) };
}
let schemas: ReturnType<typeof loadSchemas> | undefined;
/** The @peculiar CMS schemas and the RFC 3161 ones declared here: tokens are built with them, and the native reader checked against them. */
export const timeStampSchemasLoaded = (): ReturnType<typeof loadSchemas> => (schemas ??= loadSchemas());

/**
 * A test time-stamp authority: an EC P-256 key with a self-signed certificate (EKU timeStamping)
 * and RFC 3161 tokens built with the same @peculiar schemas tamga reads them with. Nobody trusts
 * it, which is what the tests want: a sound token from an untrusted TSA.
 */

const OID = { signedData: '1.2.840.113549.1.7.2', tstInfo: '1.2.840.113549.1.9.16.1.4', contentType: '1.2.840.113549.1.9.3', messageDigest: '1.2.840.113549.1.9.4', sha256: '2.16.840.1.101.3.4.2.1', ecdsaSha256: '1.2.840.10045.4.3.2' };

export interface TestTsa {
  key: KeyObject;
  certDer: Uint8Array;
}

export async function makeTestTsa(): Promise<TestTsa> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(globalThis.crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0102030405',
    name: 'CN=tamga test TSA (NOT TRUSTED)',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000 * 30),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.8'], true)],
  });
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), certDer: new Uint8Array(cert.rawData) };
}

export interface TokenOptions {
  /** GeneralizedTime as written, e.g. `20260101120000.5Z`. */
  genTime?: string;
  /** Corrupt the messageDigest attribute. */
  badMessageDigest?: boolean;
  /** Wrap the token in a TimeStampResp with this PKIStatus. */
  response?: number;
}

/** A TimeStampToken (or TimeStampResp) over `data`, signed by `tsa`. */
export async function makeTimeStampToken(tsa: TestTsa, data: Uint8Array, o: TokenOptions = {}): Promise<Uint8Array> {
  const { schema, cms, x509, TSTInfo, MessageImprint, SignedAttributes, TimeStampResp, PKIStatusInfo } = await timeStampSchemasLoaded();
  const { AsnConvert, OctetString } = schema;
  const genTime = o.genTime ?? new Date().toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  const gt = Buffer.concat([Uint8Array.of(0x18, genTime.length), Buffer.from(genTime, 'latin1')]);
  const tst = new TSTInfo({
    version: 1,
    policy: '1.2.3.4',
    messageImprint: new MessageImprint({ hashAlgorithm: new x509.AlgorithmIdentifier({ algorithm: OID.sha256 }), hashedMessage: new OctetString(createHash('sha256').update(data).digest()) }),
    serialNumber: Uint8Array.of(7).buffer,
    genTime: gt.buffer.slice(gt.byteOffset, gt.byteOffset + gt.length),
  });
  const tstDer = new Uint8Array(AsnConvert.serialize(tst));
  const cert = AsnConvert.parse(tsa.certDer, x509.Certificate);
  const md = createHash('sha256').update(tstDer).digest();
  if (o.badMessageDigest) md[0]! ^= 1;
  const attrs = [
    // contentType = id-ct-TSTInfo, as a DER OBJECT IDENTIFIER
    new cms.Attribute({ attrType: OID.contentType, attrValues: [Uint8Array.of(0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04).buffer] }),
    new cms.Attribute({ attrType: OID.messageDigest, attrValues: [AsnConvert.serialize(new OctetString(md))] }),
  ];
  const signedAttrs = new Uint8Array(AsnConvert.serialize(new SignedAttributes(attrs)));
  const signature = cryptoSign('sha256', signedAttrs, { key: tsa.key, dsaEncoding: 'der' });
  const sd = new cms.SignedData({
    version: 3,
    digestAlgorithms: new cms.DigestAlgorithmIdentifiers([new cms.DigestAlgorithmIdentifier({ algorithm: OID.sha256 })]),
    encapContentInfo: new cms.EncapsulatedContentInfo({ eContentType: OID.tstInfo, eContent: new cms.EncapsulatedContent({ single: new OctetString(tstDer) }) }),
    certificates: new cms.CertificateSet([new cms.CertificateChoices({ certificate: cert })]),
    signerInfos: new cms.SignerInfos([
      new cms.SignerInfo({
        version: 1,
        sid: new cms.SignerIdentifier({ issuerAndSerialNumber: new cms.IssuerAndSerialNumber({ issuer: cert.tbsCertificate.issuer, serialNumber: cert.tbsCertificate.serialNumber }) }),
        digestAlgorithm: new cms.DigestAlgorithmIdentifier({ algorithm: OID.sha256 }),
        signedAttrs: attrs,
        signatureAlgorithm: new cms.SignatureAlgorithmIdentifier({ algorithm: OID.ecdsaSha256 }),
        signature: new OctetString(signature),
      }),
    ]),
  });
  const token = new cms.ContentInfo({ contentType: OID.signedData, content: AsnConvert.serialize(sd) });
  if (o.response === undefined) return new Uint8Array(AsnConvert.serialize(token));
  const status = Object.assign(new PKIStatusInfo(), { status: o.response });
  return new Uint8Array(AsnConvert.serialize(Object.assign(new TimeStampResp(), { status, timeStampToken: token })));
}
