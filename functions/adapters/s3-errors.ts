import type { ErrorCode } from '../core/errors';
import { AcmeAwsError } from '../core/errors';
import { awsErrorName, awsHttpStatus, describeAwsError } from './aws-retry';

/**
 * Why S3 refused an object for its KMS key: `access` when the caller is not allowed to use the key, `key-state`
 * when nobody can (the key is disabled, pending deletion or gone).
 */
export type KmsRefusal = 'access' | 'key-state';

/** S3's own codes for a key that exists but no caller can use now, or that does not exist any more. */
const KEY_STATE_CODES: ReadonlySet<string> = new Set([
  'KMS.DisabledException',
  'KMS.NotFoundException',
  'KMS.KMSInvalidStateException',
]);

/**
 * Why S3 refused a read for the object's KMS key, or `undefined` when it did not. Only these answers count: a plain
 * 403 `AccessDenied` whose message names a KMS action ("… is not authorized to perform: kms:Decrypt on the resource
 * associated with this ciphertext …") and S3's `KMS.AccessDeniedException` (`access`), and
 * `KMS.DisabledException`, `KMS.NotFoundException`, `KMS.KMSInvalidStateException` (`key-state`). Any other
 * `KMS.*` code (a KMS throttle, say) is a transient answer the retry or the caller handles, and a 403 that names no
 * KMS action is an S3 grant problem: both stay as they are.
 */
export function kmsRefusal(error: unknown): KmsRefusal | undefined {
  const name = awsErrorName(error);
  if (name === 'KMS.AccessDeniedException') return 'access';
  if (name !== undefined && KEY_STATE_CODES.has(name)) return 'key-state';
  const message = error instanceof Error ? error.message : '';
  return (name === 'AccessDenied' || awsHttpStatus(error) === 403) && /\bkms:/i.test(message)
    ? 'access'
    : undefined;
}

/** Who was refused, for the message: "this function" in the Lambda adapters, "these credentials" in the CLI. */
export type KmsReader = 'this function' | 'these credentials';

/**
 * The failure for a read of `s3://bucket/key` that S3 refused for its KMS key, or `undefined` for any other error.
 * Deployments from before `stateEncryption` existed hold their inventory, state documents and certificates under
 * the old state key, which the functions are no longer granted under the default (SSE-S3): say which object, why,
 * and the two ways out, instead of a bare AccessDenied. For the CLI (`these credentials`) the operator's own
 * kms:Decrypt comes first: no construct setting grants it. A disabled or deleted key is no grant problem: say so.
 */
export function kmsReadFailure(
  bucket: string,
  key: string,
  error: unknown,
  reader: KmsReader,
  code: ErrorCode = 'store-failed',
): AcmeAwsError | undefined {
  const refusal = kmsRefusal(error);
  if (refusal === undefined) return undefined;
  const what = `Reading s3://${bucket}/${key} failed: `;
  if (refusal === 'key-state')
    return new AcmeAwsError(
      code,
      `${what}the KMS key that encrypts it is disabled, scheduled for deletion or deleted ` +
        `(${describeAwsError(error)}): re-enable the key, or cancel its deletion; no grant or stateEncryption ` +
        'setting makes a disabled key usable, and an object under a deleted key cannot be read again (see docs/security.md)',
      { cause: error },
    );
  if (reader === 'these credentials')
    // An operator's own grant is the first suspect; the old state key is the functions' problem too, if it is that.
    return new AcmeAwsError(
      code,
      `${what}the object is encrypted with a KMS key these credentials cannot use (${describeAwsError(error)}): ` +
        'give them kms:Decrypt on that key, or run the command with credentials that have it. If it is the old ' +
        'state key of a deployment from before the state bucket moved to SSE-S3, its functions cannot read the ' +
        "object either: set stateEncryption: 'kms' on the construct (keeps that key and grants it to them again), " +
        `or re-encrypt the state objects to SSE-S3 with \`acme-ari migrate-encryption --bucket ${bucket}\` run ` +
        'with credentials that can decrypt the old key (it never moves key material; see docs/security.md)',
      { cause: error },
    );
  return new AcmeAwsError(
    code,
    `${what}the object is encrypted with a KMS key ${reader} cannot use ` +
      `(${describeAwsError(error)}). An object written before the state bucket moved to SSE-S3 is under the old ` +
      `state key: either set stateEncryption: 'kms' on the construct (keeps that key and grants it again), or ` +
      `re-encrypt the state objects to SSE-S3 with \`acme-ari migrate-encryption --bucket ${bucket}\` ` +
      '(it never moves key material: an unreadable private or account key needs the first; see docs/security.md)',
    { cause: error },
  );
}
