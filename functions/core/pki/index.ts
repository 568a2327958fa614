export {
  canonicalSerialHex,
  type ParsedCertificate,
  parseCertificate,
  parseCertificateDer,
  toHex,
} from './certificate';
export { joinPem, splitPemChain } from './chain';
export { createCsr } from './csr';
export { keyAlgorithm, keyTypeFromSpki, keyTypeOfKey, signingAlgorithm } from './key-type';
export { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from './keys';
export { decodePem, encodePem, type PemBlock } from './pem';
export {
  type VerifiedCertificate,
  type VerifyIssuedCertificateInput,
  verifyIssuedCertificate,
} from './verify';
