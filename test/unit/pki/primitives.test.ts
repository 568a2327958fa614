import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../functions/core/errors';
import { decodeOid, readElement, unsignedBitLength } from '../../../functions/core/pki/der';
import { sha256 } from '../../../functions/core/pki/sha256';

const hex = (value: string) => new Uint8Array(Buffer.from(value.replace(/\s+/g, ''), 'hex'));

describe('sha256', () => {
  it.each([
    { input: '', digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    { input: 'abc', digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
    {
      input: 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    },
  ])('matches the FIPS 180-4 example for "$input"', ({ input, digest }) => {
    const bytes = new TextEncoder().encode(input);
    expect(Buffer.from(sha256(bytes)).toString('hex')).toBe(digest);
  });

  it('matches node:crypto across every padding boundary', () => {
    for (let length = 0; length < 300; length += 1) {
      const data = Uint8Array.from({ length }, (_, index) => (index * 7 + length) % 256);
      expect(Buffer.from(sha256(data)).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('hashes only the viewed bytes of a subarray', () => {
    const backing = new TextEncoder().encode('xxabcxx');
    expect(sha256(backing.subarray(2, 5))).toEqual(sha256(new TextEncoder().encode('abc')));
  });
});

describe('DER reader', () => {
  it.each([
    { name: 'short form', der: '04 02 aa bb', contentStart: 2, end: 4 },
    { name: 'long form, one length byte', der: `04 81 80 ${'00'.repeat(128)}`, contentStart: 3, end: 131 },
    {
      name: 'long form, two length bytes',
      der: `04 82 01 00 ${'00'.repeat(256)}`,
      contentStart: 4,
      end: 260,
    },
  ])('reads lengths in $name', ({ der, contentStart, end }) => {
    expect(readElement(hex(der))).toEqual({ tag: 0x04, start: 0, contentStart, end });
  });

  it.each([
    { name: 'an indefinite length', der: '30 80 00 00', message: /indefinite/ },
    { name: 'a content longer than the input', der: '04 05 aa', message: /longer than its container/ },
    { name: 'a header cut short', der: '30', message: /truncated/ },
    { name: 'a multi-byte tag', der: '1f 81 00 00', message: /multi-byte tags/ },
  ])('rejects $name', ({ der, message }) => {
    let thrown: unknown;
    try {
      readElement(hex(der));
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'pki-invalid')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });

  it.each([
    { der: '2a 86 48 ce 3d 03 01 07', oid: '1.2.840.10045.3.1.7' },
    { der: '2b 81 04 00 22', oid: '1.3.132.0.34' },
    { der: '2a 86 48 86 f7 0d 01 01 01', oid: '1.2.840.113549.1.1.1' },
    { der: '55 1d 23', oid: '2.5.29.35' },
  ])('decodes OID $oid', ({ der, oid }) => {
    expect(decodeOid(hex(der))).toBe(oid);
  });

  it.each([
    { content: '00 80', bits: 8 },
    { content: '00 ff ff', bits: 16 },
    { content: '01 00', bits: 9 },
    { content: '00', bits: 0 },
  ])('counts $bits significant bits in INTEGER $content', ({ content, bits }) => {
    expect(unsignedBitLength(hex(content))).toBe(bits);
  });
});
