import { AcmeAwsError } from '../errors';
import { keyTypeOfKey, signingAlgorithm } from './key-type';
import { encodePem } from './pem';

/** The longest value X.520 allows in a commonName (`ub-common-name` = 64). */
const MAX_COMMON_NAME = 64;

/**
 * Builds the PKCS#10 certificate signing request sent when finalizing an ACME order: every name as a SAN dNSName
 * (wildcards included, lower-cased, duplicates dropped) and, for clients that still read it, the first name that fits as subject CN.
 *
 * @see RFC 8555 §7.4: "The CSR MUST indicate the exact same set of requested identifiers as the initial
 *   newOrder request. Identifiers of type "dns" MUST appear either in the commonName portion of the requested
 *   subject name or in an extensionRequest attribute [RFC2985] requesting a subjectAltName extension, or both."
 * @see RFC 5280 §4.2.1.6: "If the subject field contains an empty sequence, then the issuing CA MUST include a
 *   subjectAltName extension that is marked as critical"; the request marks it critical in that case too.
 * @throws AcmeAwsError `pki-invalid` when no name is given or the key type is unsupported.
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
  // Loaded here, on first use: certificates are parsed and verified without it (certificate.ts, verify.ts), so the
  // functions that never write a CSR (first imports) never load it, and the renewer only when it orders.
  const { x509 } = await import('./x509');
  const commonName = names.find((name) => name.length <= MAX_COMMON_NAME);
  const san = new x509.SubjectAlternativeNameExtension(
    names.map((value) => ({ type: 'dns' as const, value })),
    commonName === undefined,
  );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: input.keys,
    ...(commonName === undefined ? {} : { name: [{ CN: [commonName] }] }),
    signingAlgorithm: signingAlgorithm(keyType),
    extensions: [san],
  });
  const der = new Uint8Array(csr.rawData);
  return { der, pem: encodePem('CERTIFICATE REQUEST', der) };
}
