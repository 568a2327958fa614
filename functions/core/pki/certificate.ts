import type { KeyType } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import { children, contentOf, expectElement, TAG } from './der';
import { keyTypeFromSpki } from './key-type';
import { decodePem, encodePem } from './pem';
import { sha256 } from './sha256';
import { x509 } from './x509';

/** What the rest of the system needs to know about one X.509 certificate. */
export interface ParsedCertificate {
  /** Lowercase hex of the serial number's DER INTEGER content octets, leading `00` kept (as in `serialDer`). */
  readonly serialHex: string;
  /** The serial number's DER INTEGER content octets, without tag and length: what ARI's certID encodes. */
  readonly serialDer: Uint8Array;
  /** The `keyIdentifier` of the Authority Key Identifier extension (RFC 5280 §4.2.1.1), when present. */
  readonly authorityKeyId?: Uint8Array;
  /** The Subject Key Identifier extension value (RFC 5280 §4.2.1.2), when present. */
  readonly subjectKeyId?: Uint8Array;
  /** Every dNSName in the Subject Alternative Name extension, as written in the certificate. */
  readonly dnsNames: string[];
  /** Every other SAN entry (IP addresses, e-mail, URIs...) as `type:value`, so verification can refuse them. */
  readonly otherSubjectAltNames: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The issuer distinguished name as an RFC 4514 string. */
  readonly issuer: string;
  /** The issuer's commonName, used to pick a preferred chain (RFC 8555 §7.4.2 alternates). */
  readonly issuerCommonName?: string;
  /** The subject distinguished name as an RFC 4514 string (empty for a SAN-only certificate). */
  readonly subject: string;
  readonly subjectCommonName?: string;
  /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER: equal for a certificate and its key's SPKI. */
  readonly spkiSha256: string;
  /** The key type, when it is one this project issues. */
  readonly keyType?: KeyType;
  /** The whole certificate, DER (backed by its own ArrayBuffer, so it can go straight to WebCrypto). */
  readonly der: Uint8Array<ArrayBuffer>;
  /** The certificate as one normalised PEM block. */
  readonly pem: string;
}

/**
 * Parses a PEM holding exactly one certificate.
 *
 * @throws AcmeAwsError `pki-invalid` when the text is not exactly one well-formed certificate.
 */
export function parseCertificate(pem: string): ParsedCertificate {
  const blocks = decodePem(pem);
  const [block] = blocks;
  if (blocks.length !== 1 || block?.label !== 'CERTIFICATE') {
    throw new AcmeAwsError(
      'pki-invalid',
      `Expected exactly one PEM CERTIFICATE block but found ${blocks.map((b) => b.label).join(', ') || 'none'}; split chains with splitPemChain first`,
    );
  }
  return parseCertificateDer(block.der);
}

/**
 * Parses one DER certificate.
 *
 * @see RFC 5280 §4.1: `TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber
 *   CertificateSerialNumber, ... }`; the serial is read from there so its octets stay exactly as encoded.
 * @throws AcmeAwsError `pki-invalid` when the bytes are not a certificate.
 */
export function parseCertificateDer(der: Uint8Array): ParsedCertificate {
  // A private copy: the caller's buffer may be a view into something larger or change later.
  const copy = der.slice();
  let cert: x509.X509Certificate;
  let serialDer: Uint8Array;
  try {
    cert = new x509.X509Certificate(copy);
    serialDer = readSerialContent(copy);
  } catch (error) {
    throw new AcmeAwsError('pki-invalid', 'The certificate is not a well-formed DER X.509 certificate', {
      cause: error,
    });
  }
  const spki = new Uint8Array(cert.publicKey.rawData);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const sanItems = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const issuerCommonName = cert.issuerName.getField('CN')[0];
  const subjectCommonName = cert.subjectName.getField('CN')[0];
  const keyType = keyTypeFromSpki(spki);
  return {
    serialHex: toHex(serialDer),
    serialDer,
    ...(aki?.keyId ? { authorityKeyId: fromHex(aki.keyId) } : {}),
    ...(ski?.keyId ? { subjectKeyId: fromHex(ski.keyId) } : {}),
    dnsNames: sanItems.filter((item) => item.type === 'dns').map((item) => item.value),
    otherSubjectAltNames: sanItems
      .filter((item) => item.type !== 'dns')
      .map((item) => `${item.type}:${item.value}`),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuer: cert.issuer,
    ...(issuerCommonName === undefined ? {} : { issuerCommonName }),
    subject: cert.subject,
    ...(subjectCommonName === undefined ? {} : { subjectCommonName }),
    spkiSha256: toHex(sha256(spki)),
    ...(keyType === undefined ? {} : { keyType }),
    der: copy,
    pem: encodePem('CERTIFICATE', copy),
  };
}

function readSerialContent(der: Uint8Array): Uint8Array {
  const certificate = expectElement(der, TAG.sequence);
  const [tbs] = children(der, certificate);
  if (tbs?.tag !== TAG.sequence) throw new Error('missing TBSCertificate');
  const fields = children(der, tbs);
  const serial = fields[0]?.tag === TAG.context0 ? fields[1] : fields[0];
  if (serial?.tag !== TAG.integer) throw new Error('missing serialNumber');
  return contentOf(der, serial).slice();
}

/**
 * A serial number as one spelling: lower-case hex without separators or leading zeros, so `0A:1B`, `0a1b` and
 * `a1b` compare equal (ACM prints colon-separated hex, the state documents plain hex).
 */
export function canonicalSerialHex(hex: string): string {
  return hex
    .toLowerCase()
    .replace(/[^0-9a-f]/g, '')
    .replace(/^0+(?=.)/, '');
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
