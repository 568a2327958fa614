import { describe, expect, it } from 'vitest';
import {
  type DnsMessage,
  DnsRcode,
  DnsType,
  decodeDnsMessage,
  encodeDnsMessage,
  parseRoute53Txt,
} from '../../../testbed/route53-dns-responder';

const base: DnsMessage = {
  id: 0xbeef,
  response: false,
  opcode: 0,
  authoritative: false,
  truncated: false,
  recursionDesired: true,
  recursionAvailable: false,
  rcode: 0,
  questions: [{ name: '_acme-challenge.example.com', type: DnsType.TXT, class: 1 }],
  answers: [],
  authorities: [],
  additionals: [],
};

describe('DNS message encoding (RFC 1035 §4)', () => {
  it('encodes a query byte for byte as RFC 1035 lays it out', () => {
    const wire = encodeDnsMessage({ ...base, questions: [{ name: 'a.bc', type: DnsType.TXT, class: 1 }] });
    expect(wire.toString('hex')).toBe(
      // id, flags RD, 1 question, no records; then 1"a" 2"bc" 0, type 16, class 1.
      'beef' + '0100' + '0001' + '0000' + '0000' + '0000' + '0161' + '026263' + '00' + '0010' + '0001',
    );
  });

  it('round-trips a response with TXT, CNAME and raw records and every header flag', () => {
    const message: DnsMessage = {
      ...base,
      response: true,
      authoritative: true,
      truncated: true,
      recursionAvailable: true,
      rcode: DnsRcode.NXDOMAIN,
      answers: [
        {
          name: '_acme-challenge.example.com',
          type: DnsType.CNAME,
          class: 1,
          ttl: 300,
          data: 'target.example.net',
        },
        { name: 'target.example.net', type: DnsType.TXT, class: 1, ttl: 60, data: ['one', 'two', ''] },
      ],
      authorities: [],
      additionals: [{ name: '', type: DnsType.OPT, class: 1232, ttl: 0, data: new Uint8Array([]) }],
    };
    expect(decodeDnsMessage(encodeDnsMessage(message))).toEqual(message);
  });

  it('decodes compressed names (pointers back into the message)', () => {
    // Answer owner is a pointer (0xc00c) to the question name at offset 12.
    const question = Buffer.from('076578616d706c6503636f6d00' + '0010' + '0001', 'hex');
    const answer = Buffer.from('c00c' + '0010' + '0001' + '0000003c' + '0004' + '03616263', 'hex');
    const header = Buffer.from('0001' + '8400' + '0001' + '0001' + '0000' + '0000', 'hex');
    const decoded = decodeDnsMessage(Buffer.concat([header, question, answer]));
    expect(decoded.answers).toEqual([
      { name: 'example.com', type: DnsType.TXT, class: 1, ttl: 60, data: ['abc'] },
    ]);
  });

  it.each([
    ['a short header', '0001'],
    ['a label past the end', '0001010000010000000000000' + '5616263'],
    ['a pointer loop', '000101000001000000000000' + 'c00c' + '00100001'],
  ])('rejects %s', (_, hex) => {
    expect(() => decodeDnsMessage(Buffer.from(hex, 'hex'))).toThrow();
  });

  it('refuses to encode a TXT string longer than 255 octets', () => {
    const record = { name: 'x.test', type: DnsType.TXT, class: 1, ttl: 1, data: ['a'.repeat(256)] };
    expect(() => encodeDnsMessage({ ...base, answers: [record] })).toThrow(/255/);
  });
});

describe('parseRoute53Txt', () => {
  it.each([
    ['"abc"', ['abc']],
    ['"abc" "def"', ['abc', 'def']],
    ['"say \\"hi\\""', ['say "hi"']],
    ['"back\\\\slash"', ['back\\slash']],
    ['"octal\\065"', ['octal5']],
    ['bare', ['bare']],
  ])('%s → %j', (value, expected) => {
    expect(parseRoute53Txt(value)).toEqual(expected);
  });
});
