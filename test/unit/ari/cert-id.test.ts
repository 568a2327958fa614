import { describe, expect, it } from 'vitest';
import { certId } from '../../../functions/core/ari';
import { AcmeAwsError, hasCode } from '../../../functions/core/errors';

const hex = (value: string) => new Uint8Array(Buffer.from(value.replace(/[^0-9a-f]/gi, ''), 'hex'));

describe('certId', () => {
  it.each([
    {
      name: 'RFC 9773 §4.1 example (serial keeps its leading zero byte)',
      aki: '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4',
      serial: '00:87:65:43:21',
      expected: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    },
    {
      name: 'one-byte serial (two padding characters stripped)',
      aki: '01 02 03',
      serial: '01',
      expected: 'AQID.AQ',
    },
    {
      name: 'two-byte parts (one padding character stripped)',
      aki: '0102',
      serial: '7fff',
      expected: 'AQI.f_8',
    },
    { name: 'uses the URL-safe alphabet, not + and /', aki: 'fbff', serial: '3e3f', expected: '-_8.Pj8' },
    {
      name: 'a 16-byte serial with the high bit clear has no leading zero',
      aki: '14 2e b3 17 b7 58 56 cb ae 50 09 40 e6 1f af 9d 8b 14 c2 c6',
      serial: '03 ad 1d 4b 3f 2e 91 76 a9 9c 1f 1b 93 6e 52 c9',
      expected: 'FC6zF7dYVsuuUAlA5h-vnYsUwsY.A60dSz8ukXapnB8bk25SyQ',
    },
  ])('$name', ({ aki, serial, expected }) => {
    expect(certId({ authorityKeyId: hex(aki), serialDer: hex(serial) })).toBe(expected);
  });

  it('encodes only the viewed bytes of a subarray', () => {
    const backing = hex('ff ff 69885b6b87464041e1b37b847ba0ae2cde01c8d4 0087654321 ff');
    const id = certId({ authorityKeyId: backing.subarray(2, 22), serialDer: backing.subarray(22, 27) });
    expect(id).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it.each([
    {
      name: 'empty AKI',
      authorityKeyId: new Uint8Array(),
      serialDer: hex('01'),
      message: /Authority Key Identifier/,
    },
    {
      name: 'missing AKI',
      authorityKeyId: undefined as unknown as Uint8Array,
      serialDer: hex('01'),
      message: /Authority Key Identifier/,
    },
    { name: 'empty serial', authorityKeyId: hex('0102'), serialDer: new Uint8Array(), message: /serial/ },
  ])('refuses a certificate with $name', ({ authorityKeyId, serialDer, message }) => {
    let thrown: unknown;
    try {
      certId({ authorityKeyId, serialDer });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AcmeAwsError);
    expect(hasCode(thrown, 'ari-invalid')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });
});
