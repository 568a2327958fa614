import { AcmeAwsError, describeError } from '../errors';
import { type ParsedCertificate, parseCertificate } from './certificate';
import { joinPem, splitPemChain } from './chain';
import { keyAlgorithm } from './key-type';
import { importPrivateKeyPem } from './keys';
import { x509 } from './x509';

/** An issued certificate that passed every check, split into the files servers and ACM expect. */
export interface VerifiedCertificate {
  /** The end-entity certificate. */
  readonly leaf: ParsedCertificate;
  /** The issuer certificates, in order (never empty). */
  readonly chain: ParsedCertificate[];
  /** The end-entity certificate alone, PEM. */
  readonly certPem: string;
  /** The issuer certificates, PEM (what ACM calls `CertificateChain`). */
  readonly chainPem: string;
  /** `certPem` followed by `chainPem`. */
  readonly fullchainPem: string;
}

/** What an issued certificate is checked against. */
export interface VerifyIssuedCertificateInput {
  /** The chain downloaded from the CA, end-entity first. */
  readonly fullchainPem: string;
  /** The PKCS#8 private key the CSR was signed with. */
  readonly privateKeyPem: string;
  /** The names the certificate must cover: no more, no fewer (compared case-insensitively). */
  readonly expectedNames: readonly string[];
  /** The instant at which the end-entity certificate must be valid. */
  readonly now: Date;
  /** The issuer (or issuers) the chain must end at: its last certificate must be one of them or signed by one. */
  readonly expectedIssuerPem?: string;
  /** The certificate must not expire before this instant (the notAfter of the certificate it replaces). */
  readonly notExpiringBefore?: Date;
}

const fail = (message: string, cause?: unknown) =>
  new AcmeAwsError('verification-failed', message, cause === undefined ? undefined : { cause });

/**
 * Checks an issued certificate before it is stored or imported: it matches its private key, names exactly the
 * expected names, each certificate is signed by the next, the end-entity certificate is valid now, the chain
 * ends at the expected issuer, and it does not expire sooner than the one it replaces.
 *
 * Only the end-entity certificate's validity period is checked: CAs legitimately serve cross-signs whose own
 * validity has ended, and clients stop path building at a trusted root before reaching them.
 *
 * @see RFC 5280 §6.1.3 (a) (1): "The signature on the certificate can be verified using working_public_key_algorithm,
 *   the working_public_key, and the working_public_key_parameters", (2) "The certificate validity period includes
 *   the current time."
 * @see RFC 8446 §4.4.2: "Each following certificate SHOULD directly certify the one immediately preceding it."
 * @throws AcmeAwsError `verification-failed` naming what is wrong; `pki-invalid` when the private key or the
 *   expected issuer (inputs of ours, not the CA's) cannot be read.
 */
export async function verifyIssuedCertificate(
  input: VerifyIssuedCertificateInput,
): Promise<VerifiedCertificate> {
  const certificates = parseChain(input.fullchainPem);
  const [leaf, ...chain] = certificates;
  if (!leaf) throw fail('The issued certificate chain holds no certificate');
  if (chain.length === 0) {
    throw fail(
      `The issued chain holds only the end-entity certificate ${describe(leaf)} and no issuer certificate; clients could not build a path to a root`,
    );
  }

  const { keyType, keys } = await importPrivateKeyPem(input.privateKeyPem);
  if (!(await samePublicKey(leaf, keys.publicKey))) {
    throw fail(
      `The certificate's public key (${leaf.keyType ?? 'unsupported type'}) is not the public key of the private key (${keyType}) the CSR was signed with`,
    );
  }

  checkNames(leaf, input.expectedNames);

  for (let index = 0; index + 1 < certificates.length; index += 1) {
    const child = certificates[index] as ParsedCertificate;
    const issuer = certificates[index + 1] as ParsedCertificate;
    if (!(await isSignedBy(child, issuer))) {
      throw fail(
        `Certificate ${index + 1} of the chain ${describe(child)} is not signed by certificate ${index + 2} ${describe(issuer)}; the chain is out of order or incomplete`,
      );
    }
  }

  // RFC 5280 §4.1.2.5: the validity period is "the period of time from notBefore through notAfter, inclusive".
  const now = input.now.getTime();
  if (now < leaf.notBefore.getTime()) {
    throw fail(
      `The certificate is not valid yet: notBefore is ${leaf.notBefore.toISOString()}, now is ${input.now.toISOString()}`,
    );
  }
  if (now > leaf.notAfter.getTime()) {
    throw fail(
      `The certificate has expired: notAfter is ${leaf.notAfter.toISOString()}, now is ${input.now.toISOString()}`,
    );
  }

  if (input.expectedIssuerPem !== undefined) await checkIssuer(certificates, input.expectedIssuerPem);

  if (input.notExpiringBefore && leaf.notAfter.getTime() < input.notExpiringBefore.getTime()) {
    throw fail(
      `The certificate expires at ${leaf.notAfter.toISOString()}, sooner than the current one (${input.notExpiringBefore.toISOString()}); keeping the current certificate`,
    );
  }

  const certPem = leaf.pem;
  const chainPem = joinPem(chain.map((certificate) => certificate.pem));
  return { leaf, chain, certPem, chainPem, fullchainPem: certPem + chainPem };
}

