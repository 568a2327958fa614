import { X509Certificate } from 'node:crypto';
import { AcmeAwsError, describeError } from '../errors';
import { type ParsedCertificate, parseCertificate } from './certificate';
import { joinPem, splitPemChain } from './chain';
import { keyAlgorithm } from './key-type';
import { importPrivateKeyPem } from './keys';

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
  /**
   * The roots the chain must lead to, one PEM certificate each (a chain file of several is read as several). A
   * certificate of the chain must be an anchor (the same subject and public key, so a cross-signed copy of the root
   * counts) or be signed by one; an empty list trusts nothing.
   */
  readonly trustAnchors: readonly string[];
  /** The CA's name in the inventory (`cas.<name>`), so a chain that reaches no anchor names where to add one. */
  readonly caName?: string;
  /**
   * Other chains the CA offered for the same certificate (RFC 8555 §7.4.2 `alternate` links), end-entity first.
   * When `fullchainPem` reaches no trust anchor, the first of these that does is used instead; entries equal to
   * `fullchainPem` or carrying another end-entity certificate are ignored.
   * @default none
   */
  readonly alternateChains?: readonly string[];
  /** The certificate must not expire before this instant (the notAfter of the certificate it replaces). */
  readonly notExpiringBefore?: Date;
}

const fail = (message: string, cause?: unknown) =>
  new AcmeAwsError('verification-failed', message, cause === undefined ? undefined : { cause });

/**
 * Checks an issued certificate before it is stored or imported: it matches its private key, names exactly the
 * expected names, each certificate is signed by the next, the chain leads to one of the CA's trust anchors (and
 * ends at the expected issuer, when one is given), the end-entity certificate is valid now, and it does not
 * expire sooner than the one it replaces. Among the default chain and its alternates, the first one that passes
 * the chain checks is returned.
 *
 * Only the end-entity certificate's validity period is checked: CAs legitimately serve cross-signs whose own
 * validity has ended, and clients stop path building at a trusted root before reaching them.
 *
 * @see RFC 5280 §6.1.3 (a) (1): "The signature on the certificate can be verified using working_public_key_algorithm,
 *   the working_public_key, and the working_public_key_parameters", (2) "The certificate validity period includes
 *   the current time."
 * @see RFC 8446 §4.4.2: "Each following certificate SHOULD directly certify the one immediately preceding it."
 * @see RFC 5280 §6.1: path validation starts from a trust anchor; a chain that leads to none is not trusted by
 *   any client that does not already trust the CA, which is exactly what a staging CA or a broken endpoint serves.
 * @see RFC 8555 §7.4.2: alternate chains are how a CA offers a path to another root.
 * @throws AcmeAwsError `verification-failed` naming what is wrong; `pki-invalid` when the private key, the
 *   expected issuer or a trust anchor (inputs of ours, not the CA's) cannot be read.
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

  const anchors = parseAnchors(input.trustAnchors);
  const expectedIssuers =
    input.expectedIssuerPem === undefined ? undefined : parseExpectedIssuers(input.expectedIssuerPem);
  const chosen = await chooseChain(
    certificates,
    alternatesOf(certificates, input.alternateChains ?? []),
    (candidate) => chainProblem(candidate, anchors, expectedIssuers, input.caName),
  );

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

  if (input.notExpiringBefore && leaf.notAfter.getTime() < input.notExpiringBefore.getTime()) {
    throw fail(
      `The certificate expires at ${leaf.notAfter.toISOString()}, sooner than the current one (${input.notExpiringBefore.toISOString()}); keeping the current certificate`,
    );
  }

  const issuers = chosen.slice(1);
  const certPem = leaf.pem;
  const chainPem = joinPem(issuers.map((certificate) => certificate.pem));
  return { leaf, chain: issuers, certPem, chainPem, fullchainPem: certPem + chainPem };
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

/**
 * The first candidate without a chain problem; otherwise the default chain's problem, noting that the alternates
 * (when there were any) failed too.
 */
async function chooseChain(
  primary: readonly ParsedCertificate[],
  alternates: readonly (readonly ParsedCertificate[])[],
  problemOf: (candidate: readonly ParsedCertificate[]) => Promise<string | undefined>,
): Promise<readonly ParsedCertificate[]> {
  const problem = await problemOf(primary);
  if (problem === undefined) return primary;
  for (const alternate of alternates) {
    if ((await problemOf(alternate)) === undefined) return alternate;
  }
  const note =
    alternates.length === 0
      ? ''
      : ` (and none of the CA's ${alternates.length} alternate chain${alternates.length === 1 ? '' : 's'} passes either)`;
  throw fail(`${problem}${note}`);
}

