import { describe, expect, it } from 'vitest';
import {
  type CertificateState,
  certificateStateSchema,
  emptyState,
  keepRenewerFields,
  sameRenewerFields,
  sameState,
  sameStateButAriTiming,
} from '../../../functions/core/renewal/state';

const withPending = (pendingOrder: unknown) => ({
  ...emptyState('shop'),
  pendingOrder: {
    url: 'https://ca.test/o/1',
    createdAt: '2025-04-01T12:00:00.000Z',
    ...(pendingOrder as object),
  },
});

describe('the state document: pendingOrder parsed, not trusted', () => {
  it('a DNS handle as the Route 53 adapter writes it is read back as written', () => {
    const dnsHandle = {
      changes: [
        {
          zoneId: 'Z1',
          roleArn: 'arn:aws:iam::1:role/dns',
          name: '_acme-challenge.example.test',
          values: ['a', 'b'],
        },
      ],
    };
    const parsed = certificateStateSchema.parse(withPending({ dnsHandle }));
    expect(parsed.pendingOrder?.dnsHandle).toEqual(dnsHandle);
  });

  it.each([
    ['not an object', 'records'],
    ['changes missing', {}],
    ['a change without a zone', { changes: [{ name: '_acme-challenge.x', values: ['a'] }] }],
    ['values that are not strings', { changes: [{ zoneId: 'Z1', name: 'x', values: [1] }] }],
  ])('a DNS handle that is %s is rejected with the state', (_, dnsHandle) => {
    const parsed = certificateStateSchema.safeParse(withPending({ dnsHandle }));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.slice(0, 2)).toEqual(['pendingOrder', 'dnsHandle']);
  });

  it('an order recorded before its reason and attempts were reads as 0 attempts, reason unknown', () => {
    const parsed = certificateStateSchema.parse(withPending({}));
    expect(parsed.pendingOrder).toEqual({
      url: 'https://ca.test/o/1',
      createdAt: '2025-04-01T12:00:00.000Z',
      failedAttempts: 0,
    });
  });

  it('an unknown reason is rejected', () => {
    expect(certificateStateSchema.safeParse(withPending({ reason: 'whim' })).success).toBe(false);
  });
});

describe('comparing and merging state documents', () => {
  const base: CertificateState = { ...emptyState('shop'), failures: 1, lastError: 'x' };

  it('documents that read back the same are the same, whatever their key order or undefined fields', () => {
    expect(sameState(base, { lastError: 'x', ...emptyState('shop'), failures: 1, ariError: undefined })).toBe(
      true,
    );
    expect(sameState(base, { ...base, failures: 2 })).toBe(false);
  });

  it('a refresh that only moves when ARI was asked and is asked next is not a change worth a write', () => {
    const ari = {
      certId: 'c1',
      windowStart: '2025-04-11T00:00:00.000Z',
      windowEnd: '2025-04-13T00:00:00.000Z',
      selectedTime: '2025-04-12T00:00:00.000Z',
      nextCheckAt: '2025-04-01T12:00:00.000Z',
      checkedAt: '2025-04-01T06:00:00.000Z',
    };
    const asked = { ...ari, nextCheckAt: '2025-04-01T18:00:00.000Z', checkedAt: '2025-04-01T12:00:00.000Z' };
    expect(sameStateButAriTiming({ ...base, ari }, { ...base, ari: asked })).toBe(true);
    expect(sameStateButAriTiming(base, { ...base })).toBe(true);
    expect(sameStateButAriTiming(base, { ...base, ari })).toBe(false);
    expect(
      sameStateButAriTiming({ ...base, ari }, { ...base, ari: { ...asked, windowEnd: ari.windowStart } }),
    ).toBe(false);
    expect(
      sameStateButAriTiming({ ...base, ari }, { ...base, ari: { ...asked, selectedTime: ari.windowEnd } }),
    ).toBe(false);
    expect(
      sameStateButAriTiming({ ...base, ari }, { ...base, ari: asked, ariError: 'renewalInfo 503' }),
    ).toBe(false);
  });

  it('the ARI fields are the scheduler’s: they do not count as a renewer change', () => {
    expect(sameRenewerFields(base, { ...base, ariError: 'renewalInfo 503' })).toBe(true);
    expect(sameRenewerFields(base, { ...base, lastError: 'y' })).toBe(false);
  });

  it('keepRenewerFields takes the other ARI fields only for the same current certificate', () => {
    const holding = (certId: string): CertificateState => ({
      ...base,
      current: {
        serial: certId,
        notBefore: '2025-03-01T00:00:00.000Z',
        notAfter: '2025-05-30T00:00:00.000Z',
        domains: ['example.test'],
        keyType: 'ec-p256',
        issuer: 'CN=Test',
        directoryUrl: 'https://ca.test/dir',
        accountUrl: 'https://ca.test/acct/1',
        certId,
        issuedAt: '2025-03-01T00:00:00.000Z',
      },
    });
    const theirs = { ...holding('aki.01'), ariError: 'theirs' };
    expect(keepRenewerFields({ ...holding('aki.01'), failures: 5 }, theirs)).toMatchObject({
      failures: 5,
      ariError: 'theirs',
    });
    expect(keepRenewerFields({ ...holding('aki.02'), ariError: 'ours' }, theirs).ariError).toBe('ours');
  });
});