function parseChain(fullchainPem: string): ParsedCertificate[] {
  let pems: string[];
  try {
    pems = splitPemChain(fullchainPem);
  } catch (error) {
    throw fail(`The issued certificate chain is not a PEM certificate chain: ${describeError(error)}`, error);
  }
  return pems.map((pem, index) => {
    try {
      return parseCertificate(pem);
    } catch (error) {
      throw fail(
        `Certificate ${index + 1} of the issued chain cannot be parsed: ${describeError(error)}`,
        error,
      );
    }
  });
}

function checkNames(leaf: ParsedCertificate, expectedNames: readonly string[]): void {
  const normalise = (name: string) => name.toLowerCase().replace(/\.$/, '');
  const expected = new Set(expectedNames.map(normalise));
  const named = new Set(leaf.dnsNames.map(normalise));
  const missing = [...expected].filter((name) => !named.has(name));
  if (missing.length > 0) {
    throw fail(
      `The certificate does not cover ${missing.join(', ')}; its names are ${[...named].join(', ') || '(none)'}`,
    );
  }
  const unexpected = [...named].filter((name) => !expected.has(name));
  unexpected.push(...leaf.otherSubjectAltNames);
  // Clients no longer read the subject CN, but a CN naming something else would still be a mis-issuance.
  if (leaf.subjectCommonName !== undefined && !expected.has(normalise(leaf.subjectCommonName))) {
    unexpected.push(`CN=${leaf.subjectCommonName}`);
  }
  if (unexpected.length > 0) {
    throw fail(`The certificate also names ${unexpected.join(', ')}, which the inventory does not ask for`);
  }
}

async function checkIssuer(
  certificates: readonly ParsedCertificate[],
  expectedIssuerPem: string,
): Promise<void> {
  const anchors = splitPemChain(expectedIssuerPem).map((pem) => parseCertificate(pem));
  if (anchors.length === 0)
    throw new AcmeAwsError('pki-invalid', 'The expected issuer PEM holds no certificate');
  const top = certificates[certificates.length - 1] as ParsedCertificate;
  for (const anchor of anchors) {
    if (sameBytes(anchor.der, top.der) || (await isSignedBy(top, anchor))) return;
  }
  throw fail(
    `The chain ends at ${describe(top)} (issued by "${top.issuer}"), which is neither the expected issuer ${anchors.map(describe).join(' or ')} nor signed by it`,
  );
}

/** Compares public keys by their JWK parameters, so two DER encodings of one key still match. */
async function samePublicKey(leaf: ParsedCertificate, publicKey: CryptoKey): Promise<boolean> {
  if (leaf.keyType === undefined) return false;
  const subtle = globalThis.crypto.subtle;
  let leafJwk: JsonWebKey;
  try {
    const spki = new x509.X509Certificate(leaf.der).publicKey.rawData;
    leafJwk = await subtle.exportKey(
      'jwk',
      await subtle.importKey('spki', spki, keyAlgorithm(leaf.keyType), true, []),
    );
  } catch {
    return false;
  }
  const keyJwk = await subtle.exportKey('jwk', publicKey);
  const fields = leafJwk.kty === 'EC' ? (['kty', 'crv', 'x', 'y'] as const) : (['kty', 'n', 'e'] as const);
  return fields.every((field) => leafJwk[field] !== undefined && leafJwk[field] === keyJwk[field]);
}

async function isSignedBy(child: ParsedCertificate, issuer: ParsedCertificate): Promise<boolean> {
  try {
    const issuerKey = new x509.X509Certificate(issuer.der).publicKey;
    // signatureOnly: the library would otherwise check validity against the wall clock, not our `now`.
    return await new x509.X509Certificate(child.der).verify({ publicKey: issuerKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function describe(certificate: ParsedCertificate): string {
  return `"${certificate.subjectCommonName ?? certificate.subject}"`;
}
