import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ErrorCode } from '../core/errors';
import { AcmeAwsError } from '../core/errors';
import {
  awsErrorName,
  awsHttpStatus,
  describeAwsError,
  isThrottling,
  type RetryOptions,
  withRetry,
} from './aws-retry';
import { type KmsReader, kmsReadFailure } from './s3-errors';

/** S3 answers "slow down" as 503 SlowDown and sometimes a bare 500/503 that a later retry gets past. */
function retryableS3(error: unknown): boolean {
  const status = awsHttpStatus(error);
  return isThrottling(error) || status === 503;
}

/** True when S3 answered that the object does not exist. */
export function isNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || awsHttpStatus(error) === 404;
}

/** True when a conditional write lost (`If-None-Match: *` on an existing key, or a concurrent conditional write). */
export function isPreconditionFailed(error: unknown): boolean {
  const name = awsErrorName(error);
  const status = awsHttpStatus(error);
  return (
    name === 'PreconditionFailed' || status === 412 || name === 'ConditionalRequestConflict' || status === 409
  );
}

/** A text object with its ETag. */
export interface S3Text {
  readonly body: string;
  readonly etag?: string;
}

/**
 * Small object I/O over one bucket shared by the S3 adapters: retries throttling, maps "no such key" to
 * `undefined`, and turns every other failure into an `AcmeAwsError` naming bucket and key.
 */
export class S3Objects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly code: ErrorCode,
    private readonly retry: RetryOptions = {},
    /** Who was refused, in a KMS read failure's message. @default 'this function' (the Lambda adapters) */
    readonly reader: KmsReader = 'this function',
  ) {}

  /** Reads a text object, or `undefined` when it does not exist. */
  async get(key: string): Promise<S3Text | undefined> {
    try {
      return await withRetry(
        async () => {
          const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
          const body = await bodyText(out.Body, out.ContentLength);
          return { body, ...(out.ETag === undefined ? {} : { etag: out.ETag }) };
        },
        this.retry,
        retryableS3,
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.readFailure(key, error);
    }
  }

  /**
   * Writes an object (text, or bytes for a large one the caller has encoded already) and returns its new ETag. A
   * conditional write's loss (`If-None-Match` on an existing key, `If-Match` on a changed or missing one) is rethrown
   * untranslated so callers can branch on it.
   */
  async put(
    key: string,
    body: string | Uint8Array,
    extra: Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body'> = {},
  ): Promise<{ etag?: string }> {
    try {
      const out = await withRetry(
        () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ...extra })),
        this.retry,
        retryableS3,
      );
      return out.ETag === undefined ? {} : { etag: out.ETag };
    } catch (error) {
      if (extra.IfNoneMatch !== undefined && isPreconditionFailed(error)) throw error;
      if (extra.IfMatch !== undefined && (isPreconditionFailed(error) || isNotFound(error))) throw error;
      throw this.failure('Writing', key, error);
    }
  }

  /** Deletes an object; deleting a missing one succeeds (S3 itself answers 204). */
  async delete(key: string, ifMatch?: string): Promise<void> {
    try {
      await withRetry(
        () =>
          this.client.send(
            new DeleteObjectCommand({
              Bucket: this.bucket,
              Key: key,
              ...(ifMatch === undefined ? {} : { IfMatch: ifMatch }),
            }),
          ),
        this.retry,
        retryableS3,
      );
    } catch (error) {
      if (isNotFound(error)) return;
      if (ifMatch !== undefined && isPreconditionFailed(error)) throw error;
      throw this.failure('Deleting', key, error);
    }
  }

  /** The domain error for a failed read of `key`; a KMS key the caller cannot use is named as such (s3-errors.ts). */
  readFailure(key: string, error: unknown): AcmeAwsError {
    return (
      kmsReadFailure(this.bucket, key, error, this.reader, this.code) ?? this.failure('Reading', key, error)
    );
  }

  /** The domain error for a failed call on `key`. */
  failure(verb: string, key: string, error: unknown, detail?: string): AcmeAwsError {
    const reason = detail ?? describeAwsError(error);
    return new AcmeAwsError(this.code, `${verb} s3://${this.bucket}/${key} failed: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * A response body as text. The SDK's `transformToString` gathers every chunk, copies them into one buffer and decodes
 * that: twice the body in buffers, which a pass over 100,000 certificates (an index and an inventory of about 10 MB
 * each) then carries until the next full collection. With the length known, the chunks are copied into one buffer
 * as they arrive and each is let go of at once. Decoded as the SDK does (`Buffer#toString('utf8')`: a byte-order mark
 * is kept, so JSON.parse rejects it alike; invalid bytes become U+FFFD).
 */
export async function bodyText(body: unknown, length: number | undefined): Promise<string> {
  if (body === undefined || body === null) return '';
  if (length === undefined || !(typeof body === 'object' && Symbol.asyncIterator in body))
    return (body as { transformToString(encoding: string): Promise<string> }).transformToString('utf8');
  let bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    // More than announced cannot come over HTTP/1.1 framing; kept whole all the same.
    if (filled + chunk.byteLength > bytes.length)
      bytes = Buffer.concat(
        [bytes.subarray(0, filled)],
        Math.max(bytes.length * 2, filled + chunk.byteLength),
      );
    bytes.set(chunk, filled);
    filled += chunk.byteLength;
  }
  return bytes.toString('utf8', 0, filled);
}
