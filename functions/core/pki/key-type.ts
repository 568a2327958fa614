import type { KeyType } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import { children, contentOf, decodeOid, expectElement, readElement, TAG, unsignedBitLength } from './der';

/** @see RFC 8017 Appendix C (`rsaEncryption`) and RFC 5480 §2.1.1 (`id-ecPublicKey`, named curves). */
const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
} as const;

const CURVES: Readonly<Record<string, KeyType>> = { [OID.p256]: 'ec-p256', [OID.p384]: 'ec-p384' };
const RSA_SIZES: Readonly<Record<number, KeyType>> = { 2048: 'rsa-2048', 3072: 'rsa-3072', 4096: 'rsa-4096' };

/** The WebCrypto algorithm a key of this type is generated and imported with. */
export function keyAlgorithm(keyType: KeyType): EcKeyImportParams | RsaHashedImportParams {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    default:
      // RSA keys carry their hash in WebCrypto; SHA-256 is what every public CA accepts for RSA.
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
}

/**
 * The signature algorithm used with a key of this type: the hash matches the curve's strength for ECDSA.
 *
 * @see RFC 5758 §3.2: ecdsa-with-SHA256 and ecdsa-with-SHA384 are the signature algorithms for P-256 and P-384.
 */
export function signingAlgorithm(keyType: KeyType): EcdsaParams | Algorithm {
  switch (keyType) {
    case 'ec-p256':
      return { name: 'ECDSA', hash: 'SHA-256' };
    case 'ec-p384':
      return { name: 'ECDSA', hash: 'SHA-384' };
    default:
      return { name: 'RSASSA-PKCS1-v1_5' };
  }
}

/**
 * The key type of a WebCrypto key, read from its algorithm.
 *
 * @throws AcmeAwsError `pki-invalid` for any algorithm, curve or modulus size the inventory does not allow.
 */
export function keyTypeOfKey(key: CryptoKey): KeyType {
  const algorithm = key.algorithm as Partial<EcKeyAlgorithm & RsaHashedKeyAlgorithm>;
  if (algorithm.name === 'ECDSA') {
    if (algorithm.namedCurve === 'P-256') return 'ec-p256';
    if (algorithm.namedCurve === 'P-384') return 'ec-p384';
  }
  if (algorithm.name === 'RSASSA-PKCS1-v1_5' && algorithm.modulusLength !== undefined) {
    const keyType = RSA_SIZES[algorithm.modulusLength];
    if (keyType) return keyType;
  }
  throw new AcmeAwsError(
    'pki-invalid',
    `Unsupported key (${algorithm.name ?? 'unknown'} ${algorithm.namedCurve ?? algorithm.modulusLength ?? ''}); use ECDSA P-256/P-384 or RSASSA-PKCS1-v1_5 2048/3072/4096`,
  );
}

/**
 * The key type of a DER SubjectPublicKeyInfo, or `undefined` when it is a key type this project does not issue.
 *
 * @see RFC 5280 §4.1.2.7 (SubjectPublicKeyInfo), RFC 3279 §2.3.1 (RSAPublicKey), RFC 5480 §2.1.1 (ECParameters).
 * @throws AcmeAwsError `pki-invalid` when the structure is not DER.
 */
export function keyTypeFromSpki(spki: Uint8Array): KeyType | undefined {
  const [algorithmId, subjectPublicKey] = children(spki, expectElement(spki, TAG.sequence));
  if (!algorithmId || !subjectPublicKey)
    throw new AcmeAwsError('pki-invalid', 'SubjectPublicKeyInfo is incomplete');
  const { oid, parameters } = readAlgorithmIdentifier(spki, algorithmId);
  if (oid === OID.ecPublicKey) return parameters === undefined ? undefined : CURVES[parameters];
  if (oid !== OID.rsaEncryption || subjectPublicKey.tag !== TAG.bitString) return undefined;
  // The BIT STRING's first content octet counts unused bits (0 for DER keys); the RSAPublicKey follows.
  const rsaKey = expectElement(spki, TAG.sequence, subjectPublicKey.contentStart + 1, subjectPublicKey.end);
  const [modulus] = children(spki, rsaKey);
  if (!modulus || modulus.tag !== TAG.integer) return undefined;
  return RSA_SIZES[unsignedBitLength(contentOf(spki, modulus))];
}

/**
 * The key type of a DER PKCS#8 PrivateKeyInfo, read from the structure itself (never guessed by trial imports).
 *
 * @see RFC 5208 §5 (PrivateKeyInfo), RFC 8017 Appendix A.1.2 (RSAPrivateKey), RFC 5915 §3 (ECPrivateKey).
 * @throws AcmeAwsError `pki-invalid` naming the algorithm, curve or size when it is not supported.
 */
export function keyTypeFromPkcs8(pkcs8: Uint8Array): KeyType {
  const [version, algorithmId, privateKey] = children(pkcs8, expectElement(pkcs8, TAG.sequence));
  if (version?.tag !== TAG.integer || !algorithmId || privateKey?.tag !== TAG.octetString) {
    throw new AcmeAwsError('pki-invalid', 'The private key is not a PKCS#8 PrivateKeyInfo');
  }
  const { oid, parameters } = readAlgorithmIdentifier(pkcs8, algorithmId);
  if (oid === OID.rsaEncryption) {
    const rsaKey = expectElement(pkcs8, TAG.sequence, privateKey.contentStart, privateKey.end);
    const [, modulus] = children(pkcs8, rsaKey);
    if (modulus?.tag !== TAG.integer)
      throw new AcmeAwsError('pki-invalid', 'The RSA private key has no modulus');
    const bits = unsignedBitLength(contentOf(pkcs8, modulus));
    const keyType = RSA_SIZES[bits];
    if (!keyType) {
      throw new AcmeAwsError(
        'pki-invalid',
        `RSA keys of ${bits} bits are not supported; use 2048, 3072 or 4096`,
      );
    }
    return keyType;
  }
  if (oid === OID.ecPublicKey) {
    // RFC 5915 §3 lets the curve sit in ECPrivateKey [0] when the AlgorithmIdentifier omits it.
    const curve = parameters ?? curveInsideEcPrivateKey(pkcs8, privateKey.contentStart, privateKey.end);
    const keyType = curve === undefined ? undefined : CURVES[curve];
    if (!keyType) {
      throw new AcmeAwsError(
        'pki-invalid',
        `EC curve ${curve ?? '(none named)'} is not supported; use P-256 or P-384`,
      );
    }
    return keyType;
  }
  throw new AcmeAwsError('pki-invalid', `Private key algorithm ${oid} is not supported; use ECDSA or RSA`);
}

function readAlgorithmIdentifier(bytes: Uint8Array, element: ReturnType<typeof readElement>) {
  const [oid, parameters] = children(bytes, element);
  if (oid?.tag !== TAG.oid) throw new AcmeAwsError('pki-invalid', 'AlgorithmIdentifier has no OID');
  return {
    oid: decodeOid(contentOf(bytes, oid)),
    parameters: parameters?.tag === TAG.oid ? decodeOid(contentOf(bytes, parameters)) : undefined,
  };
}

function curveInsideEcPrivateKey(bytes: Uint8Array, start: number, end: number): string | undefined {
  const ecKey = expectElement(bytes, TAG.sequence, start, end);
  const tagged = children(bytes, ecKey).find((child) => child.tag === TAG.context0);
  if (!tagged) return undefined;
  const oid = readElement(bytes, tagged.contentStart, tagged.end);
  return oid.tag === TAG.oid ? decodeOid(contentOf(bytes, oid)) : undefined;
}
