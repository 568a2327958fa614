import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  type FlattenedJWS,
  FlattenedSign,
  importJWK,
  type JWK,
} from 'jose';
import { AcmeAwsError } from '../errors';

/** An ACME account key: the private key for signing and its public JWK for `jwk` headers and thumbprints. */
export interface AccountKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly alg: 'ES256' | 'ES384' | 'RS256';
}

function algFor(jwk: JWK): AccountKey['alg'] {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new AcmeAwsError(
    'pki-invalid',
    `unsupported ACME account key type ${jwk.kty}/${jwk.crv ?? ''}; use EC P-256`,
  );
}

/** Loads an account key from its stored private JWK. */
export async function importAccountKey(privateJwk: Record<string, unknown>): Promise<AccountKey> {
  const jwk = privateJwk as JWK;
  const alg = algFor(jwk);
  const privateKey = (await importJWK(jwk, alg, { extractable: false })) as CryptoKey;
  const { kty, crv, x, y, n, e } = jwk;
  const publicJwk = Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
  ) as JWK;
  return { privateKey, publicJwk, alg };
}

/** Creates a new ES256 account key and returns it with its private JWK (for storage; never log it). */
export async function createAccountKey(): Promise<{ key: AccountKey; privateJwk: Record<string, unknown> }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const privateJwk = (await exportJWK(pair.privateKey)) as Record<string, unknown>;
  return { key: await importAccountKey(privateJwk), privateJwk };
}

/**
 * The JWK thumbprint of the account key.
 * @see RFC 8555 §8.1 "keyAuthorization = token || '.' || base64url(Thumbprint(accountKey))", RFC 7638
 */
export function thumbprint(key: AccountKey): Promise<string> {
  return calculateJwkThumbprint(key.publicJwk, 'sha256');
}

/**
 * Signs an ACME request body. `kid` is the account URL; without it the public `jwk` is embedded (newAccount,
 * revocation by certificate key). A `null` payload is POST-as-GET: an empty payload string.
 * @see RFC 8555 §6.2 "The JWS Protected Header MUST include: alg, nonce, url, and either jwk or kid"
 */
export async function signRequest(input: {
  key: AccountKey;
  url: string;
  nonce: string;
  payload: unknown;
  kid?: string;
}): Promise<FlattenedJWS> {
  const body =
    input.payload === null ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(input.payload));
  const header = input.kid
    ? { alg: input.key.alg, nonce: input.nonce, url: input.url, kid: input.kid }
    : { alg: input.key.alg, nonce: input.nonce, url: input.url, jwk: input.key.publicJwk };
  return new FlattenedSign(body).setProtectedHeader(header).sign(input.key.privateKey);
}

/**
 * The External Account Binding: the account's public JWK, MACed with the CA-issued HMAC key.
 * @see RFC 8555 §7.3.4 "The 'externalAccountBinding' field ... MUST contain a JWS ... with the 'alg' field set to
 * a MAC-based algorithm, the 'kid' field set to the key identifier provided by the CA, the 'url' field set to
 * the same value as the outer JWS ... and the payload set to the JWK of the account key"
 */
export async function signExternalAccountBinding(input: {
  key: AccountKey;
  url: string;
  keyId: string;
  hmacKeyBase64url: string;
}): Promise<FlattenedJWS> {
  let secret: Uint8Array;
  try {
    secret = base64url.decode(input.hmacKeyBase64url.trim());
  } catch (cause) {
    throw new AcmeAwsError(
      'config-invalid',
      `the EAB HMAC key for key id "${input.keyId}" is not base64url`,
      { cause },
    );
  }
  if (secret.byteLength === 0) {
    throw new AcmeAwsError('config-invalid', `the EAB HMAC key for key id "${input.keyId}" is empty`);
  }
  return new FlattenedSign(new TextEncoder().encode(JSON.stringify(input.key.publicJwk)))
    .setProtectedHeader({ alg: 'HS256', kid: input.keyId, url: input.url })
    .sign(secret);
}
