import { describe, expect, it } from 'vitest';
import { CA_PRESETS } from '../../../functions/core/config/inventory';
import { hasCode } from '../../../functions/core/errors';
import { writePersistRecords } from '../../../functions/core/renewal/persist-record';
import type { PersistentTxtRecord, ZoneHints } from '../../../functions/core/renewal/ports';
import { MemoryStore } from '../../support/fakes';

const ACCOUNT = 'https://acme-v02.api.letsencrypt.org/acme/acct/7';
const INVENTORY = {
  cas: { le: { directoryUrl: CA_PRESETS.letsencrypt, challenge: 'dns-persist-01' } },
  certificates: [
    { id: 'shop', ca: 'le', domains: ['example.com', '*.example.com'], hostedZones: { 'example.com': 'Z1' } },
    { id: 'legacy', ca: 'le', challenge: 'dns-01', domains: ['legacy.example.com'] },
    {
      id: 'remote',
      ca: 'le',
      domains: ['remote.example.org'],
      zoneRoleArns: { 'remote.example.org': 'arn:aws:iam::210987654321:role/dns' },
    },
  ],
};
const value = (account = ACCOUNT) =>
  `letsencrypt.org; accounturi=${account}; policy=wildcard; persistUntil=1811808000`;

/** The use case over the inventory, with a writer that records what it was asked to write. */
function setup() {
  const written: Array<{ records: readonly PersistentTxtRecord[]; hints?: ZoneHints }> = [];
  const deps = {
    store: new MemoryStore(INVENTORY),
    dns: {
      upsertPersistent: async (records: readonly PersistentTxtRecord[], hints?: ZoneHints) =>
        void written.push({ records, hints }),
    },
  };
  return { deps, written };
}

describe('writePersistRecords (the persist-record step)', () => {
  it('writes _validation-persist.<domain> with the value, in the entry zone', async () => {
    const { deps, written } = setup();
    const out = await writePersistRecords(deps, {
      kind: 'persist-record',
      certificateId: 'shop',
      records: [{ domain: 'example.com', value: value() }],
    });
    expect(out).toEqual({ written: ['_validation-persist.example.com'] });
    expect(written).toEqual([
      {
        records: [
          {
            identifier: 'example.com',
            name: '_validation-persist.example.com',
            value: value(),
            issuerDomainName: 'letsencrypt.org',
          },
        ],
        hints: { hostedZones: { 'example.com': 'Z1' } },
      },
    ]);
  });

  it.each([
    ['an unknown certificate', 'nope', 'example.com', value()],
    ['a certificate that uses dns-01', 'legacy', 'legacy.example.com', value()],
    ['a domain the certificate does not have', 'shop', 'other.example.com', value()],
    ['an account at another CA', 'shop', 'example.com', value('https://evil.example/acct/1')],
    ['no accounturi', 'shop', 'example.com', 'letsencrypt.org; persistUntil=1811808000'],
    [
      'two accounturi parameters',
      'shop',
      'example.com',
      `letsencrypt.org; accounturi=${ACCOUNT}; accounturi=${ACCOUNT}`,
    ],
    ['a zone in another account', 'remote', 'remote.example.org', value()],
  ])('refuses %s and writes nothing', async (_name, certificateId, domain, v) => {
    const { deps, written } = setup();
    let caught: unknown;
    try {
      await writePersistRecords(deps, {
        kind: 'persist-record',
        certificateId,
        records: [{ domain, value: v }],
      });
    } catch (error) {
      caught = error;
    }
    expect(hasCode(caught, 'dns-failed')).toBe(true);
    expect(written).toEqual([]);
  });
});