/** What is wrong with one chain (links, expected issuer, trust anchor), or `undefined` when nothing is. */
async function chainProblem(
  certificates: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
  expectedIssuers: readonly ParsedCertificate[] | undefined,
  caName: string | undefined,
): Promise<string | undefined> {
  for (let index = 0; index + 1 < certificates.length; index += 1) {
    const child = certificates[index] as ParsedCertificate;
    const issuer = certificates[index + 1] as ParsedCertificate;
    if (!(await isSignedBy(child, issuer))) {
      return `Certificate ${index + 1} of the chain ${describe(child)} is not signed by certificate ${index + 2} ${describe(issuer)}; the chain is out of order or incomplete`;
    }
  }
  const top = certificates[certificates.length - 1] as ParsedCertificate;
  if (expectedIssuers !== undefined) {
    let found = false;
    for (const expected of expectedIssuers) {
      if (sameBytes(expected.der, top.der) || (await isSignedBy(top, expected))) found = true;
    }
    if (!found) {
      return `The chain ends at ${describe(top)} (issued by "${top.issuer}"), which is neither the expected issuer ${expectedIssuers.map(describe).join(' or ')} nor signed by it`;
    }
  }
  // Every link is verified, so any certificate of the chain that an anchor vouches for vouches for the leaf.
  for (const certificate of [...certificates].reverse()) {
    for (const anchor of anchors) if (await vouchesFor(anchor, certificate)) return undefined;
  }
  const ca = caName === undefined ? 'the CA' : `CA "${caName}"`;
  const field = caName === undefined ? "the CA's trustAnchors" : `cas.${caName}.trustAnchors`;
  const trusted =
    anchors.length === 0
      ? 'it has no trust anchors'
      : `its trust anchors are ${anchors.map(describe).join(', ')}`;
  return `The chain from ${ca} ends at ${describe(top)}, issued by "${top.issuer}", and leads to none of its trust anchors (${trusted}); the certificate was not stored or imported. If this CA's chains are meant to be trusted, add the PEM of the CA's root to ${field}`;
}

/**
 * True when `certificate` is the anchor (the same subject and public key: the root itself or a cross-signed copy
 * of it) or is signed by it (its issuer names the anchor and the anchor's key verifies its signature).
 */
async function vouchesFor(anchor: ParsedCertificate, certificate: ParsedCertificate): Promise<boolean> {
  if (certificate.subject === anchor.subject && certificate.spkiSha256 === anchor.spkiSha256) return true;
  return certificate.issuer === anchor.subject && (await isSignedBy(certificate, anchor));
}

/** The alternate chains worth trying: parseable, not the default chain again, and for the same leaf. */
function alternatesOf(
  primary: readonly ParsedCertificate[],
  alternateChains: readonly string[],
): ParsedCertificate[][] {
  const key = (chain: readonly ParsedCertificate[]) => chain.map((certificate) => certificate.pem).join('');
  const seen = new Set([key(primary)]);
  const leaf = primary[0] as ParsedCertificate;
  const out: ParsedCertificate[][] = [];
  for (const pem of alternateChains) {
    let chain: ParsedCertificate[];
    try {
      chain = splitPemChain(pem).map((block) => parseCertificate(block));
    } catch {
      continue; // An alternate the CA garbled is not a reason to refuse the default chain's error message.
    }
    const first = chain[0];
    if (chain.length < 2 || !first || !sameBytes(first.der, leaf.der) || seen.has(key(chain))) continue;
    seen.add(key(chain));
    out.push(chain);
  }
  return out;
}

function parseAnchors(pems: readonly string[]): ParsedCertificate[] {
  return pems.flatMap((pem, index) => {
    try {
      return splitPemChain(pem).map((block) => parseCertificate(block));
    } catch (error) {
      throw new AcmeAwsError(
        'pki-invalid',
        `Trust anchor ${index + 1} is not a PEM certificate: ${describeError(error)}`,
        { cause: error },
      );
    }
  });
}

function parseExpectedIssuers(pem: string): ParsedCertificate[] {
  const issuers = splitPemChain(pem).map((block) => parseCertificate(block));
  if (issuers.length === 0)
    throw new AcmeAwsError('pki-invalid', 'The expected issuer PEM holds no certificate');
  return issuers;
}

/** Compares public keys by their JWK parameters, so two DER encodings of one key still match. */
async function samePublicKey(leaf: ParsedCertificate, publicKey: CryptoKey): Promise<boolean> {
  if (leaf.keyType === undefined) return false;
  const subtle = globalThis.crypto.subtle;
  let leafJwk: JsonWebKey;
  try {
    leafJwk = await subtle.exportKey(
      'jwk',
      await subtle.importKey('spki', leaf.spki, keyAlgorithm(leaf.keyType), true, []),
    );
  } catch {
    return false;
  }
  const keyJwk = await subtle.exportKey('jwk', publicKey);
  const fields = leafJwk.kty === 'EC' ? (['kty', 'crv', 'x', 'y'] as const) : (['kty', 'n', 'e'] as const);
  return fields.every((field) => leafJwk[field] !== undefined && leafJwk[field] === keyJwk[field]);
}

/** Whether `issuer`'s key signed `child` (the signature alone: validity is checked against our `now` elsewhere). */
async function isSignedBy(child: ParsedCertificate, issuer: ParsedCertificate): Promise<boolean> {
  try {
    return new X509Certificate(child.der).verify(new X509Certificate(issuer.der).publicKey);
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
