import type { KeyType } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import { keyAlgorithm, keyTypeFromPkcs8 } from './key-type';
import { decodePem, encodePem } from './pem';

/** The label RFC 7468 §10 gives unencrypted PKCS#8 keys. */
const PKCS8_LABEL = 'PRIVATE KEY';

/** Exponent 65537, the only public exponent ACM, browsers and every CA accept without question. */
const RSA_PUBLIC_EXPONENT = new Uint8Array([0x01, 0x00, 0x01]);

/**
 * Generates a fresh, extractable certificate key pair of the given type (extractable so it can be stored as PEM
 * and imported into ACM).
 */
export async function generateKeyPair(keyType: KeyType): Promise<CryptoKeyPair> {
  const algorithm = keyAlgorithm(keyType);
  const usages: KeyUsage[] = ['sign', 'verify'];
  if (algorithm.name === 'ECDSA') {
    return globalThis.crypto.subtle.generateKey(algorithm as EcKeyGenParams, true, usages);
  }
  const modulusLength = Number(keyType.slice('rsa-'.length));
  return globalThis.crypto.subtle.generateKey(
    { ...(algorithm as RsaHashedImportParams), modulusLength, publicExponent: RSA_PUBLIC_EXPONENT },
    true,
    usages,
  );
}

/**
 * Exports a private key as an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the format ACM imports.
 *
 * @see RFC 7468 §10: "The encoded data MUST be a BER (DER strongly preferred) encoded ASN.1 PrivateKeyInfo
 *   structure as described in PKCS #8 [RFC5208]".
 * @throws AcmeAwsError `pki-invalid` when the key is not a private key or is not extractable.
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  if (key.type !== 'private') {
    throw new AcmeAwsError('pki-invalid', `Expected a private key to export but got a ${key.type} key`);
  }
  if (!key.extractable) {
    throw new AcmeAwsError(
      'pki-invalid',
      'The private key is not extractable; generate it with generateKeyPair',
    );
  }
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return encodePem(PKCS8_LABEL, new Uint8Array(pkcs8));
}

/**
 * Imports a PKCS#8 private key PEM, detecting its type from the key itself, and derives its public key so the
 * pair can sign CSRs and be matched against certificates.
 *
 * @throws AcmeAwsError `pki-invalid` when the PEM is not exactly one supported, unencrypted PKCS#8 key; the
 *   message never contains key material.
 */
export async function importPrivateKeyPem(pem: string): Promise<{ keyType: KeyType; keys: CryptoKeyPair }> {
  const blocks = decodePem(pem);
  if (blocks.length !== 1) {
    throw new AcmeAwsError(
      'pki-invalid',
      `Expected exactly one PEM private key block but found ${blocks.length}`,
    );
  }
  const [{ label, der }] = blocks as [(typeof blocks)[number]];
  if (label !== PKCS8_LABEL) {
    throw new AcmeAwsError(
      'pki-invalid',
      label === 'ENCRYPTED PRIVATE KEY'
        ? 'The private key is encrypted; store it as an unencrypted PKCS#8 "PRIVATE KEY"'
        : `Expected a PKCS#8 "PRIVATE KEY" PEM but found "${label}"; convert it with "openssl pkcs8 -topk8 -nocrypt"`,
    );
  }
  const keyType = keyTypeFromPkcs8(der);
  const algorithm = keyAlgorithm(keyType);
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  try {
    privateKey = await globalThis.crypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
    publicKey = await derivePublicKey(privateKey, algorithm);
  } catch {
    // The WebCrypto error is dropped on purpose: keep anything derived from the key out of messages and logs.
    throw new AcmeAwsError(
      'pki-invalid',
      `The ${keyType} private key could not be imported; it is malformed`,
    );
  }
  return { keyType, keys: { privateKey, publicKey } };
}

/** WebCrypto cannot export a public key from a private one, but the private JWK holds the public fields. */
async function derivePublicKey(
  privateKey: CryptoKey,
  algorithm: EcKeyImportParams | RsaHashedImportParams,
): Promise<CryptoKey> {
  const jwk = await globalThis.crypto.subtle.exportKey('jwk', privateKey);
  const publicJwk: JsonWebKey =
    jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'RSA', n: jwk.n, e: jwk.e };
  return globalThis.crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']);
}
