import { describe, expect, it } from 'vitest';
import { KEY_TYPES } from '../../../functions/core/config/inventory';
import { hasCode } from '../../../functions/core/errors';
import {
  encodePem,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  keyTypeOfKey,
} from '../../../functions/core/pki';

const subtle = globalThis.crypto.subtle;
const data = new TextEncoder().encode('renewal');

function signParams(keyType: string): EcdsaParams | Algorithm {
  if (keyType === 'ec-p256') return { name: 'ECDSA', hash: 'SHA-256' };
  if (keyType === 'ec-p384') return { name: 'ECDSA', hash: 'SHA-384' };
  return { name: 'RSASSA-PKCS1-v1_5' };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('generateKeyPair / exportPrivateKeyPem / importPrivateKeyPem', () => {
  it.each(KEY_TYPES)(
    '%s round-trips through PKCS#8 PEM and keeps signing with the same key',
    async (keyType) => {
      const generated = await generateKeyPair(keyType);
      expect(keyTypeOfKey(generated.privateKey)).toBe(keyType);
      expect(generated.privateKey.extractable).toBe(true);

      const pem = await exportPrivateKeyPem(generated.privateKey);
      expect(pem).toMatch(
        /^-----BEGIN PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----\n$/,
      );

      const imported = await importPrivateKeyPem(pem);
      expect(imported.keyType).toBe(keyType);
      expect(await exportPrivateKeyPem(imported.keys.privateKey)).toBe(pem);
      // The derived public key is the generated one: same SPKI, and it verifies the imported key's signatures.
      expect(new Uint8Array(await subtle.exportKey('spki', imported.keys.publicKey))).toEqual(
        new Uint8Array(await subtle.exportKey('spki', generated.publicKey)),
      );
      const signature = await subtle.sign(signParams(keyType), imported.keys.privateKey, data);
      expect(await subtle.verify(signParams(keyType), generated.publicKey, signature, data)).toBe(true);
    },
    60_000,
  ); // RSA-4096 generation takes seconds and varies a lot on a busy machine

  it('generates RSA keys with the public exponent 65537', async () => {
    const { publicKey } = await generateKeyPair('rsa-2048');
    const algorithm = publicKey.algorithm as RsaHashedKeyAlgorithm;
    expect([...algorithm.publicExponent]).toEqual([1, 0, 1]);
    expect(algorithm.modulusLength).toBe(2048);
  });

  it('reads the key type from the PKCS#8 even with text around the block and CRLF line ends', async () => {
    const pem = await exportPrivateKeyPem((await generateKeyPair('ec-p384')).privateKey);
    const messy = `key for example.test\r\n${pem.replace(/\n/g, '\r\n')}trailing notes\r\n`;
    expect((await importPrivateKeyPem(messy)).keyType).toBe('ec-p384');
  });

  it('refuses to export a public key', async () => {
    const { publicKey } = await generateKeyPair('ec-p256');
    const error = await rejection(exportPrivateKeyPem(publicKey));
    expect(hasCode(error, 'pki-invalid')).toBe(true);
    expect(error.message).toMatch(/private key/);
  });

  it('refuses to export a non-extractable key', async () => {
    const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    expect(hasCode(await rejection(exportPrivateKeyPem(keys.privateKey)), 'pki-invalid')).toBe(true);
  });
});

describe('importPrivateKeyPem rejects what it cannot use, without echoing the key', () => {
  const pkcs8Of = async (algorithm: EcKeyGenParams | RsaHashedKeyGenParams) => {
    const keys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
    return new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  };

  it.each([
    { name: 'no PEM at all', pem: async () => 'not a key', message: /found 0/ },
    {
      name: 'two keys',
      pem: async () => {
        const one = await exportPrivateKeyPem((await generateKeyPair('ec-p256')).privateKey);
        return one + one;
      },
      message: /found 2/,
    },
    {
      name: 'a traditional EC PRIVATE KEY label',
      pem: async () => encodePem('EC PRIVATE KEY', new Uint8Array([0x30, 0x00])),
      message: /openssl pkcs8 -topk8 -nocrypt/,
    },
    {
      name: 'an encrypted key',
      pem: async () => encodePem('ENCRYPTED PRIVATE KEY', new Uint8Array([0x30, 0x00])),
      message: /encrypted/,
    },
    {
      name: 'a P-521 key',
      pem: async () => encodePem('PRIVATE KEY', await pkcs8Of({ name: 'ECDSA', namedCurve: 'P-521' })),
      message: /curve 1\.3\.132\.0\.35 is not supported/,
    },
    {
      name: 'a 1024-bit RSA key',
      pem: async () =>
        encodePem(
          'PRIVATE KEY',
          await pkcs8Of({
            name: 'RSASSA-PKCS1-v1_5',
            modulusLength: 1024,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: 'SHA-256',
          }),
        ),
      message: /RSA keys of 1024 bits are not supported/,
    },
    {
      name: 'an Ed25519 key',
      pem: async () => {
        const keys = (await subtle.generateKey({ name: 'Ed25519' }, true, [
          'sign',
          'verify',
        ])) as CryptoKeyPair;
        return encodePem('PRIVATE KEY', new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey)));
      },
      message: /algorithm 1\.3\.101\.112 is not supported/,
    },
    {
      name: 'a truncated key',
      pem: async () => {
        const der = await pkcs8Of({ name: 'ECDSA', namedCurve: 'P-256' });
        return encodePem('PRIVATE KEY', der.subarray(0, der.length - 10));
      },
      message: /Malformed DER/,
    },
    {
      name: 'a corrupted EC key (private scalar does not match the embedded public key)',
      pem: async () => {
        const der = await pkcs8Of({ name: 'ECDSA', namedCurve: 'P-256' });
        der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff; // inside the embedded public point
        return encodePem('PRIVATE KEY', der);
      },
      message: /could not be imported/,
    },
  ])('$name', async ({ pem, message }) => {
    const text = await pem();
    const error = await rejection(importPrivateKeyPem(text));
    expect(hasCode(error, 'pki-invalid')).toBe(true);
    expect(error.message).toMatch(message);
    const body = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    if (body.length >= 16) expect(error.message).not.toContain(body.slice(0, 16));
  });
});
