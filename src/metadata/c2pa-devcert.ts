/**
 * A development ES256 chain for C2PA signing: a root CA and a signing leaf that pass c2pa-rs's
 * certificate profile (labelling-standards.md §3.7: v3, leaf not a CA, digitalSignature key
 * usage, an allowed EKU, AKI/SKI present). Nothing trusts it: validators report
 * `signingCredential.untrusted` unless the root is given to them as a trust anchor.
 */
export interface DevChain {
  /** PEM: signing certificate, then the root (what `label --cert` takes). */
  chainPem: string;
  /** PEM PKCS#8 private key of the signing certificate (what `label --key` takes). */
  keyPem: string;
  /** PEM root certificate (what `detect --trust-anchors` takes to report `valid`). */
  rootPem: string;
}

export const DEV_CHAIN_MARK = 'NOT TRUSTED - tamga development';

const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
const EKU_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

export async function makeDevChain(opts: { organisation?: string; days?: number; /** Key of the signing certificate: EC P-256 (default) or RSA 2048 for PS256. */ leafKey?: 'ec' | 'rsa' } = {}): Promise<DevChain> {
  // @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata
  // polyfill loaded first; importing both here keeps them off the labelling and detection paths.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const webcrypto = globalThis.crypto;
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const org = (opts.organisation ?? 'tamga development').replace(/[,=+<>#;"\\]/g, ' ');
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(Date.now() + (opts.days ?? 365) * 24 * 60 * 60 * 1000);
  const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');
  const rootKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leafKeys =
    opts.leafKey === 'rsa'
      ? await webcrypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])
      : await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=tamga development root (${DEV_CHAIN_MARK}), O=${org}`,
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=tamga development signer (${DEV_CHAIN_MARK}), O=${org}`,
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EKU_EMAIL_PROTECTION, EKU_DOCUMENT_SIGNING], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root, false),
    ],
  });
  const rootPem = root.toString('pem') + '\n';
  return {
    chainPem: leaf.toString('pem') + '\n' + rootPem,
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
    rootPem,
  };
}
