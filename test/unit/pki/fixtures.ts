/**
 * Builds small certificate hierarchies (root → intermediate → leaf) with fixed dates and serials, so PKI,
 * ARI and renewal tests can issue real certificates without a CA.
 */
import type { KeyType } from '../../../functions/core/config/inventory';
import { exportPrivateKeyPem, generateKeyPair, signingAlgorithm } from '../../../functions/core/pki';
import { x509 } from '../../support/pki/x509';

/** Fixed instants shared by the fixtures: leaves are valid for 90 days from `issued`. */
export const FIXED = {
  caNotBefore: new Date('2024-01-01T00:00:00Z'),
  caNotAfter: new Date('2034-01-01T00:00:00Z'),
  issued: new Date('2025-03-01T00:00:00Z'),
  expires: new Date('2025-05-30T00:00:00Z'),
  /** A moment inside the leaf's validity. */
  now: new Date('2025-04-01T12:00:00Z'),
} as const;

/** A certificate with the key pair it belongs to. */
export interface TestCertificate {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  readonly keys: CryptoKeyPair;
  readonly keyType: KeyType;
}

/** A CA certificate that can issue further certificates. */
export interface TestAuthority extends TestCertificate {
  readonly name: string;
}

/** A leaf with its private key as the PKCS#8 PEM the renewer stores. */
export interface TestLeaf extends TestCertificate {
  readonly privateKeyPem: string;
}

export interface TestChain {
  readonly root: TestAuthority;
  readonly intermediate: TestAuthority;
  readonly leaf: TestLeaf;
  /** leaf + intermediate, as an ACME CA serves it. */
  readonly fullchainPem: string;
}

const pemOf = (cert: x509.X509Certificate) =>
  cert.toString('pem').replace(/\r\n/g, '\n').trimEnd().concat('\n');

/** A self-signed root CA. */
export async function createTestRoot(
  options: { name?: string; keyType?: KeyType; serialNumber?: string } = {},
): Promise<TestAuthority> {
  const keyType = options.keyType ?? 'ec-p256';
  const name = options.name ?? 'Test Root';
  const keys = await generateKeyPair(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: options.serialNumber ?? '01',
    name: [{ CN: [name] }],
    notBefore: FIXED.caNotBefore,
    notAfter: FIXED.caNotAfter,
    keys,
    signingAlgorithm: signingAlgorithm(keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, pem: pemOf(cert), keys, keyType, name };
}

/** An intermediate CA signed by `issuer`. */
export async function createTestIntermediate(
  issuer: TestAuthority,
  options: { name?: string; keyType?: KeyType; serialNumber?: string } = {},
): Promise<TestAuthority> {
  const keyType = options.keyType ?? 'ec-p256';
  const name = options.name ?? 'Test Intermediate';
  const keys = await generateKeyPair(keyType);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? '02',
    subject: [{ CN: [name] }],
    issuer: issuer.cert.subjectName,
    notBefore: FIXED.caNotBefore,
    notAfter: FIXED.caNotAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { cert, pem: pemOf(cert), keys, keyType, name };
}

/**
 * A cross-sign: `subject`'s name and key pair in a CA certificate signed by `issuer`, as "USERTrust RSA" signed by
 * "AAA Certificate Services" or "GTS Root R1" signed by "GlobalSign Root CA". What `subject` signed verifies
 * against it too.
 */
export async function crossSign(
  subject: TestAuthority,
  issuer: TestAuthority,
  options: { serialNumber?: string } = {},
): Promise<TestAuthority> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? '03',
    subject: subject.cert.subjectName,
    issuer: issuer.cert.subjectName,
    notBefore: FIXED.caNotBefore,
    notAfter: FIXED.caNotAfter,
    publicKey: subject.keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(subject.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { cert, pem: pemOf(cert), keys: subject.keys, keyType: subject.keyType, name: subject.name };
}

/** Options for a leaf; every field has a fixed default. */
export interface TestLeafOptions {
  /** SAN dNSNames; the first one ≤ 64 characters is also the subject CN. @default ['example.test', '*.example.test'] */
  readonly names?: readonly string[];
  /** Reuse a key pair (e.g. the one a CSR was made with). */
  readonly keys?: CryptoKeyPair;
  /** @default 'ec-p256' */
  readonly keyType?: KeyType;
  /** Hex serial; the generator prepends 00 when the high bit is set, as DER requires. @default '0a1b2c3d' */
  readonly serialNumber?: string;
  /** @default FIXED.issued */
  readonly notBefore?: Date;
  /** @default FIXED.expires */
  readonly notAfter?: Date;
  /** Leave out the Authority Key Identifier extension. @default false */
  readonly withoutAki?: boolean;
}

/** An end-entity certificate signed by `issuer`. */
export async function issueTestLeaf(issuer: TestAuthority, options: TestLeafOptions = {}): Promise<TestLeaf> {
  const names = options.names ?? ['example.test', '*.example.test'];
  const keyType = options.keyType ?? 'ec-p256';
  const keys = options.keys ?? (await generateKeyPair(keyType));
  const commonName = names.find((name) => name.length <= 64);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    new x509.SubjectAlternativeNameExtension(
      names.map((value) => ({ type: 'dns' as const, value })),
      commonName === undefined,
    ),
  ];
  if (!options.withoutAki) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.cert));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? '0a1b2c3d',
    ...(commonName === undefined ? {} : { subject: [{ CN: [commonName] }] }),
    issuer: issuer.cert.subjectName,
    notBefore: options.notBefore ?? FIXED.issued,
    notAfter: options.notAfter ?? FIXED.expires,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    extensions,
  });
  return { cert, pem: pemOf(cert), keys, keyType, privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** A whole hierarchy: a root, an intermediate under it, and a leaf issued by the intermediate. */
export async function buildTestChain(
  options: TestLeafOptions & { rootName?: string; intermediateName?: string } = {},
): Promise<TestChain> {
  const root = await createTestRoot(options.rootName === undefined ? {} : { name: options.rootName });
  const intermediate = await createTestIntermediate(
    root,
    options.intermediateName === undefined ? {} : { name: options.intermediateName },
  );
  const leaf = await issueTestLeaf(intermediate, options);
  return { root, intermediate, leaf, fullchainPem: leaf.pem + intermediate.pem };
}
