import { beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../../functions/core/errors';
import {
  encodePem,
  exportPrivateKeyPem,
  generateKeyPair,
  verifyIssuedCertificate,
} from '../../../functions/core/pki';
import {
  buildTestChain,
  createTestIntermediate,
  createTestRoot,
  crossSign,
  FIXED,
  issueTestLeaf,
  type TestAuthority,
  type TestChain,
} from './fixtures';

let chain: TestChain;
let otherRoot: TestAuthority;
let otherIntermediate: TestAuthority;

beforeAll(async () => {
  chain = await buildTestChain();
  otherRoot = await createTestRoot({ name: 'Other Root' });
  otherIntermediate = await createTestIntermediate(otherRoot, { name: 'Other Intermediate' });
});

const NAMES = ['example.test', '*.example.test'];

async function verificationError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(hasCode(error, 'verification-failed')).toBe(true);
    return error as Error;
  }
  throw new Error('expected verification to fail');
}

describe('verifyIssuedCertificate accepts', () => {
  it('a certificate matching its key and names, with a valid chain, and splits it into files', async () => {
    const verified = await verifyIssuedCertificate({
      trustAnchors: [chain.root.pem],
      fullchainPem: chain.fullchainPem,
      privateKeyPem: chain.leaf.privateKeyPem,
      expectedNames: NAMES,
      now: FIXED.now,
    });
    expect(verified.leaf.dnsNames).toEqual(NAMES);
    expect(verified.chain.map((certificate) => certificate.subject)).toEqual(['CN=Test Intermediate']);
    expect(verified.certPem).toBe(chain.leaf.pem);
    expect(verified.chainPem).toBe(chain.intermediate.pem);
    expect(verified.fullchainPem).toBe(chain.fullchainPem);
  });

  it.each([
    {
      name: 'names in another order and case, with a trailing dot',
      expectedNames: ['*.EXAMPLE.test', 'Example.Test.'],
    },
    { name: 'the expected root, which signed the last chain element', expectedIssuer: () => chain.root.pem },
    {
      name: 'the expected intermediate, equal to the last chain element',
      expectedIssuer: () => chain.intermediate.pem,
    },
    {
      name: 'a chain that includes the expected root itself',
      fullchain: () => chain.fullchainPem + chain.root.pem,
      expectedIssuer: () => chain.root.pem,
    },
    { name: 'one of several expected issuers', expectedIssuer: () => otherRoot.pem + chain.root.pem },
    { name: 'an expiry equal to the current one', notExpiringBefore: FIXED.expires },
    { name: 'the first instant of validity', now: FIXED.issued },
    { name: 'the last instant of validity', now: FIXED.expires },
  ])('$name', async ({ expectedNames, expectedIssuer, fullchain, notExpiringBefore, now }) => {
    const verified = await verifyIssuedCertificate({
      trustAnchors: [chain.root.pem],
      fullchainPem: fullchain ? fullchain() : chain.fullchainPem,
      privateKeyPem: chain.leaf.privateKeyPem,
      expectedNames: expectedNames ?? NAMES,
      now: now ?? FIXED.now,
      ...(expectedIssuer ? { expectedIssuerPem: expectedIssuer() } : {}),
      ...(notExpiringBefore ? { notExpiringBefore } : {}),
    });
    expect(verified.leaf.serialHex).toBe('0a1b2c3d');
  });
});

