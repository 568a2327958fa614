import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../../functions/core/errors';
import { parseCertificate, parseCertificateDer, toHex } from '../../../functions/core/pki';
import { x509 } from '../../support/pki/x509';
import { buildTestChain, FIXED, issueTestLeaf, type TestChain } from './fixtures';

let chain: TestChain;
beforeAll(async () => {
  chain = await buildTestChain();
});

describe('parseCertificate', () => {
  it('reads names, key identifiers, dates, DNs and the key type of a leaf', () => {
    const leaf = parseCertificate(chain.leaf.pem);
    expect(leaf.dnsNames).toEqual(['example.test', '*.example.test']);
    expect(leaf.otherSubjectAltNames).toEqual([]);
    expect(leaf.notBefore).toEqual(FIXED.issued);
    expect(leaf.notAfter).toEqual(FIXED.expires);
    expect(leaf.subject).toBe('CN=example.test');
    expect(leaf.subjectCommonName).toBe('example.test');
    expect(leaf.issuer).toBe('CN=Test Intermediate');
    expect(leaf.issuerCommonName).toBe('Test Intermediate');
    expect(leaf.keyType).toBe('ec-p256');
    // The AKI keyIdentifier is the issuer's SKI: what ARI's certID and chain building rely on.
    const intermediate = parseCertificate(chain.intermediate.pem);
    expect(leaf.authorityKeyId).toBeDefined();
    expect(leaf.authorityKeyId).toEqual(intermediate.subjectKeyId);
    expect(toHex(leaf.subjectKeyId ?? new Uint8Array())).toBe(
      chain.leaf.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(leaf.der).toEqual(new Uint8Array(chain.leaf.cert.rawData));
    expect(leaf.pem).toBe(chain.leaf.pem);
  });

  it('hashes the SubjectPublicKeyInfo DER, so a key and its certificate share the fingerprint', async () => {
    const leaf = parseCertificate(chain.leaf.pem);
    const spki = new Uint8Array(await globalThis.crypto.subtle.exportKey('spki', chain.leaf.keys.publicKey));
    expect(leaf.spkiSha256).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(parseCertificate(chain.intermediate.pem).spkiSha256).not.toBe(leaf.spkiSha256);
  });

  it.each([
    { keyType: 'ec-p384' as const },
    { keyType: 'rsa-2048' as const },
    { keyType: 'rsa-3072' as const },
  ])('detects the $keyType key type from the certificate', async ({ keyType }) => {
    const leaf = await issueTestLeaf(chain.intermediate, { keyType });
    expect(parseCertificate(leaf.pem).keyType).toBe(keyType);
  });

  it.each([
    { name: 'high bit set: DER keeps the leading 00', serial: '8a1b2c', hex: '008a1b2c' },
    { name: 'high bit clear: no padding', serial: '7f0102', hex: '7f0102' },
    { name: 'one byte', serial: '05', hex: '05' },
    {
      name: 'a 20-byte serial with the high bit set',
      serial: 'f0e1d2c3b4a5968778695a4b3c2d1e0f00112233',
      hex: '00f0e1d2c3b4a5968778695a4b3c2d1e0f00112233',
    },
  ])('keeps the serial content octets exactly ($name)', async ({ serial, hex }) => {
    const leaf = parseCertificate((await issueTestLeaf(chain.intermediate, { serialNumber: serial })).pem);
    expect(leaf.serialHex).toBe(hex);
    expect(toHex(leaf.serialDer)).toBe(hex);
  });

  it('has no authorityKeyId when the extension is absent', async () => {
    const leaf = parseCertificate((await issueTestLeaf(chain.intermediate, { withoutAki: true })).pem);
    expect(leaf.authorityKeyId).toBeUndefined();
  });

  it('lists SAN entries other than dNSName separately', async () => {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      subject: [{ CN: ['example.test'] }],
      issuer: chain.intermediate.cert.subjectName,
      notBefore: FIXED.issued,
      notAfter: FIXED.expires,
      publicKey: chain.leaf.keys.publicKey,
      signingKey: chain.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'example.test' },
          { type: 'ip', value: '192.0.2.1' },
        ]),
      ],
    });
    const leaf = parseCertificateDer(new Uint8Array(cert.rawData));
    expect(leaf.dnsNames).toEqual(['example.test']);
    expect(leaf.otherSubjectAltNames).toEqual(['ip:192.0.2.1']);
  });

  it.each([
    { name: 'no certificate', pem: '', message: /found none/ },
    { name: 'a whole chain', pem: () => chain.fullchainPem, message: /splitPemChain/ },
    {
      name: 'a private key',
      pem: () => chain.leaf.privateKeyPem,
      message: /found PRIVATE KEY/,
    },
    {
      name: 'a CERTIFICATE block that is not X.509',
      pem: '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n',
      message: /not a well-formed DER X\.509 certificate/,
    },
  ])('refuses $name', ({ pem, message }) => {
    let thrown: unknown;
    try {
      parseCertificate(typeof pem === 'function' ? pem() : pem);
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'pki-invalid')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });
});
