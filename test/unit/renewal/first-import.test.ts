import { beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../../functions/core/errors';
import { parseCertificate } from '../../../functions/core/pki';
import { firstImport } from '../../../functions/core/renewal/first-import';
import type { ImportRequest, ImportResult } from '../../../functions/core/renewal/ports';
import { MemoryStore } from '../../support/fakes';
import { buildTestChain, type TestChain } from '../pki/fixtures';

const INVENTORY = {
  cas: { test: { directoryUrl: 'https://ca.test/directory', trustAnchors: [] as string[] } },
  certificates: [
    {
      id: 'shop',
      domains: ['example.test'],
      ca: 'test',
      acmRegions: ['us-east-1', 'eu-west-1'],
      tags: { team: 'web' },
    },
    { id: 'blog', domains: ['blog.example.test'], ca: 'test' },
  ],
};

let chain: TestChain;
let serial: string;

beforeAll(async () => {
  chain = await buildTestChain();
  INVENTORY.cas.test.trustAnchors.push(chain.root.pem);
  serial = parseCertificate(chain.leaf.pem).serialHex;
});

/** The use case over a store holding the shop's certificate and an importer that records what it was asked. */
function setup() {
  const store = new MemoryStore(INVENTORY);
  store.seedCertificate('shop', {
    certPem: chain.leaf.pem,
    chainPem: chain.intermediate.pem,
    fullchainPem: chain.fullchainPem,
    privateKeyPem: chain.leaf.privateKeyPem,
  });
  const asked: Omit<ImportRequest, 'files'>[] = [];
  const importer = {
    importNew: async (request: ImportRequest): Promise<ImportResult> => {
      const { files: _files, ...rest } = request;
      asked.push(rest);
      return {
        region: request.region,
        arn: `arn:aws:acm:${request.region}:1:certificate/new`,
        imported: true,
      };
    },
  };
  return { deps: { store, importer, defaultRegion: 'us-east-1' }, asked };
}

// Whoever can invoke the first-import function can at most import a certificate we issued, where the inventory
// says it belongs: the request names the entry, the region and the serial, never a certificate or a key.
describe('firstImport', () => {
  it('imports the stored certificate with the entry tags, in one of its regions', async () => {
    const { deps, asked } = setup();
    const result = await firstImport(deps, {
      certificateId: 'shop',
      region: 'eu-west-1',
      serial,
      keyType: 'ec-p256',
    });
    expect(result).toEqual({
      region: 'eu-west-1',
      arn: 'arn:aws:acm:eu-west-1:1:certificate/new',
      imported: true,
    });
    expect(asked).toEqual([
      { region: 'eu-west-1', certificateId: 'shop', serial, keyType: 'ec-p256', tags: { team: 'web' } },
    ]);
  });

  it.each([
    [
      'an id not in the inventory',
      { certificateId: 'gone', region: 'us-east-1' },
      /"gone" is not a valid entry/,
    ],
    [
      'a region the entry does not use',
      { certificateId: 'shop', region: 'ap-south-1' },
      /not imported into ap-south-1/,
    ],
    [
      'an entry with nothing stored yet',
      { certificateId: 'blog', region: 'us-east-1' },
      /no stored certificate yet/,
    ],
    [
      'a serial other than the stored one',
      { certificateId: 'shop', region: 'us-east-1', serial: '0badc0de' },
      /not 0badc0de/,
    ],
  ])('refuses %s and imports nothing', async (_what, request, message) => {
    const { deps, asked } = setup();
    const error = await firstImport(deps, { serial, keyType: 'ec-p256', ...request }).catch(
      (e: unknown) => e,
    );
    expect(hasCode(error, 'import-failed')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(asked).toEqual([]);
  });
});
