import { base64url, calculateJwkThumbprint, EmbeddedJWK, flattenedVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  createAccountKey,
  importAccountKey,
  signExternalAccountBinding,
  signRequest,
  thumbprint,
} from '../../../functions/core/acme/jws';
import { AcmeAwsError } from '../../../functions/core/errors';

const URL_NEW_ACCOUNT = 'https://ca.test/acme/new-acct';
const URL_ORDER = 'https://ca.test/acme/order/7';
const KID = 'https://ca.test/acme/acct/1';

const decodeJson = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as unknown;

describe('signRequest', () => {
  it('embeds the public jwk (and no kid) for newAccount, and verifies against that key', async () => {
    const { key } = await createAccountKey();
    const jws = await signRequest({
      key,
      url: URL_NEW_ACCOUNT,
      nonce: 'n-1',
      payload: { termsOfServiceAgreed: true },
    });
    const verified = await flattenedVerify(jws, EmbeddedJWK);
    expect(verified.protectedHeader).toEqual({
      alg: 'ES256',
      nonce: 'n-1',
      url: URL_NEW_ACCOUNT,
      jwk: key.publicJwk,
    });
    expect(decodeJson(verified.payload)).toEqual({ termsOfServiceAgreed: true });
    // RFC 8555 §6.2: the embedded key is public: no private member may leak into the header.
    expect(verified.protectedHeader?.jwk).not.toHaveProperty('d');
  });

  it('uses kid (and no jwk) for account requests', async () => {
    const { key } = await createAccountKey();
    const jws = await signRequest({ key, url: URL_ORDER, nonce: 'n-2', payload: { a: 1 }, kid: KID });
    const verified = await flattenedVerify(jws, await importJWK(key.publicJwk, 'ES256'));
    expect(verified.protectedHeader).toEqual({ alg: 'ES256', nonce: 'n-2', url: URL_ORDER, kid: KID });
    expect(decodeJson(verified.payload)).toEqual({ a: 1 });
  });

  it('sends an empty payload for POST-as-GET, distinct from an empty JSON object', async () => {
    const { key } = await createAccountKey();
    const asGet = await signRequest({ key, url: URL_ORDER, nonce: 'n-3', payload: null, kid: KID });
    expect(asGet.payload).toBe('');
    const verified = await flattenedVerify(asGet, await importJWK(key.publicJwk, 'ES256'));
    expect(verified.payload.byteLength).toBe(0);
    const empty = await signRequest({ key, url: URL_ORDER, nonce: 'n-4', payload: {}, kid: KID });
    expect(new TextDecoder().decode(base64url.decode(empty.payload))).toBe('{}');
  });

  it('fails verification with another account key', async () => {
    const { key } = await createAccountKey();
    const { key: other } = await createAccountKey();
    const jws = await signRequest({ key, url: URL_ORDER, nonce: 'n-5', payload: {}, kid: KID });
    await expect(flattenedVerify(jws, await importJWK(other.publicJwk, 'ES256'))).rejects.toThrow();
  });
});

describe('account keys', () => {
  it('round-trips through the stored private JWK and keeps the thumbprint', async () => {
    const { key, privateJwk } = await createAccountKey();
    const again = await importAccountKey(privateJwk);
    expect(again.publicJwk).toEqual(key.publicJwk);
    expect(await thumbprint(again)).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));
  });

  it('picks RS256 for an RSA account key', async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as Record<string, unknown>;
    const key = await importAccountKey(jwk);
    expect(key.alg).toBe('RS256');
    expect(Object.keys(key.publicJwk).sort()).toEqual(['e', 'kty', 'n']);
    const jws = await signRequest({ key, url: URL_ORDER, nonce: 'n', payload: {}, kid: KID });
    await expect(flattenedVerify(jws, pair.publicKey)).resolves.toBeTruthy();
  });

  it('refuses an unsupported key type with a pki-invalid error', async () => {
    await expect(importAccountKey({ kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'AA' })).rejects.toMatchObject({
      code: 'pki-invalid',
      message: expect.stringContaining('unsupported ACME account key type OKP'),
    });
  });
});

describe('signExternalAccountBinding', () => {
  const hmac = base64url.encode(new Uint8Array(32).map((_, i) => i * 7));

  it('MACs the account public JWK with HS256, the key id and the newAccount URL', async () => {
    const { key } = await createAccountKey();
    const eab = await signExternalAccountBinding({
      key,
      url: URL_NEW_ACCOUNT,
      keyId: 'kid-1',
      hmacKeyBase64url: hmac,
    });
    const verified = await flattenedVerify(eab, base64url.decode(hmac));
    expect(verified.protectedHeader).toEqual({ alg: 'HS256', kid: 'kid-1', url: URL_NEW_ACCOUNT });
    expect(decodeJson(verified.payload)).toEqual(key.publicJwk);
    // RFC 8555 §7.3.4: "The 'nonce' field MUST NOT be present"
    expect(verified.protectedHeader).not.toHaveProperty('nonce');
  });

  it('does not verify under another HMAC key', async () => {
    const { key } = await createAccountKey();
    const eab = await signExternalAccountBinding({
      key,
      url: URL_NEW_ACCOUNT,
      keyId: 'k',
      hmacKeyBase64url: hmac,
    });
    await expect(flattenedVerify(eab, new Uint8Array(32).fill(1))).rejects.toThrow(
      /signature verification failed/,
    );
  });

  it.each([
    ['not base64url', 'not+base64/==!', /the EAB HMAC key for key id "kid-9" is not base64url/],
    ['empty', '  ', /the EAB HMAC key for key id "kid-9" is empty/],
  ])('refuses a key that is %s with a config-invalid error naming the key id', async (_, value, message) => {
    const { key } = await createAccountKey();
    const error = await signExternalAccountBinding({
      key,
      url: URL_NEW_ACCOUNT,
      keyId: 'kid-9',
      hmacKeyBase64url: value,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as AcmeAwsError).code).toBe('config-invalid');
    expect((error as Error).message).toMatch(message);
    // The secret itself must never be echoed into an error that ends up in logs.
    if (value.trim()) expect((error as Error).message).not.toContain(value);
  });
});
