import { AcmeAwsError } from '../errors';

/**
 * The DER encodings a PKCS#10 request is made of, and nothing more: definite lengths, minimal integers, SET OF in
 * ascending order of the encodings (ITU-T X.690 §8 and §10–11). The reader is der.ts.
 */

/** One TLV: a single-byte tag, the definite length (short form below 128 octets, long form above), the content. */
export function tlv(tag: number, ...content: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = content.reduce((total, part) => total + part.length, 0);
  const lengthOctets: number[] = [];
  if (length < 0x80) lengthOctets.push(length);
  else {
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthOctets.unshift(rest % 256);
    lengthOctets.unshift(0x80 | lengthOctets.length);
  }
  const out = new Uint8Array(1 + lengthOctets.length + length);
  out[0] = tag;
  out.set(lengthOctets, 1);
  let offset = 1 + lengthOctets.length;
  for (const part of content) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const sequence = (...elements: readonly Uint8Array[]) => tlv(0x30, ...elements);

/** SET OF: X.690 §11.6 has DER order the components by their encodings. */
export function setOf(...elements: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...elements].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  return tlv(0x31, ...sorted);
}

/** A constructed context-specific tag, `[n]`, wrapping `elements` (IMPLICIT SET OF or EXPLICIT alike). */
export const contextConstructed = (n: number, ...elements: readonly Uint8Array[]) =>
  tlv(0xa0 | n, ...elements);

/** A primitive context-specific tag, `[n] IMPLICIT`, over `content` octets. */
export const contextPrimitive = (n: number, content: Uint8Array) => tlv(0x80 | n, content);

export const TRUE = Uint8Array.of(0x01, 0x01, 0xff);
export const NULL = Uint8Array.of(0x05, 0x00);

/** A non-negative INTEGER from its big-endian magnitude: leading zeros dropped, one added when the top bit is set. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const digits = magnitude.subarray(start);
  return tlv(
    0x02,
    ...((digits[0] ?? 0) & 0x80 ? [Uint8Array.of(0)] : []),
    digits.length ? digits : Uint8Array.of(0),
  );
}

/** OBJECT IDENTIFIER from dotted form (X.690 §8.19: the first two arcs in one subidentifier, base 128). */
export function oid(dotted: string): Uint8Array<ArrayBuffer> {
  if (!/^[0-2]\.\d+(\.\d+)*$/.test(dotted))
    throw new AcmeAwsError('pki-invalid', `"${dotted}" is not a dotted OID`);
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const group = [arc % 128];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
      group.unshift(0x80 | (value % 128));
    octets.push(...group);
  }
  return tlv(0x06, Uint8Array.from(octets));
}

export const utf8String = (text: string) => tlv(0x0c, new TextEncoder().encode(text));
export const octetString = (content: Uint8Array) => tlv(0x04, content);
/** BIT STRING of whole octets (no unused bits), as keys and signatures are. */
export const bitString = (content: Uint8Array) => tlv(0x03, Uint8Array.of(0), content);

/** The octets of an IA5String value; a DNS name must be ASCII (A-labels) by the time it is written. */
export function ia5(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code > 0x7e || code < 0x20) {
      throw new AcmeAwsError(
        'pki-invalid',
        `"${text}" is not ASCII; write internationalised names as A-labels`,
      );
    }
    bytes[i] = code;
  }
  return bytes;
}

/**
 * An ECDSA signature as X.509 carries it, `SEQUENCE { r INTEGER, s INTEGER }`, from WebCrypto's fixed-width r‖s.
 * @see RFC 5480 §2.2.3 (ECDSA-Sig-Value), RFC 3279 §2.2.3
 */
export function ecdsaSignatureDer(rs: Uint8Array): Uint8Array<ArrayBuffer> {
  const half = rs.length / 2;
  return sequence(unsignedInteger(rs.subarray(0, half)), unsignedInteger(rs.subarray(half)));
}
