import { describe, expect, it } from 'vitest';
import {
  type CaaRecord,
  evaluateCaa,
  findRelevantCaa,
  parseIssueValue,
} from '../../../functions/core/doctor/caa';

const LE = ['letsencrypt.org'];
const ACCOUNT = 'https://acme-v02.api.letsencrypt.org/acme/acct/123';
const issue = (value: string, flags = 0): CaaRecord => ({ flags, tag: 'issue', value });
const wild = (value: string): CaaRecord => ({ flags: 0, tag: 'issuewild', value });

describe('findRelevantCaa (RFC 8659 §3 tree climbing)', () => {
  const zone: Record<string, CaaRecord[]> = {
    'example.com': [issue('letsencrypt.org')],
    'sub.example.com': [issue('pki.goog')],
  };
  it.each([
    ['www.example.com', 'example.com'],
    ['a.b.sub.example.com', 'sub.example.com'],
    ['*.sub.example.com', 'sub.example.com'],
    ['example.com', 'example.com'],
    ['other.org', undefined],
  ])('%s finds its relevant RRset at %s', async (name, foundAt) => {
    const asked: string[] = [];
    const relevant = await findRelevantCaa(name, async (n) => {
      asked.push(n);
      return zone[n] ?? [];
    });
    expect(relevant.foundAt).toBe(foundAt);
    // It stops at the first non-empty RRset and never asks the root.
    expect(asked.at(-1)).toBe(foundAt ?? name.split('.').at(-1));
  });
});

describe('parseIssueValue (RFC 8659 §4.2 grammar)', () => {
  it.each([
    ['letsencrypt.org', { issuer: 'letsencrypt.org', parameters: [] }],
    [
      ' LetsEncrypt.org ; validationmethods=dns-01 ',
      { issuer: 'letsencrypt.org', parameters: [['validationmethods', 'dns-01']] },
    ],
    [';', { issuer: '', parameters: [] }],
    [
      'ca.test; accounturi = https://ca.test/a/1; validationmethods=dns-01,http-01',
      {
        issuer: 'ca.test',
        parameters: [
          ['accounturi', 'https://ca.test/a/1'],
          ['validationmethods', 'dns-01,http-01'],
        ],
      },
    ],
    ['not a domain', undefined],
    ['ca.test; novalue', undefined],
  ])('%j parses to %j', (raw, expected) => {
    expect(parseIssueValue(raw)).toEqual(expected);
  });
});

describe('evaluateCaa', () => {
  it.each<[string, string, CaaRecord[], string | undefined, string, string]>([
    ['no CAA anywhere', 'example.com', [], undefined, 'ok', 'no-caa'],
    [
      'only iodef',
      'example.com',
      [{ flags: 0, tag: 'iodef', value: 'mailto:x@example.com' }],
      undefined,
      'ok',
      'not-restricted',
    ],
    ['issue names the CA', 'example.com', [issue('letsencrypt.org')], undefined, 'ok', 'allowed'],
    ['issue names another CA', 'example.com', [issue('sectigo.com')], undefined, 'fail', 'issuer-not-listed'],
    ['issue ";" forbids every CA', 'example.com', [issue(';')], undefined, 'fail', 'issuance-forbidden'],
    [
      'one of two issue records names the CA',
      'example.com',
      [issue('pki.goog'), issue('letsencrypt.org')],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'tags match case-insensitively',
      'example.com',
      [{ flags: 0, tag: 'ISSUE', value: 'letsencrypt.org' }],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'critical unknown tag',
      'example.com',
      [issue('letsencrypt.org'), { flags: 128, tag: 'tbs', value: 'x' }],
      undefined,
      'fail',
      'critical-unknown',
    ],
    [
      'non-critical unknown tag is ignored',
      'example.com',
      [issue('letsencrypt.org'), { flags: 0, tag: 'tbs', value: 'x' }],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'critical issue is understood',
      'example.com',
      [issue('letsencrypt.org', 128)],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'issuewild ignored for a non-wildcard',
      'example.com',
      [issue('letsencrypt.org'), wild(';')],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'issuewild wins for a wildcard',
      '*.example.com',
      [issue('letsencrypt.org'), wild('sectigo.com')],
      undefined,
      'fail',
      'issuer-not-listed',
    ],
    [
      'issuewild allows a wildcard that issue forbids',
      '*.example.com',
      [issue(';'), wild('letsencrypt.org')],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'issue applies to a wildcard without issuewild',
      '*.example.com',
      [issue('letsencrypt.org')],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'only issuewild: a non-wildcard is not restricted',
      'example.com',
      [wild('sectigo.com')],
      undefined,
      'ok',
      'not-restricted',
    ],
    [
      'validationmethods lists dns-01',
      'example.com',
      [issue('letsencrypt.org; validationmethods=http-01,dns-01')],
      undefined,
      'ok',
      'allowed',
    ],
    [
      'validationmethods http-01 only',
      'example.com',
      [issue('letsencrypt.org; validationmethods=http-01')],
      undefined,
      'fail',
      'method-not-allowed',
    ],
    [
      'accounturi is ours',
      'example.com',
      [issue(`letsencrypt.org; accounturi=${ACCOUNT}`)],
      ACCOUNT,
      'ok',
      'allowed',
    ],
    [
      'accounturi is another account',
      'example.com',
      [issue('letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/9')],
      ACCOUNT,
      'fail',
      'account-not-allowed',
    ],
    [
      'accounturi with no account yet',
      'example.com',
      [issue(`letsencrypt.org; accounturi=${ACCOUNT}`)],
      undefined,
      'warn',
      'account-unknown',
    ],
    [
      'accounturi given twice is unsatisfiable',
      'example.com',
      [issue(`letsencrypt.org; accounturi=${ACCOUNT}; accounturi=${ACCOUNT}`)],
      ACCOUNT,
      'fail',
      'malformed',
    ],
    [
      'one record for another account, one for ours',
      'example.com',
      [
        issue('letsencrypt.org; accounturi=https://x.test/1; validationmethods=dns-01'),
        issue(`letsencrypt.org; accounturi=${ACCOUNT}; validationmethods=dns-01`),
      ],
      ACCOUNT,
      'ok',
      'allowed',
    ],
  ])('%s', (_, domain, records, accountUri, status, reason) => {
    const verdict = evaluateCaa(
      { foundAt: 'example.com', records },
      { domain, identities: LE, ...(accountUri ? { accountUri } : {}), method: 'dns-01' },
    );
    expect({ status: verdict.status, reason: verdict.reason }).toEqual({ status, reason });
    if (status !== 'ok') expect(verdict.fix ?? '').not.toBe('');
  });

  it('a CA with unknown CAA identity is a warning that says how to name it', () => {
    const verdict = evaluateCaa(
      { foundAt: 'example.com', records: [issue('letsencrypt.org')] },
      { domain: 'example.com', identities: undefined },
    );
    expect(verdict).toMatchObject({ status: 'warn', reason: 'issuer-unknown' });
    expect(verdict.message).toContain('cannot check');
    expect(verdict.fix).toContain('--caa-identity');
  });

  it('the fix for a forbidding record is a record that allows this CA, method and account', () => {
    const verdict = evaluateCaa(
      { foundAt: 'example.com', records: [issue('sectigo.com')] },
      { domain: 'www.example.com', identities: LE, accountUri: ACCOUNT },
    );
    expect(verdict.fix).toBe(
      `add example.com. CAA 0 issue "letsencrypt.org; validationmethods=dns-01; accounturi=${ACCOUNT}"`,
    );
  });
});
