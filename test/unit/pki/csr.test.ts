import { describe, expect, it } from 'vitest';
import type { KeyType } from '../../../functions/core/config/inventory';
import { hasCode } from '../../../functions/core/errors';
import { createCsr, decodePem, generateKeyPair } from '../../../functions/core/pki';
import { x509 } from '../../support/pki/x509';

const sans = (csr: x509.Pkcs10CertificateRequest) => {
  // Pkcs10CertificateRequest.getExtension matches by OID only (unlike X509Certificate's, which takes a class).
  const extension = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
  return {
    critical: extension?.critical,
    names: extension?.names.items.map((item) => `${item.type}:${item.value}`),
  };
};

describe('createCsr', () => {
  it.each<{ keyType: KeyType; signature: string }>([
    { keyType: 'ec-p256', signature: 'ECDSA/SHA-256' },
    { keyType: 'ec-p384', signature: 'ECDSA/SHA-384' },
    { keyType: 'rsa-2048', signature: 'RSASSA-PKCS1-v1_5/SHA-256' },
  ])(
    '$keyType: carries both SANs, CN = first name, and a valid $signature signature',
    async ({ keyType, signature }) => {
      const keys = await generateKeyPair(keyType);
      const { der, pem } = await createCsr({ keys, names: ['example.test', '*.example.test'] });

      const [block] = decodePem(pem);
      expect(block?.label).toBe('CERTIFICATE REQUEST');
      expect(block?.der).toEqual(der);

      const csr = new x509.Pkcs10CertificateRequest(der);
      expect(await csr.verify()).toBe(true);
      expect(sans(csr)).toEqual({ critical: false, names: ['dns:example.test', 'dns:*.example.test'] });
      expect(csr.subject).toBe('CN=example.test');
      const algorithm = csr.signatureAlgorithm as { name: string; hash: { name: string } };
      expect(`${algorithm.name}/${algorithm.hash.name}`).toBe(signature);
      // The CSR carries the pair's public key, so the certificate will match the stored private key.
      expect(new Uint8Array(csr.publicKey.rawData)).toEqual(
        new Uint8Array(await globalThis.crypto.subtle.exportKey('spki', keys.publicKey)),
      );
    },
  );

  it('puts the first name of at most 64 characters in the CN, skipping longer ones', async () => {
    const long = `${'a'.repeat(60)}.example.test`;
    const { der } = await createCsr({
      keys: await generateKeyPair('ec-p256'),
      names: [long, 'www.example.test'],
    });
    const csr = new x509.Pkcs10CertificateRequest(der);
    expect(csr.subject).toBe('CN=www.example.test');
    expect(sans(csr).names).toEqual([`dns:${long}`, 'dns:www.example.test']);
  });

  it('leaves the subject empty and marks the SAN critical when no name fits a CN (RFC 5280 §4.2.1.6)', async () => {
    const long = `${'b'.repeat(60)}.example.test`;
    const { der } = await createCsr({ keys: await generateKeyPair('ec-p256'), names: [long] });
    const csr = new x509.Pkcs10CertificateRequest(der);
    expect(csr.subject).toBe('');
    expect(sans(csr)).toEqual({ critical: true, names: [`dns:${long}`] });
    expect(await csr.verify()).toBe(true);
  });

  it('drops names repeated in another case, so the CSR matches the order identifiers', async () => {
    const { der } = await createCsr({
      keys: await generateKeyPair('ec-p256'),
      names: ['Example.test', 'example.test', '*.example.test'],
    });
    expect(sans(new x509.Pkcs10CertificateRequest(der)).names).toEqual([
      'dns:example.test',
      'dns:*.example.test',
    ]);
  });

  it.each<KeyType>(['ec-p256', 'rsa-4096'])(
    '%s: 100 names (long-form DER lengths) are all carried and the signature verifies',
    async (keyType) => {
      const names = Array.from({ length: 100 }, (_, i) => `host-${i}.example.test`);
      const { der } = await createCsr({ keys: await generateKeyPair(keyType), names });
      const csr = new x509.Pkcs10CertificateRequest(der);
      expect(await csr.verify()).toBe(true);
      expect(sans(csr).names).toEqual(names.map((name) => `dns:${name}`));
    },
  );

  it('refuses a name that is not ASCII, naming the A-label fix', async () => {
    await expect(
      createCsr({ keys: await generateKeyPair('ec-p256'), names: ['bücher.example.test'] }),
    ).rejects.toThrow(/"bücher\.example\.test" is not ASCII; write internationalised names as A-labels/);
  });

  it('refuses an RSA key made for another hash than the SHA-256 the request names', async () => {
    const keys = (await globalThis.crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: Uint8Array.of(1, 0, 1),
        hash: 'SHA-384',
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    await expect(createCsr({ keys, names: ['example.test'] })).rejects.toThrow(
      /must be made for SHA-256 \(this one is for SHA-384\)/,
    );
  });

  it('refuses an empty name list', async () => {
    let thrown: unknown;
    try {
      await createCsr({ keys: await generateKeyPair('ec-p256'), names: [] });
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'pki-invalid')).toBe(true);
  });
});