describe('verifyIssuedCertificate rejects', () => {
  it('a certificate for another key of the same type', async () => {
    const otherKey = await exportPrivateKeyPem((await generateKeyPair('ec-p256')).privateKey);
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: otherKey,
        expectedNames: NAMES,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(
      /public key \(ec-p256\) is not the public key of the private key \(ec-p256\)/,
    );
  });

  it('a certificate for a key of another type', async () => {
    const otherKey = await exportPrivateKeyPem((await generateKeyPair('ec-p384')).privateKey);
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: otherKey,
        expectedNames: NAMES,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(/\(ec-p256\) is not the public key of the private key \(ec-p384\)/);
  });

  it.each([
    {
      name: 'a missing name',
      leafNames: NAMES,
      expectedNames: [...NAMES, 'www.example.test'],
      message: /does not cover www\.example\.test; its names are example\.test, \*\.example\.test/,
    },
    {
      name: 'an extra name',
      leafNames: [...NAMES, 'extra.example.test'],
      expectedNames: NAMES,
      message: /also names extra\.example\.test, which the inventory does not ask for/,
    },
    {
      name: 'an apex-only certificate when the wildcard was asked for',
      leafNames: ['example.test'],
      expectedNames: ['*.example.test'],
      message: /does not cover \*\.example\.test/,
    },
  ])('$name', async ({ leafNames, expectedNames, message }) => {
    const leaf = await issueTestLeaf(chain.intermediate, { names: leafNames });
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: leaf.pem + chain.intermediate.pem,
        privateKeyPem: leaf.privateKeyPem,
        expectedNames,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(message);
  });

  it.each([
    {
      name: 'a chain whose next certificate did not sign the leaf',
      fullchain: () => chain.leaf.pem + otherIntermediate.pem,
      message:
        /Certificate 1 of the chain "example\.test" is not signed by certificate 2 "Other Intermediate"/,
    },
    {
      name: 'a chain in the wrong order (root before intermediate)',
      fullchain: () => chain.leaf.pem + chain.root.pem + chain.intermediate.pem,
      message: /Certificate 1 of the chain "example\.test" is not signed by certificate 2 "Test Root"/,
    },
    {
      name: 'a chain whose later link is broken',
      fullchain: () => chain.fullchainPem + otherRoot.pem,
      message: /Certificate 2 of the chain "Test Intermediate" is not signed by certificate 3 "Other Root"/,
    },
  ])('$name', async ({ fullchain, message }) => {
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: fullchain(),
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(message);
  });

  it('a certificate whose signature was tampered with', async () => {
    const der = new Uint8Array(chain.leaf.cert.rawData);
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x01; // inside the ECDSA signature's s value
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: encodePem('CERTIFICATE', der) + chain.intermediate.pem,
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(
      /Certificate 1 of the chain "example\.test" is not signed by certificate 2/,
    );
  });

  it.each([
    {
      name: 'an expired leaf',
      now: new Date('2025-05-30T00:00:01Z'),
      message: /has expired: notAfter is 2025-05-30T00:00:00\.000Z, now is 2025-05-30T00:00:01\.000Z/,
    },
    {
      name: 'a leaf that is not valid yet',
      now: new Date('2025-02-28T23:59:59Z'),
      message: /not valid yet: notBefore is 2025-03-01T00:00:00\.000Z/,
    },
  ])('$name', async ({ now, message }) => {
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now,
      }),
    );
    expect(error.message).toMatch(message);
  });

  it('a chain that does not end at the expected issuer', async () => {
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now: FIXED.now,
        expectedIssuerPem: otherRoot.pem,
      }),
    );
    expect(error.message).toMatch(
      /ends at "Test Intermediate" \(issued by "CN=Test Root"\), which is neither the expected issuer "Other Root" nor signed by it/,
    );
  });

  it('a certificate that expires sooner than the one it replaces', async () => {
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now: FIXED.now,
        notExpiringBefore: new Date('2025-05-30T00:00:01Z'),
      }),
    );
    expect(error.message).toMatch(
      /expires at 2025-05-30T00:00:00\.000Z, sooner than the current one \(2025-05-30T00:00:01\.000Z\)/,
    );
  });

  it.each([
    { name: 'an empty download', fullchain: () => '', message: /holds no certificate/ },
    {
      name: 'a leaf without its issuer',
      fullchain: () => chain.leaf.pem,
      message: /only the end-entity certificate "example\.test" and no issuer/,
    },
    {
      name: 'a chain with a private key in it',
      fullchain: () => chain.fullchainPem + chain.leaf.privateKeyPem,
      message: /not a PEM certificate chain/,
    },
    {
      name: 'a block that is not a certificate',
      fullchain: () =>
        `${chain.fullchainPem}-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n`,
      message: /Certificate 3 of the issued chain cannot be parsed/,
    },
  ])('$name', async ({ fullchain, message }) => {
    const error = await verificationError(
      verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: fullchain(),
        privateKeyPem: chain.leaf.privateKeyPem,
        expectedNames: NAMES,
        now: FIXED.now,
      }),
    );
    expect(error.message).toMatch(message);
  });

  it('an unreadable private key as pki-invalid, without echoing it', async () => {
    let thrown: unknown;
    try {
      await verifyIssuedCertificate({
        trustAnchors: [chain.root.pem],
        fullchainPem: chain.fullchainPem,
        privateKeyPem: '-----BEGIN RSA PRIVATE KEY-----\nMAMCAQE=\n-----END RSA PRIVATE KEY-----\n',
        expectedNames: NAMES,
        now: FIXED.now,
      });
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'pki-invalid')).toBe(true);
    expect((thrown as Error).message).not.toContain('MAMCAQE');
  });
});

