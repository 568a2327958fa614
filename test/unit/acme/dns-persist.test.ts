import { describe, expect, it } from 'vitest';
import {
  type Authorization,
  chooseChallenge,
  dnsPersistRecordName,
  dnsPersistValue,
  issuerOfValue,
  persistRecordReason,
} from '../../../functions/core/acme';
import { hasCode } from '../../../functions/core/errors';

const ACCOUNT = 'https://ca.example/acme/acct/42';
const UNTIL = new Date('2027-06-01T00:00:00Z');

describe('dnsPersistValue (draft-ietf-acme-dns-persist §3.2)', () => {
  it.each([
    [
      'apex only: issuer, accounturi, persistUntil in seconds',
      { issuerDomainName: 'ca.example', accountUrl: ACCOUNT, wildcard: false, persistUntil: UNTIL },
      `ca.example; accounturi=${ACCOUNT}; persistUntil=1811808000`,
    ],
    [
      'with a wildcard: policy=wildcard',
      { issuerDomainName: 'ca.example', accountUrl: ACCOUNT, wildcard: true, persistUntil: UNTIL },
      `ca.example; accounturi=${ACCOUNT}; policy=wildcard; persistUntil=1811808000`,
    ],
    [
      'sub-second persistUntil rounds down',
      {
        issuerDomainName: 'ca.example',
        accountUrl: ACCOUNT,
        wildcard: false,
        persistUntil: new Date(1_811_808_000_999),
      },
      `ca.example; accounturi=${ACCOUNT}; persistUntil=1811808000`,
    ],
  ])('%s', (_name, input, expected) => {
    expect(dnsPersistValue(input)).toBe(expected);
    expect(issuerOfValue(expected)).toBe('ca.example');
  });

  it.each([
    ['example.com', '_validation-persist.example.com'],
    ['*.example.com', '_validation-persist.example.com'],
    ['WWW.Example.COM.', '_validation-persist.www.example.com'],
  ])('%s → %s', (domain, name) => {
    expect(dnsPersistRecordName(domain)).toBe(name);
  });
});

const authz = (challenges: Authorization['challenges']): Authorization => ({
  identifier: { type: 'dns', value: 'example.com' },
  status: 'pending',
  challenges,
});
const dns01 = {
  type: 'dns-01',
  url: 'https://ca.example/chall/1',
  status: 'pending' as const,
  token: 'tok_en-1',
};
const persist = (names: unknown) => ({
  type: 'dns-persist-01',
  url: 'https://ca.example/chall/2',
  status: 'pending' as const,
  'issuer-domain-names': names,
});

describe('chooseChallenge', () => {
  it.each([
    [
      'dns-01 asked: dns-01, no fallback',
      [dns01, persist(['ca.example'])],
      'dns-01',
      'dns-01',
      undefined,
      undefined,
    ],
    [
      'dns-persist-01 asked and offered',
      [dns01, persist(['ca.example'])],
      'dns-persist-01',
      'dns-persist-01',
      'ca.example',
      undefined,
    ],
    [
      'first usable issuer name, lower-cased',
      [persist(['not a name', 'CA.Example'])],
      'dns-persist-01',
      'dns-persist-01',
      'ca.example',
      undefined,
    ],
    [
      'not offered: dns-01 with the reason',
      [dns01],
      'dns-persist-01',
      'dns-01',
      undefined,
      'the CA offers no dns-persist-01 challenge for example.com',
    ],
    [
      'no usable issuer name: dns-01 with the reason',
      [dns01, persist([])],
      'dns-persist-01',
      'dns-01',
      undefined,
      "the CA's dns-persist-01 challenge for example.com names no usable issuer-domain-names",
    ],
  ] as const)('%s', (_name, challenges, wanted, type, issuer, fallback) => {
    const choice = chooseChallenge(authz([...challenges]), wanted);
    expect(choice.type).toBe(type);
    if (choice.type === 'dns-persist-01') expect(choice.issuerDomainName).toBe(issuer);
    else expect(choice.fallback).toBe(fallback);
  });

  it.each([
    ['neither offered', [], true],
    ['dns-persist-01 missing and the fallback is off', [dns01], false],
  ] as const)('%s: acme-protocol', (_name, challenges, fallback) => {
    let caught: unknown;
    try {
      chooseChallenge(authz([...challenges]), 'dns-persist-01', fallback);
    } catch (error) {
      caught = error;
    }
    expect(hasCode(caught, 'acme-protocol')).toBe(true);
  });
});

describe('persistRecordReason', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const margin = 10 * 86_400_000;
  const written = {
    issuerDomainName: 'ca.example',
    accountUrl: ACCOUNT,
    wildcard: false,
    persistUntil: UNTIL,
  };
  const wanted = { issuerDomainName: 'ca.example', accountUrl: ACCOUNT, wildcard: false };
  it.each([
    ['nothing written', undefined, wanted, 'missing'],
    ['same account, far from persistUntil', written, wanted, 'current'],
    [
      'a new account after a key change',
      written,
      { ...wanted, accountUrl: `${ACCOUNT}0` },
      'account-changed',
    ],
    ['a wildcard is ordered now', written, { ...wanted, wildcard: true }, 'wildcard-added'],
    ['an apex-only order keeps a wildcard record', { ...written, wildcard: true }, wanted, 'current'],
    [
      'within the margin of persistUntil',
      { ...written, persistUntil: new Date(now.getTime() + margin) },
      wanted,
      'expiring',
    ],
    ['past persistUntil', { ...written, persistUntil: new Date(now.getTime() - 1) }, wanted, 'expiring'],
  ] as const)('%s → %s', (_name, w, want, reason) => {
    expect(persistRecordReason(w, want, now, margin)).toBe(reason);
  });
});
