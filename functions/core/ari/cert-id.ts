import { AcmeAwsError } from '../errors';

/** What identifies a certificate to ARI: two fields read from the certificate itself. */
export interface CertIdInput {
  /** The `keyIdentifier` octets of the certificate's Authority Key Identifier extension (RFC 5280 §4.2.1.1). */
  readonly authorityKeyId: Uint8Array;
  /**
   * The content octets of the DER-encoded `serialNumber` INTEGER, without tag and length, exactly as they appear
   * in the certificate: a serial whose first bit is set keeps its leading `0x00` byte.
   */
  readonly serialDer: Uint8Array;
}

/** The shape of a certID: two unpadded base64url parts joined by a period. */
export const CERT_ID_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Builds the ARI unique identifier of a certificate, used both as the renewalInfo path and as `replaces`.
 *
 * @see RFC 9773 §4.1: "The unique identifier is constructed by concatenating the base64url-encoding [RFC4648] of
 *   the `keyIdentifier` field of the certificate's Authority Key Identifier (AKI) [RFC5280] extension, a literal
 *   period, and the base64url-encoding of the DER-encoded Serial Number field (without the tag and length bytes).
 *   All trailing "=" characters MUST be stripped from both parts of the unique identifier."
 *   (Quoted from draft-ietf-acme-ari, the text published as RFC 9773.)
 * @see RFC 9773 §5: `replaces` "is constructed in the same way as the path component for GET requests".
 * @throws AcmeAwsError `ari-invalid` when the AKI or the serial is empty: such a certificate has no certID.
 */
export function certId(input: CertIdInput): string {
  // RFC 9773 §2 assumes certificates "contain the Authority Key Identifier extension and the keyIdentifier field
  // within that extension"; without it there is nothing to ask the CA about, so the caller must fall back.
  if (!input.authorityKeyId || input.authorityKeyId.byteLength === 0) {
    throw new AcmeAwsError(
      'ari-invalid',
      'The certificate has no Authority Key Identifier keyIdentifier, so it has no ARI certID; renew on the lifetime ratio instead',
    );
  }
  if (!input.serialDer || input.serialDer.byteLength === 0) {
    throw new AcmeAwsError('ari-invalid', 'The certificate serial number is empty, so it has no ARI certID');
  }
  // Node's base64url encoding already omits the "=" padding the RFC says to strip.
  return `${base64url(input.authorityKeyId)}.${base64url(input.serialDer)}`;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
