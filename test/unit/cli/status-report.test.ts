import { describe, expect, it } from 'vitest';
import { commonName, renderStatus, type StatusReport, statusRow } from '../../../functions/cli/status-report';
import type { CertificateState } from '../../../functions/core/renewal/state';

const NOW = new Date('2026-03-01T00:00:00.000Z');

const issued: CertificateState = {
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
    certId: 'aaaa.bbbb',
    issuedAt: '2026-02-01T00:00:00.000Z',
  },
  ari: {
    certId: 'aaaa.bbbb',
    windowStart: '2026-04-01T00:00:00.000Z',
    windowEnd: '2026-04-03T00:00:00.000Z',
    selectedTime: '2026-04-02T07:30:00.000Z',
    nextCheckAt: '2026-03-01T06:00:00.000Z',
    checkedAt: '2026-03-01T00:00:00.000Z',
  },
  acm: {
    'us-east-1': {
      arn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      serial: '0a1b',
      keyType: 'ec-p256',
    },
  },
  retiredAcmArns: [],
  failures: 0,
  lastResult: 'renewed',
  lastReason: 'new',
};

describe('statusRow', () => {
  it.each([
    [
      'nothing issued yet',
      undefined,
      { issuer: undefined, daysLeft: undefined, ari: undefined, failures: 0, acm: {} },
    ],
    [
      'an issued certificate with ARI',
      issued,
      {
        issuer: 'Pebble Intermediate CA 1a2b3c',
        serial: '0a1b',
        daysLeft: 62,
        ari: {
          windowStart: '2026-04-01T00:00:00.000Z',
          windowEnd: '2026-04-03T00:00:00.000Z',
          selectedTime: '2026-04-02T07:30:00.000Z',
        },
        nextCheckAt: '2026-03-01T06:00:00.000Z',
        nextCheckFrom: 'state',
        lastResult: 'renewed',
        acm: { 'us-east-1': issued.acm['us-east-1']!.arn },
      },
    ],
    [
      'ARI of a predecessor (another certID) is not shown as this certificate’s window',
      { ...issued, ari: { ...issued.ari!, certId: 'old.cert' } },
      { ari: undefined, nextCheckAt: undefined, nextCheckFrom: undefined },
    ],
    [
      'a failed renewal keeps the problem and the failure count',
      {
        ...issued,
        failures: 2,
        lastResult: 'failed' as const,
        lastError: 'AcmeProblemError: ACME POST failed',
        lastProblem: {
          type: 'urn:ietf:params:acme:error:unauthorized',
          detail: 'no TXT record',
          status: 403,
        },
      },
      { failures: 2, lastResult: 'failed', lastProblem: { detail: 'no TXT record', status: 403 } },
    ],
  ])('%s', (_what, state, expected) => {
    expect(statusRow('web', ['example.test', '*.example.test'], state, NOW)).toMatchObject(expected);
  });

  it('reports days left with two decimals, negative once expired', () => {
    const late = new Date('2026-05-02T12:00:00.000Z');
    expect(statusRow('web', [], issued, late).daysLeft).toBe(-0.5);
  });
});

describe('commonName', () => {
  it.each([
    ['CN=Pebble Intermediate CA 1a2b3c', 'Pebble Intermediate CA 1a2b3c'],
    ["C=US,O=Let's Encrypt,CN=R11", 'R11'],
    ['CN=Example\\, Inc. CA,O=Example', 'Example\\, Inc. CA'],
    ['O=No Common Name', 'O=No Common Name'],
  ])('%s → %s', (dn, cn) => {
    expect(commonName(dn)).toBe(cn);
  });
});

describe('renderStatus', () => {
  const report: StatusReport = {
    generatedAt: NOW.toISOString(),
    certificates: [
      { ...statusRow('web', ['example.test', '*.example.test'], issued, NOW), replaced: 'prev.certid' },
      statusRow('new-one', ['new.test'], undefined, NOW),
      statusRow(
        'broken',
        ['broken.test'],
        {
          ...issued,
          failures: 1,
          lastResult: 'failed',
          lastError: 'AcmeProblemError: …',
          lastProblem: { detail: 'No TXT record found at _acme-challenge.broken.test' },
        },
        NOW,
      ),
    ],
    problems: [{ path: 'certificates[3].keyType', message: 'must be one of ec-p256, rsa-2048' }],
  };
  const text = renderStatus(report);

  it('shows expiry with days left, the ARI window, the selected time and short ACM ARNs', () => {
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^CERTIFICATE\s+NAMES\s+ISSUER\s+EXPIRES \(UTC\)\s+ARI WINDOW \(UTC\)\s+RENEW AT\s+NEXT ARI CHECK\s+LAST RESULT\s+ACM$/,
    );
    expect(lines[2]).toMatch(
      /^web\s+example\.test\s+Pebble Intermediate CA 1a2b3c\s+2026-05-02 00:00\s+2026-04-01 00:00 –\s+2026-04-02 07:30\s+2026-03-01 06:00\s+renewed \(new\)\s+us-east-1 11111111…$/,
    );
    // Without a schedule index the next check is the state document's, and marked so.
    expect(lines[3]).toMatch(
      /^\s+\*\.example\.test\s+\(62\.0 days\)\s+2026-04-03 00:00\s+\(state\)\s+replaces prev\.certid…$/,
    );
  });

  it('marks certificates never issued, and explains failures and inventory problems under the table', () => {
    expect(text).toMatch(/new-one\s+new\.test\s+not issued\s+not issued yet/);
    expect(text).toMatch(/broken\s+.*failed \(new\)/);
    expect(text).toContain('\n\nbroken: No TXT record found at _acme-challenge.broken.test\n');
    expect(text).toContain('inventory certificates[3].keyType: must be one of ec-p256, rsa-2048');
  });
});

describe('status shows what the renewer recorded about a dropped profile and an abandoned order (issue 11)', () => {
  const note = 'profile "shortlived" is not advertised by the CA (default); ordered without it';
  const state: CertificateState = {
    ...issued,
    profileNote: note,
    abandonedOrder: {
      url: 'https://ca.test/o/1',
      abandonedAt: '2026-02-28T10:00:00.000Z',
      failedAttempts: 3,
      lastError: 'verification failed',
    },
  };
  const row = statusRow('web', ['example.test'], state, NOW);

  it('in the row (and so in --json)', () => {
    expect(row).toMatchObject({
      profileNote: note,
      abandonedOrder: { url: 'https://ca.test/o/1', at: '2026-02-28T10:00:00.000Z', failedAttempts: 3 },
    });
    expect(statusRow('web', [], issued, NOW)).not.toHaveProperty('profileNote');
  });

  it('in the table and the notes under it', () => {
    const text = renderStatus({ generatedAt: NOW.toISOString(), certificates: [row], problems: [] });
    expect(text).toMatch(/renewed \(new\)[\s\S]*profile dropped/);
    expect(text).toContain(`\n\nweb: ${note}\n`);
    expect(text).toContain(
      'web: abandoned the order https://ca.test/o/1 at 2026-02-28 10:00 after 3 failed attempts',
    );
  });
});
