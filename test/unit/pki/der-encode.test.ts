import { describe, expect, it } from 'vitest';
import { children, contentOf, decodeOid, readElement, TAG } from '../../../functions/core/pki/der';
import {
  ecdsaSignatureDer,
  oid,
  sequence,
  setOf,
  tlv,
  unsignedInteger,
} from '../../../functions/core/pki/der-encode';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('the DER encoder (read back with der.ts)', () => {
  it.each([0, 1, 127, 128, 255, 256, 65_535, 70_000])(
    'a %i-octet content gets the minimal definite length',
    (n) => {
      const encoded = tlv(TAG.octetString, new Uint8Array(n));
      const element = readElement(encoded);
      expect(element.end - element.contentStart).toBe(n);
      expect(element.end).toBe(encoded.length);
      // Short form below 128; otherwise 0x80 | the count of length octets, and no more of them than needed.
      const lengthOctets = element.contentStart - 1;
      expect(lengthOctets).toBe(n < 128 ? 1 : 1 + Math.ceil(Math.log2(n + 1) / 8));
    },
  );

  it('writes non-negative INTEGERs minimally: leading zeros dropped, a zero added under a set top bit', () => {
    expect(hex(unsignedInteger(Uint8Array.of(0)))).toBe('020100');
    expect(hex(unsignedInteger(Uint8Array.of(0, 0, 0x7f)))).toBe('02017f');
    expect(hex(unsignedInteger(Uint8Array.of(0x80)))).toBe('02020080');
    expect(hex(unsignedInteger(Uint8Array.of(0, 0xff, 0x01)))).toBe('020300ff01');
  });

  it.each(['2.5.29.17', '1.2.840.113549.1.9.14', '1.2.840.10045.4.3.2', '2.999.1', '1.3.6.1.4.1.311.21.7'])(
    'writes the OID %s as der.ts reads it back',
    (dotted) => {
      const encoded = oid(dotted);
      expect(decodeOid(contentOf(encoded, readElement(encoded)))).toBe(dotted);
    },
  );

  it.each(['', '1', '3.1', '1.2.x', '1..2'])('refuses %j as an OID', (dotted) => {
    expect(() => oid(dotted)).toThrow(/is not a dotted OID/);
  });

  it('orders a SET OF by its encodings (X.690 §11.6), whatever order it was given in', () => {
    const a = tlv(TAG.integer, Uint8Array.of(2));
    const b = tlv(TAG.integer, Uint8Array.of(1));
    const c = tlv(TAG.oid, Uint8Array.of(1));
    const set = setOf(a, c, b);
    expect(set[0]).toBe(0x31);
    expect(children(set, readElement(set)).map((e) => hex(set.subarray(e.start, e.end)))).toEqual([
      hex(b),
      hex(a),
      hex(c),
    ]);
  });

  it('turns a fixed-width r‖s ECDSA signature into SEQUENCE { r INTEGER, s INTEGER }', () => {
    const rs = new Uint8Array(64);
    rs[0] = 0x80; // r needs a sign octet
    rs[63] = 0x05; // s is 5 after 31 leading zero octets
    const der = ecdsaSignatureDer(rs);
    const [r, s] = children(der, readElement(der));
    expect(hex(contentOf(der, r!))).toBe(`0080${'00'.repeat(31)}`);
    expect(hex(contentOf(der, s!))).toBe('05');
    expect(hex(sequence())).toBe('3000');
  });
});
