import type { ErrorCode } from '../core/errors';
import { AcmeAwsError } from '../core/errors';
import { awsErrorName, awsHttpStatus, describeAwsError } from './aws-retry';

/**
 * True when S3 refused a read because the object is SSE-KMS under a key the caller cannot use. S3 answers either
 * with a `KMS.`-prefixed code of its own (`KMS.AccessDeniedException`, `KMS.DisabledException`,
 * `KMS.KMSInvalidStateException`, `KMS.NotFoundException`) or with a plain 403 `AccessDenied` whose message names
 * the KMS action ("… is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext …").
 * A 403 that names no KMS action is an S3 grant problem and stays one.
 */
export function isKmsAccessError(error: unknown): boolean {
  const name = awsErrorName(error);
  if (name?.startsWith('KMS.')) return true;
  const message = error instanceof Error ? error.message : '';
  return (name === 'AccessDenied' || awsHttpStatus(error) === 403) && /\bkms:/i.test(message);
}

/**
 * The failure for a read of `s3://bucket/key` that S3 refused for its KMS key, or `undefined` for any other error.
 * Deployments from before `stateEncryption` existed hold their inventory, state documents and certificates under
 * the old state key, which the functions are no longer granted under the default (SSE-S3): say which object, why,
 * and the two ways out, instead of a bare AccessDenied.
 */
export function kmsReadFailure(
  bucket: string,
  key: string,
  error: unknown,
  code: ErrorCode = 'store-failed',
): AcmeAwsError | undefined {
  if (!isKmsAccessError(error)) return undefined;
  return new AcmeAwsError(
    code,
    `Reading s3://${bucket}/${key} failed: the object is encrypted with a KMS key this function cannot use ` +
      `(${describeAwsError(error)}). An object written before the state bucket moved to SSE-S3 is under the old ` +
      `state key: either set stateEncryption: 'kms' on the construct (keeps that key and grants it again), or ` +
      `re-encrypt the state objects to SSE-S3 with \`acme-ari migrate-encryption --bucket ${bucket}\` ` +
      '(it never moves key material: an unreadable private or account key needs the first; see docs/security.md)',
    { cause: error },
  );
}
