import { describe, expect, it } from 'vitest';
import {
  checkDelegation,
  checkNameServers,
  type ManagedZone,
} from '../../../functions/core/doctor/delegation';

const zones: ManagedZone[] = [
  { id: 'ZEXAMPLE', name: 'example.com', private: false },
  { id: 'ZSUB', name: 'sub.example.com', private: false },
  { id: 'ZACME', name: 'acme.example.net', private: false },
  { id: 'ZPRIV', name: 'internal.test', private: true },
];

describe('checkDelegation', () => {
  it.each<[string, string[], 'resolved' | 'loop' | 'too-long', string, string | undefined]>([
    ['no CNAME, in a zone', ['_acme-challenge.www.example.com'], 'resolved', 'ok', 'ZEXAMPLE'],
    ['longest zone wins', ['_acme-challenge.a.sub.example.com'], 'resolved', 'ok', 'ZSUB'],
    [
      'CNAME into a managed zone',
      ['_acme-challenge.shop.org', 'shop.acme.example.net'],
      'resolved',
      'ok',
      'ZACME',
    ],
    [
      'CNAME out of every managed zone',
      ['_acme-challenge.www.example.com', 'x.elsewhere.test'],
      'resolved',
      'fail',
      undefined,
    ],
    ['no zone at all', ['_acme-challenge.shop.org'], 'resolved', 'fail', undefined],
    ['private zone', ['_acme-challenge.app.internal.test'], 'resolved', 'fail', 'ZPRIV'],
    [
      'loop',
      ['_acme-challenge.a.example.com', 'b.example.com', '_acme-challenge.a.example.com'],
      'loop',
      'fail',
      undefined,
    ],
    [
      'too long',
      [
        '_acme-challenge.a.example.com',
        '1.example.com',
        '2.example.com',
        '3.example.com',
        '4.example.com',
        '5.example.com',
        '6.example.com',
      ],
      'too-long',
      'fail',
      undefined,
    ],
  ])('%s', (_, names, end, status, zoneId) => {
    const { check, zone } = checkDelegation({ names, end }, zones);
    expect(check.status).toBe(status);
    expect(zone?.id).toBe(zoneId);
    if (status === 'fail') expect(check.fix).toBeTruthy();
  });
});

describe('checkNameServers', () => {
  const zone = zones[0]!;
  const assigned = ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.com'];
  it.each([
    ['same set, other case and trailing dots', ['NS-2.awsdns-02.com.', 'ns-1.awsdns-01.org'], 'ok'],
    ['delegated elsewhere', ['ns1.other-dns.test', 'ns2.other-dns.test'], 'fail'],
    ['not delegated at all', [], 'fail'],
    ['one missing', ['ns-1.awsdns-01.org'], 'warn'],
    ['one foreign added', [...assigned, 'ns1.other-dns.test'], 'warn'],
  ])('%s', (_, published, status) => {
    const check = checkNameServers(zone, published, assigned);
    expect(check.status).toBe(status);
    if (status !== 'ok') expect(check.fix).toContain('ns-1.awsdns-01.org ns-2.awsdns-02.com');
  });
});