describe('verifyIssuedCertificate and trust anchors', () => {
  /** Verifies the fixture leaf with `fullchain` against `anchors`, as the renewer does for CA "pebble". */
  const verifyAgainst = (fullchain: string, anchors: readonly string[], alternateChains?: string[]) =>
    verifyIssuedCertificate({
      fullchainPem: fullchain,
      privateKeyPem: chain.leaf.privateKeyPem,
      expectedNames: NAMES,
      now: FIXED.now,
      trustAnchors: anchors,
      caName: 'pebble',
      ...(alternateChains ? { alternateChains } : {}),
    });

  it.each([
    { name: "the root that signed the chain's last certificate", anchors: () => [chain.root.pem] },
    { name: "the chain's last certificate itself", anchors: () => [chain.intermediate.pem] },
    { name: 'one of several roots', anchors: () => [otherRoot.pem, chain.root.pem] },
    { name: 'several roots in one PEM text', anchors: () => [otherRoot.pem + chain.root.pem] },
    {
      name: 'the root, when the chain carries the root too',
      fullchain: () => chain.fullchainPem + chain.root.pem,
      anchors: () => [chain.root.pem],
    },
  ])('accepts a chain that leads to $name', async ({ fullchain, anchors }) => {
    const verified = await verifyAgainst(fullchain ? fullchain() : chain.fullchainPem, anchors());
    expect(verified.leaf.serialHex).toBe('0a1b2c3d');
  });

  it('accepts a chain that ends at a cross-sign of the anchor (same subject and key, another issuer)', async () => {
    // ZeroSSL serves "USERTrust RSA" signed by "AAA Certificate Services"; the trusted copy is self-signed.
    const legacy = await createTestRoot({ name: 'Legacy Root', serialNumber: '09' });
    const rootByLegacy = await crossSign(chain.root, legacy);
    const fullchain = chain.fullchainPem + rootByLegacy.pem;
    await expect(verifyAgainst(fullchain, [chain.root.pem])).resolves.toBeDefined();
    // ...and so does a client that still trusts only the old root that signed the cross-sign.
    await expect(verifyAgainst(fullchain, [legacy.pem])).resolves.toBeDefined();
  });

  it('accepts a cross-signed intermediate whose issuer is an anchor', async () => {
    const intermediateByOther = await crossSign(chain.intermediate, otherRoot);
    const verified = await verifyAgainst(chain.leaf.pem + intermediateByOther.pem, [otherRoot.pem]);
    expect(verified.chainPem).toBe(intermediateByOther.pem);
  });

  it('rejects an anchor that only has the right name (another key)', async () => {
    const impostor = await createTestRoot({ name: 'Test Root' });
    const error = await verificationError(verifyAgainst(chain.fullchainPem, [impostor.pem]));
    expect(error.message).toMatch(/leads to none of its trust anchors/);
  });

  it('rejects a chain from an unrelated root, naming the last issuer, the CA and the fix', async () => {
    const error = await verificationError(verifyAgainst(chain.fullchainPem, [otherRoot.pem]));
    expect(error.message).toBe(
      'The chain from CA "pebble" ends at "Test Intermediate", issued by "CN=Test Root", and leads to none of its trust anchors (its trust anchors are "Other Root"); the certificate was not stored or imported. If this CA\'s chains are meant to be trusted, add the PEM of the CA\'s root to cas.pebble.trustAnchors',
    );
  });

  it('rejects every chain when the CA has no trust anchors', async () => {
    const error = await verificationError(verifyAgainst(chain.fullchainPem, []));
    expect(error.message).toMatch(/\(it has no trust anchors\)/);
  });

  it("reads an unreadable anchor as pki-invalid (our input, not the CA's)", async () => {
    let thrown: unknown;
    try {
      await verifyAgainst(chain.fullchainPem, [
        '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n',
      ]);
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'pki-invalid')).toBe(true);
    expect((thrown as Error).message).toMatch(/Trust anchor 1 is not a PEM certificate/);
  });

  describe('with alternate chains', () => {
    it('chooses the alternate that reaches an anchor when the default chain does not', async () => {
      const intermediateByOther = await crossSign(chain.intermediate, otherRoot);
      const alternate = chain.leaf.pem + intermediateByOther.pem;
      const verified = await verifyAgainst(
        chain.fullchainPem,
        [otherRoot.pem],
        [chain.fullchainPem, alternate],
      );
      expect(verified.chainPem).toBe(intermediateByOther.pem);
      expect(verified.fullchainPem).toBe(alternate);
    });

    it('keeps the default chain when it reaches an anchor, even if an alternate does too', async () => {
      const intermediateByOther = await crossSign(chain.intermediate, otherRoot);
      const verified = await verifyAgainst(
        chain.fullchainPem,
        [chain.root.pem, otherRoot.pem],
        [chain.leaf.pem + intermediateByOther.pem],
      );
      expect(verified.fullchainPem).toBe(chain.fullchainPem);
    });

    it('ignores an alternate that carries another end-entity certificate', async () => {
      const other = await buildTestChain({ rootName: 'Alt Root' });
      const error = await verificationError(
        verifyAgainst(chain.fullchainPem, [other.root.pem], [other.fullchainPem]),
      );
      expect(error.message).toMatch(/ends at "Test Intermediate", issued by "CN=Test Root"/);
      expect(error.message).not.toMatch(/alternate/);
    });

    it('names the default chain and says the alternates failed too when none reaches an anchor', async () => {
      const legacy = await createTestRoot({ name: 'Legacy Root', serialNumber: '09' });
      const rootByLegacy = await crossSign(chain.root, legacy);
      const error = await verificationError(
        verifyAgainst(chain.fullchainPem, [otherRoot.pem], [chain.fullchainPem + rootByLegacy.pem]),
      );
      expect(error.message).toMatch(
        /ends at "Test Intermediate", issued by "CN=Test Root".*\(and none of the CA's 1 alternate chain passes either\)$/,
      );
    });
  });
});
