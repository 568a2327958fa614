import { describe, expect, it } from 'vitest';
import {
  CA_PRESETS,
  challengeOf,
  parseInventoryLenient,
  usesDns01,
} from '../../../functions/core/config/inventory';

const parse = (ca: Record<string, unknown>, certificates: Record<string, unknown>[]) =>
  parseInventoryLenient({
    cas: { le: { directoryUrl: CA_PRESETS.letsencrypt, ...ca } },
    certificates: certificates.map((c, i) => ({
      id: `c${i}`,
      ca: 'le',
      domains: [`n${i}.example.com`],
      ...c,
    })),
  });

describe('inventory: challenge, dns01Fallback, persistDays (dns-persist-01)', () => {
  it.each([
    ['nothing set', {}, {}, 'dns-01', true],
    ['the CA default', { challenge: 'dns-persist-01' }, {}, 'dns-persist-01', true],
    [
      'the certificate wins over the CA',
      { challenge: 'dns-persist-01' },
      { challenge: 'dns-01' },
      'dns-01',
      true,
    ],
    [
      'no fallback on the CA',
      { challenge: 'dns-persist-01', dns01Fallback: false },
      {},
      'dns-persist-01',
      false,
    ],
    [
      'the certificate turns the fallback back on',
      { challenge: 'dns-persist-01', dns01Fallback: false },
      { dns01Fallback: true },
      'dns-persist-01',
      true,
    ],
    ['dns-01 always writes _acme-challenge', { dns01Fallback: false }, {}, 'dns-01', true],
  ])('%s', (_name, ca, cert, challenge, dns01) => {
    const { inventory, problems } = parse(ca, [cert]);
    expect(problems).toEqual([]);
    expect(challengeOf(inventory, inventory.certificates[0]!)).toBe(challenge);
    expect(usesDns01(inventory, inventory.certificates[0]!)).toBe(dns01);
  });

  it('bad values are rejected naming the field, all at once', () => {
    const { problems } = parse({ challenge: 'http-01', persistDays: 2 }, [
      { challenge: 'dns-02', dns01Fallback: 'no' },
    ]);
    expect(problems.map((p) => p.path).sort()).toEqual([
      'cas.le.challenge',
      'cas.le.persistDays',
      'certificates[0].challenge',
      'certificates[0].dns01Fallback',
    ]);
    expect(problems.find((p) => p.path === 'certificates[0].challenge')?.message).toContain(
      'must be one of dns-01, dns-persist-01',
    );
    expect(problems.find((p) => p.path === 'cas.le.persistDays')?.message).toContain('at least 7 days');
  });
});
