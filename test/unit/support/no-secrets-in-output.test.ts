import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { exportPrivateKeyPem, generateKeyPair } from '../../../functions/core/pki';
import { findSecrets } from '../../support/no-secrets-in-output';

// The suite-wide guard is only worth something if it recognises real key material.
describe('the no-secrets-in-output guard', () => {
  it('finds a real PKCS#8 private key and a real private JWK, and nothing in ordinary logs', async () => {
    const keys = await generateKeyPair('ec-p256');
    const pem = await exportPrivateKeyPem(keys.privateKey);
    const jwk = JSON.stringify(await exportJWK(keys.privateKey));
    expect(findSecrets(`{"level":"INFO","key":${JSON.stringify(pem)}}`)).toEqual(['a PEM private key block']);
    expect(findSecrets(`account ${jwk}`)).toEqual(['a JWK private exponent ("d")']);
    expect(findSecrets('{"level":"INFO","message":"renewal_done","serial":"0a1b","d":"x"}')).toEqual([]);
  });
});
