import { describe, expect, it } from 'vitest';
import { renderStatus, statusRow } from '../../../functions/cli/status-report';
import type { CertificateState } from '../../../functions/core/renewal/state';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const base: CertificateState = {
  version: 1,
  id: 'web',
  current: {
    serial: '0a1b',
    notBefore: '2026-02-01T00:00:00.000Z',
    notAfter: '2026-05-02T00:00:00.000Z',
    domains: ['example.test', '*.example.test'],
    keyType: 'ec-p256',
    issuer: 'CN=Pebble Intermediate CA 1a2b3c,O=Pebble',
    directoryUrl: 'https://ca.test/dir',
    accountUrl: 'https://ca.test/acct/1',
    issuedAt: '2026-02-01T00:00:00.000Z',
  },
  acm: {},
  retiredAcmArns: [],
  failures: 0,
  lastResult: 'renewed',
  lastReason: 'ari-window',
};

describe('status shows how a certificate was validated (dns-persist-01, issue 14)', () => {
  it('dns-persist-01 with its record: the method in the table, the record under it', () => {
    const row = statusRow(
      'web',
      ['example.test'],
      {
        ...base,
        validation: { methods: ['dns-persist-01'], fallbacks: [], at: '2026-02-01T00:00:00.000Z' },
        dnsPersist: [
          {
            domain: 'example.test',
            name: '_validation-persist.example.test',
            issuerDomainName: 'ca.test',
            accountUrl: 'https://ca.test/acct/1',
            wildcard: true,
            persistUntil: '2027-02-01T00:00:00.000Z',
            writtenAt: '2026-02-01T00:00:00.000Z',
          },
        ],
      },
      NOW,
    );
    expect(row.validation).toEqual({ methods: ['dns-persist-01'], fallbacks: [] });
    const text = renderStatus({ generatedAt: NOW.toISOString(), certificates: [row], problems: [] });
    expect(text).toMatch(/renewed \(ari-window\)[\s\S]*via dns-persist-01/);
    expect(text).toContain(
      'web: _validation-persist.example.test binds https://ca.test/acct/1 until 2027-02-01 00:00 (dns-persist-01)',
    );
  });

  it('a fallback to dns-01 says why', () => {
    const why = 'the CA offers no dns-persist-01 challenge for example.test';
    const row = statusRow(
      'web',
      ['example.test'],
      { ...base, validation: { methods: ['dns-01'], fallbacks: [why], at: '2026-02-01T00:00:00.000Z' } },
      NOW,
    );
    const text = renderStatus({ generatedAt: NOW.toISOString(), certificates: [row], problems: [] });
    expect(text).toContain('via dns-01');
    expect(text).toContain(`web: dns-01 stood in for dns-persist-01: ${why}`);
    expect(statusRow('web', [], base, NOW)).not.toHaveProperty('validation');
  });
});
