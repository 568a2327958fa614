import type { KeyType } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import {
  bitString,
  contextConstructed,
  contextPrimitive,
  ecdsaSignatureDer,
  ia5,
  NULL,
  octetString,
  oid,
  sequence,
  setOf,
  TRUE,
  unsignedInteger,
  utf8String,
} from './der-encode';
import { keyTypeOfKey, signingAlgorithm } from './key-type';
import { encodePem } from './pem';

/** The longest value X.520 allows in a commonName (`ub-common-name` = 64). */
const MAX_COMMON_NAME = 64;

const OID = {
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/**
 * The request's signatureAlgorithm, matching {@link signingAlgorithm}: ECDSA with the curve's hash (no parameters,
 * RFC 5758 §3.2), RSA with SHA-256 and NULL parameters (RFC 4055 §5).
 */
function algorithmIdentifier(keyType: KeyType): Uint8Array {
  if (keyType === 'ec-p256') return sequence(oid(OID.ecdsaWithSha256));
  if (keyType === 'ec-p384') return sequence(oid(OID.ecdsaWithSha384));
  return sequence(oid(OID.sha256WithRsa), NULL);
}

/**
 * Builds the PKCS#10 certificate signing request sent when finalizing an ACME order: every name as a SAN dNSName
 * (wildcards included, lower-cased, duplicates dropped) and, for clients that still read it, the first name that fits
 * as subject CN. Written with the small DER encoder of der-encode.ts and signed with WebCrypto: a request is one
 * fixed shape, and building it with @peculiar/x509 cost a renewal about 8 MiB and 100 ms of CPU to load the
 * library (bench/results.md, section 1).
 *
 * @see RFC 2986 §4 (CertificationRequestInfo: version 0, subject, subjectPKInfo, attributes [0]) and RFC 2985
 *   §5.4.2 (the extensionRequest attribute).
 * @see RFC 8555 §7.4: "The CSR MUST indicate the exact same set of requested identifiers as the initial
 *   newOrder request. Identifiers of type "dns" MUST appear either in the commonName portion of the requested
 *   subject name or in an extensionRequest attribute [RFC2985] requesting a subjectAltName extension, or both."
 * @see RFC 5280 §4.2.1.6: "If the subject field contains an empty sequence, then the issuing CA MUST include a
 *   subjectAltName extension that is marked as critical"; the request marks it critical in that case too.
 * @throws AcmeAwsError `pki-invalid` when no name is given, a name is not ASCII, or the key type is unsupported.
 */
export async function createCsr(input: {
  readonly keys: CryptoKeyPair;
  readonly names: readonly string[];
}): Promise<{ der: Uint8Array<ArrayBuffer>; pem: string }> {
  // Duplicates would make the CA reject the CSR as not matching the order's identifier set.
  const names = [...new Set(input.names.map((name) => name.toLowerCase()))];
  if (names.length === 0) {
    throw new AcmeAwsError('pki-invalid', 'A certificate signing request needs at least one DNS name');
  }
  const keyType = keyTypeOfKey(input.keys.privateKey);
  // WebCrypto signs with the hash an RSA key was made for; the request names SHA-256, as keyAlgorithm makes them.
  const hash = (input.keys.privateKey.algorithm as Partial<RsaHashedKeyAlgorithm>).hash?.name;
  if (keyType.startsWith('rsa-') && hash !== 'SHA-256') {
    throw new AcmeAwsError(
      'pki-invalid',
      `An RSA key for a CSR must be made for SHA-256 (this one is for ${hash ?? 'no hash'}); generate it with keyAlgorithm()`,
    );
  }
  const commonName = names.find((name) => name.length <= MAX_COMMON_NAME);
  const subject =
    commonName === undefined
      ? sequence()
      : sequence(setOf(sequence(oid(OID.commonName), utf8String(commonName))));
  const subjectAltName = sequence(
    oid(OID.subjectAltName),
    ...(commonName === undefined ? [TRUE] : []),
    octetString(sequence(...names.map((name) => contextPrimitive(2, ia5(name))))),
  );
  const spki = new Uint8Array(await globalThis.crypto.subtle.exportKey('spki', input.keys.publicKey));
  const info = sequence(
    unsignedInteger(Uint8Array.of(0)),
    subject,
    spki,
    // attributes [0] IMPLICIT SET OF Attribute: one attribute; a second would have to be DER-ordered with setOf's rule.
    contextConstructed(0, sequence(oid(OID.extensionRequest), setOf(sequence(subjectAltName)))),
  );
  const signature = new Uint8Array(
    await globalThis.crypto.subtle.sign(signingAlgorithm(keyType), input.keys.privateKey, info),
  );
  const der = sequence(
    info,
    algorithmIdentifier(keyType),
    bitString(keyType.startsWith('ec-') ? ecdsaSignatureDer(signature) : signature),
  );
  return { der, pem: encodePem('CERTIFICATE REQUEST', der) };
}
