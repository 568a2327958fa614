import { AcmeAwsError } from '../errors';

/** One DER TLV inside a byte array: its tag and where its content starts and ends. */
export interface DerElement {
  /** The identifier octet (single-byte tags only, which is all X.509 and PKCS#8 use). */
  readonly tag: number;
  /** Offset of the identifier octet: the whole TLV is `start` to `end`. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the last content octet. */
  readonly end: number;
}

/** DER tags this module's callers look for. */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  context0: 0xa0,
  context1: 0xa1,
} as const;

function malformed(what: string): AcmeAwsError {
  return new AcmeAwsError('pki-invalid', `Malformed DER: ${what}`);
}

/**
 * Reads the TLV starting at `offset`, bounded by `limit`.
 *
 * @see ITU-T X.690 §10.1: DER "shall" use the definite form of length encoding, so the indefinite form is rejected.
 */
export function readElement(bytes: Uint8Array, offset = 0, limit = bytes.length): DerElement {
  if (offset + 2 > limit) throw malformed('truncated element header');
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tags are not used by certificates or keys');
  let length = bytes[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw malformed('indefinite length');
    if (count > 4) throw malformed('length field too long');
    if (contentStart + count > limit) throw malformed('truncated length field');
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + bytes[contentStart + i];
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed('element longer than its container');
  return { tag, start: offset, contentStart, end };
}

/** Reads the TLV at `offset` and checks its tag. */
export function expectElement(bytes: Uint8Array, tag: number, offset = 0, limit = bytes.length): DerElement {
  const element = readElement(bytes, offset, limit);
  if (element.tag !== tag) {
    throw malformed(`expected tag 0x${tag.toString(16)} but found 0x${element.tag.toString(16)}`);
  }
  return element;
}

/** The elements directly inside a constructed element (a SEQUENCE or an explicit context tag). */
export function children(bytes: Uint8Array, parent: DerElement): DerElement[] {
  const result: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(bytes, offset, parent.end);
    result.push(child);
    offset = child.end;
  }
  return result;
}

/** A view (not a copy) of the whole element: identifier, length and content octets. */
export function encodingOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.start, element.end);
}

/** A view (not a copy) of the element's content octets. */
export function contentOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.contentStart, element.end);
}

/** Decodes OBJECT IDENTIFIER content octets to dotted form (ITU-T X.690 §8.19). */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw malformed('empty object identifier');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if (content[content.length - 1] & 0x80) throw malformed('truncated object identifier');
  const first = arcs.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** The bit length of a non-negative INTEGER given its content octets (sign-padding zeros ignored). */
export function unsignedBitLength(content: Uint8Array): number {
  let index = 0;
  while (index < content.length && content[index] === 0) index += 1;
  if (index === content.length) return 0;
  return (content.length - index - 1) * 8 + (32 - Math.clz32(content[index]));
}
