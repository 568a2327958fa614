import { AcmeAwsError } from '../errors';
import { readElement, TAG } from './der';
import { decodePem, encodePem } from './pem';

/**
 * Splits a PEM certificate chain (as downloaded from an ACME CA) into one normalised `CERTIFICATE` block per
 * certificate, in the order given: LF line endings, 64-character lines, a trailing newline, no text between.
 *
 * @see RFC 8555 §9.1: "A file of this type contains one or more certificates encoded with the PEM textual
 *   encoding, according to [RFC7468]." The end-entity certificate comes first, as TLS sends it (RFC 8446 §4.4.2:
 *   "The sender's certificate MUST come in the first CertificateEntry in the list").
 * @throws AcmeAwsError `pki-invalid` when a block is not a certificate or is not one DER SEQUENCE.
 */
export function splitPemChain(pem: string): string[] {
  return decodePem(pem).map((block, index) => {
    if (block.label !== 'CERTIFICATE') {
      throw new AcmeAwsError(
        'pki-invalid',
        `PEM block ${index + 1} is a "${block.label}", but a certificate chain may hold only CERTIFICATE blocks`,
      );
    }
    let element: ReturnType<typeof readElement> | undefined;
    try {
      element = readElement(block.der);
    } catch {
      element = undefined;
    }
    if (!element || element.tag !== TAG.sequence || element.end !== block.der.length) {
      throw new AcmeAwsError(
        'pki-invalid',
        `PEM block ${index + 1} does not hold one DER-encoded certificate`,
      );
    }
    return encodePem('CERTIFICATE', block.der);
  });
}

/** Joins normalised PEM blocks into one chain file (each block already ends with a newline). */
export function joinPem(blocks: readonly string[]): string {
  return blocks.join('');
}
