import { describe, expect, it } from 'vitest';
import { ConfigError, caFor } from '../../functions/core/config/inventory';
import { ISRG_ROOT_X2 } from '../../functions/core/pki/trust-anchors';
import { AcmeCa } from '../../infra/lib/acme-ca';
import { resolveInventory } from '../../infra/lib/resolve-inventory';

const CERTIFICATES = [
  { id: 'www', domains: ['www.example.com'], hostedZones: { 'example.com': 'Z0123EXAMPLE' } },
];
const resolve = (ca: AcmeCa) =>
  resolveInventory({ certificates: CERTIFICATES }, { source: 'test', defaultCa: ca, cas: [] });

describe('AcmeCa trustAnchors', () => {
  it('passes a custom CA’s roots into the inventory the renewer reads', () => {
    const ca = AcmeCa.fromDirectoryUrl('mine', 'https://ca.example/dir', {
      trustAnchors: [ISRG_ROOT_X2.pem],
    });
    const { inventory } = resolve(ca);
    expect(inventory.cas.mine?.trustAnchors).toEqual([ISRG_ROOT_X2.pem]);
    expect(caFor(inventory, 'mine').trustAnchors).toEqual([ISRG_ROOT_X2.pem]);
  });

  it('fails synthesis for a custom CA without roots, naming the field and the fix', () => {
    let thrown: unknown;
    try {
      resolve(AcmeCa.fromDirectoryUrl('mine', 'https://ca.example/dir'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toContainEqual({
      path: 'cas.mine.trustAnchors',
      message: expect.stringContaining("add the PEM of the CA's root"),
    });
  });

  it('lets a preset narrow its roots (e.g. ECDSA only)', () => {
    const { inventory } = resolve(AcmeCa.letsEncrypt({ trustAnchors: [ISRG_ROOT_X2.pem] }));
    expect(caFor(inventory, 'letsencrypt').trustAnchors).toEqual([ISRG_ROOT_X2.pem]);
  });
});
