import { describe, expect, it } from 'vitest';
import { chooseReplaces, type OrderTarget } from '../../../../functions/core/renewal/steps/issued-by';

const A = { caName: 'primary', directoryUrl: 'https://a.test/dir', accountUrl: 'https://a.test/acct/1' };
const B: OrderTarget = {
  caName: 'backup',
  directoryUrl: 'https://b.test/dir',
  accountUrl: 'https://b.test/acct/7',
};
const predecessor = {
  serial: '0a',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-04-01T00:00:00.000Z',
  domains: ['www.example.com'],
  keyType: 'ec-p256' as const,
  issuer: 'CN=A Intermediate',
  directoryUrl: A.directoryUrl,
  accountUrl: A.accountUrl,
  certId: 'AKI-a.Cg',
  issuedAt: '2026-01-01T00:00:00.000Z',
  issuedBy: { ca: 'primary', authorityKeyId: 'AKI-a' },
};

describe('chooseReplaces: `replaces` only to the CA, account and issuer key of the predecessor', () => {
  it.each<[string, typeof predecessor | undefined, OrderTarget, ReturnType<typeof chooseReplaces>]>([
    ['no predecessor: nothing to replace, nothing to explain', undefined, A, {}],
    ['same CA, account and issuer key: sent', predecessor, A, { certId: 'AKI-a.Cg' }],
    [
      'a document from before issuedBy: the directory and account decide',
      { ...predecessor, issuedBy: undefined } as unknown as typeof predecessor,
      A,
      { certId: 'AKI-a.Cg' },
    ],
    [
      'failover: the next CA never issued the predecessor',
      predecessor,
      B,
      { withheld: 'the predecessor was issued by CA "primary"; this order goes to "backup"' },
    ],
    [
      'back at the first CA after a failover: the predecessor is the backup’s',
      {
        ...predecessor,
        directoryUrl: B.directoryUrl,
        accountUrl: B.accountUrl,
        issuedBy: { ca: 'backup', authorityKeyId: 'AKI-a' },
      },
      A,
      { withheld: 'the predecessor was issued by CA "backup"; this order goes to "primary"' },
    ],
    [
      'a CA entry whose directory changed under the same name',
      { ...predecessor, directoryUrl: 'https://old.test/dir' },
      A,
      { withheld: 'the predecessor came from https://old.test/dir, not https://a.test/dir' },
    ],
    [
      'another account at the same CA',
      { ...predecessor, accountUrl: 'https://a.test/acct/2' },
      A,
      { withheld: 'the predecessor was ordered by account https://a.test/acct/2, not https://a.test/acct/1' },
    ],
    [
      'a certID that names another issuer key than the predecessor’s',
      { ...predecessor, certId: 'AKI-x.Cg' },
      A,
      { withheld: "the certID names issuer key AKI-x, not the predecessor's issuer key AKI-a" },
    ],
    [
      'a predecessor without certID',
      { ...predecessor, certId: undefined } as unknown as typeof predecessor,
      A,
      { withheld: 'the predecessor has no certID (no AKI keyIdentifier)' },
    ],
  ])('%s', (_name, current, target, expected) => {
    expect(chooseReplaces(current, target)).toEqual(expected);
  });
});
