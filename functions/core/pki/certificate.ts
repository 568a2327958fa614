import type { KeyType } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import {
  children,
  contentOf,
  type DerElement,
  decodeOid,
  encodingOf,
  expectElement,
  readElement,
  TAG,
} from './der';
import { keyTypeFromSpki } from './key-type';
import {
  type GeneralNameEntry,
  type NameAttribute,
  nameField,
  nameToString,
  readGeneralNames,
  readName,
} from './name';
import { decodePem, encodePem } from './pem';
import { sha256 } from './sha256';

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
  /** The SubjectPublicKeyInfo, DER, exactly as encoded (its own copy): what WebCrypto imports as `spki`. */
  readonly spki: Uint8Array<ArrayBuffer>;
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
 * The fields are read from the DER with der.ts, names spelled as @peculiar/x509 spelled them (name.ts; the library
 * is the tests' reference, no dependency of the functions). Not OpenSSL's parser
 * (node:crypto), which refuses some certificates that library read (a serialNumber attribute that is no
 * PrintableString): the parse gives the answer it always gave; signatures are checked with node:crypto (verify.ts).
 *
 * @see RFC 5280 §4.1: `TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber
 *   CertificateSerialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, issuerUniqueID [1],
 *   subjectUniqueID [2], extensions [3] EXPLICIT }`; the serial is read from there so its octets stay exactly as
 *   encoded.
 * @throws AcmeAwsError `pki-invalid` when the bytes are not a certificate.
 */
export function parseCertificateDer(der: Uint8Array): ParsedCertificate {
  // A private copy: the caller's buffer may be a view into something larger or change later.
  const copy = der.slice();
  let fields: CertificateFields;
  try {
    fields = readFields(copy);
  } catch (error) {
    throw new AcmeAwsError('pki-invalid', 'The certificate is not a well-formed DER X.509 certificate', {
      cause: error,
    });
  }
  const { serialDer, issuer, subject, spki } = fields;
  const issuerCommonName = nameField(issuer, OID.commonName)[0];
  const subjectCommonName = nameField(subject, OID.commonName)[0];
  const keyType = keyTypeFromSpki(spki);
  return {
    serialHex: toHex(serialDer),
    serialDer,
    ...(fields.authorityKeyId?.length ? { authorityKeyId: fields.authorityKeyId } : {}),
    ...(fields.subjectKeyId?.length ? { subjectKeyId: fields.subjectKeyId } : {}),
    dnsNames: fields.subjectAltNames.filter((item) => item.type === 'dns').map((item) => item.value),
    otherSubjectAltNames: fields.subjectAltNames
      .filter((item) => item.type !== 'dns')
      .map((item) => `${item.type}:${item.value}`),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    issuer: nameToString(issuer),
    ...(issuerCommonName === undefined ? {} : { issuerCommonName }),
    subject: nameToString(subject),
    ...(subjectCommonName === undefined ? {} : { subjectCommonName }),
    spki,
    spkiSha256: toHex(sha256(spki)),
    ...(keyType === undefined ? {} : { keyType }),
    der: copy,
    pem: encodePem('CERTIFICATE', copy),
  };
}

const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  subjectAltName: '2.5.29.17',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

const TIME = { utc: 0x17, generalized: 0x18 } as const;
const EXTENSIONS = 0xa3;
const KEY_IDENTIFIER = 0x80;

/** What parseCertificateDer reads from the DER (copies, not views). */
interface CertificateFields {
  readonly serialDer: Uint8Array;
  readonly issuer: NameAttribute[][];
  readonly subject: NameAttribute[][];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The SubjectPublicKeyInfo, DER, exactly as encoded. */
  readonly spki: Uint8Array<ArrayBuffer>;
  readonly authorityKeyId?: Uint8Array;
  readonly subjectKeyId?: Uint8Array;
  readonly subjectAltNames: GeneralNameEntry[];
}

/** The TBSCertificate's fields, in order, without the optional version. */
function tbsFields(der: Uint8Array): DerElement[] {
  const certificate = expectElement(der, TAG.sequence);
  if (certificate.end !== der.length) throw new Error('bytes after the certificate');
  const [tbs] = children(der, certificate);
  if (tbs?.tag !== TAG.sequence) throw new Error('missing TBSCertificate');
  const all = children(der, tbs);
  return all[0]?.tag === TAG.context0 ? all.slice(1) : all;
}

function readFields(der: Uint8Array): CertificateFields {
  const [serial, , issuer, validity, subject, spki, ...optional] = tbsFields(der);
  if (serial?.tag !== TAG.integer) throw new Error('missing serialNumber');
  if (validity?.tag !== TAG.sequence || spki?.tag !== TAG.sequence || !issuer || !subject) {
    throw new Error('missing TBSCertificate fields');
  }
  const [notBefore, notAfter] = children(der, validity);
  if (!notBefore || !notAfter) throw new Error('malformed validity');
  const extensions = extensionValues(der, optional);
  const aki = extensions.get(OID.authorityKeyIdentifier);
  const ski = extensions.get(OID.subjectKeyIdentifier);
  const san = extensions.get(OID.subjectAltName);
  const keyIdentifier =
    aki &&
    children(der, expectElement(der, TAG.sequence, aki.contentStart, aki.end)).find(
      (e) => e.tag === KEY_IDENTIFIER,
    );
  return {
    serialDer: contentOf(der, serial).slice(),
    issuer: readName(der, issuer),
    subject: readName(der, subject),
    notBefore: readTime(der, notBefore),
    notAfter: readTime(der, notAfter),
    spki: encodingOf(der, spki).slice(),
    ...(keyIdentifier ? { authorityKeyId: contentOf(der, keyIdentifier).slice() } : {}),
    ...(ski
      ? {
          subjectKeyId: contentOf(
            der,
            expectElement(der, TAG.octetString, ski.contentStart, ski.end),
          ).slice(),
        }
      : {}),
    subjectAltNames: san ? readGeneralNames(der, readElement(der, san.contentStart, san.end)) : [],
  };
}

/**
 * The extnValue OCTET STRING of the first extension of each OID.
 *
 * @see RFC 5280 §4.1: `Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *   extnValue OCTET STRING }`, inside `extensions [3] EXPLICIT Extensions`.
 */
function extensionValues(der: Uint8Array, optional: readonly DerElement[]): Map<string, DerElement> {
  const values = new Map<string, DerElement>();
  const explicit = optional.find((element) => element.tag === EXTENSIONS);
  if (explicit === undefined) return values;
  for (const extension of children(
    der,
    expectElement(der, TAG.sequence, explicit.contentStart, explicit.end),
  )) {
    const parts = children(der, extension);
    const [id] = parts;
    const value = parts[parts.length - 1];
    if (extension.tag !== TAG.sequence || id?.tag !== TAG.oid || value?.tag !== TAG.octetString) {
      throw new Error('malformed extension');
    }
    const oid = decodeOid(contentOf(der, id));
    if (!values.has(oid)) values.set(oid, value);
  }
  return values;
}

/**
 * A validity instant.
 *
 * @see RFC 5280 §4.1.2.5: UTCTime `YYMMDDHHMMSSZ` (YY ≥ 50 is 19YY, else 20YY) through 2049, GeneralizedTime
 *   `YYYYMMDDHHMMSSZ` from 2050, both in UTC and with seconds (a fraction is tolerated, as asn1js does).
 */
function readTime(der: Uint8Array, time: DerElement): Date {
  const text = new TextDecoder().decode(contentOf(der, time));
  const match =
    time.tag === TIME.utc
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : time.tag === TIME.generalized
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3})\d*)?Z$/.exec(text)
        : null;
  if (!match) throw new Error(`unsupported validity time ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, sec, fraction] = match;
  let year = Number(y);
  if (time.tag === TIME.utc) year += year >= 50 ? 1900 : 2000;
  const ms = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0'));
  return new Date(Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms));
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
