import { describe, expect, it } from 'vitest';
import {
  caFor,
  casOf,
  parseInventory,
  parseInventoryLenient,
} from '../../../functions/core/config/inventory';
import { configHash } from '../../../functions/core/renewal/config-hash';

const entry = (fields: Record<string, unknown>) => ({ id: 'www', domains: ['www.example.com'], ...fields });

describe('a certificate’s ordered list of CAs', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['no ca at all is Let’s Encrypt alone', {}, ['letsencrypt']],
    ['one name, as before', { ca: 'zerossl' }, ['zerossl']],
    [
      'a list, first CA first',
      { ca: ['letsencrypt', 'zerossl', 'google-trust-services'] },
      ['letsencrypt', 'zerossl', 'google-trust-services'],
    ],
    ['a list of one', { ca: ['zerossl'] }, ['zerossl']],
    [
      'a name plus failoverCas (the parsed form)',
      { ca: 'letsencrypt', failoverCas: ['zerossl'] },
      ['letsencrypt', 'zerossl'],
    ],
  ])('%s', (_name, fields, expected) => {
    const cert = parseInventory({ certificates: [entry(fields)] }).certificates[0]!;
    expect(casOf(cert)).toEqual(expected);
    expect(cert.ca).toBe(expected[0]);
  });

  it('a parsed inventory (as the construct uploads it) reads back as itself', () => {
    const once = parseInventory({ certificates: [entry({ ca: ['letsencrypt', 'zerossl'] })] });
    const twice = parseInventory(JSON.parse(JSON.stringify(once)));
    expect(twice).toEqual(once);
  });

  it('lists every problem with the list, naming the field', () => {
    const { inventory, problems } = parseInventoryLenient({
      cas: { broken: { directoryUrl: 'https://ca.test/dir' } },
      certificates: [
        entry({ id: 'a', ca: [] }),
        entry({ id: 'b', ca: ['letsencrypt', 'nope', 'broken'] }),
        entry({ id: 'c', ca: ['zerossl', 'zerossl'] }),
        entry({ id: 'd', ca: ['letsencrypt'], failoverCas: ['zerossl'] }),
        entry({ id: 'e', ca: 'letsencrypt', failoverCas: ['nope'] }),
        entry({ id: 'f', ca: ['letsencrypt', 'zerossl'] }),
      ],
    });
    expect(inventory.certificates.map((c) => c.id)).toEqual(['f']);
    expect(problems.map((p) => p.path)).toEqual([
      'cas.broken.trustAnchors',
      'certificates[0].ca',
      'certificates[1].ca[1]',
      'certificates[1].ca[2]',
      'certificates[2].ca[1]',
      'certificates[3].failoverCas',
      'certificates[4].failoverCas[0]',
    ]);
    expect(problems.find((p) => p.path === 'certificates[1].ca[1]')?.message).toContain('unknown CA "nope"');
    expect(problems.find((p) => p.path === 'certificates[1].ca[2]')?.message).toContain('cannot be used');
    expect(problems.find((p) => p.path === 'certificates[2].ca[1]')?.message).toBe(
      'CA "zerossl" is listed twice',
    );
  });

  it('adding failover CAs does not make an existing certificate "changed"', async () => {
    const single = parseInventory({ certificates: [entry({ ca: 'zerossl' })] });
    const listed = parseInventory({ certificates: [entry({ ca: ['zerossl', 'letsencrypt'] })] });
    const hash = (inv: typeof single) =>
      configHash(inv.certificates[0]!, caFor(inv, inv.certificates[0]!.ca));
    expect(await hash(listed)).toBe(await hash(single));
    // The hash of a single-CA entry is what it was before lists existed: names, key type, directory, profile.
    const before = JSON.stringify({
      domains: ['www.example.com'],
      keyType: 'ec-p256',
      directoryUrl: 'https://acme.zerossl.com/v2/DV90',
      profile: null,
    });
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(before));
    expect(await hash(single)).toBe(Buffer.from(digest).toString('hex').slice(0, 32));
    const otherFirst = parseInventory({ certificates: [entry({ ca: ['letsencrypt', 'zerossl'] })] });
    expect(await hash(otherFirst)).not.toBe(await hash(single));
  });
});
