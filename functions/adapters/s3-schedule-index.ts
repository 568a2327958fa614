import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { AcmeAwsError } from '../core/errors';
import type {
  ChangeMarker,
  InventoryRead,
  ScheduleIndex,
  ScheduleIndexStore,
} from '../core/renewal/schedule-index';
import { awsErrorName, awsHttpStatus, type RetryOptions, withRetry } from './aws-retry';
import type { KmsReader } from './s3-errors';
import { bodyText, isNotFound, isPreconditionFailed, S3Objects } from './s3-objects';
import { storeKeys } from './s3-store';

/** Where {@link S3ScheduleIndexStore} keeps the index and the change markers. */
export interface S3ScheduleIndexStoreOptions {
  readonly bucket: string;
  /** @default a client built from `clientConfig` */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  readonly retry?: RetryOptions;
  /** Who a KMS read failure says was refused. @default 'this function' (the Lambda adapters) */
  readonly kmsReader?: KmsReader;
}

const MARKER_PREFIX = storeKeys.changeMarker('');

/**
 * The schedule index as one object (`schedule-index.json`, written by the scheduler only, conditionally on the
 * version it read), the renewers' change markers as empty objects under `changes/`, listed once per pass, and the
 * inventory read conditionally on the version the index was computed from.
 */
export class S3ScheduleIndexStore implements ScheduleIndexStore {
  readonly #objects: S3Objects;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #retry: RetryOptions | undefined;

  constructor(options: S3ScheduleIndexStoreOptions) {
    this.#client = options.client ?? new S3Client(options.clientConfig ?? {});
    this.#bucket = options.bucket;
    this.#retry = options.retry;
    this.#objects = new S3Objects(
      this.#client,
      options.bucket,
      'store-failed',
      options.retry,
      options.kmsReader,
    );
  }

  async loadIndex(): Promise<{ value: unknown; etag: string } | undefined> {
    const object = await this.#objects.get(storeKeys.scheduleIndex);
    if (object === undefined || object.etag === undefined) return undefined;
    try {
      return { value: JSON.parse(object.body), etag: object.etag };
    } catch {
      // A damaged index is rebuilt by the pass; it holds no secret, but nothing needs its text either.
      return { value: undefined, etag: object.etag };
    }
  }

  /**
   * Writes the index as bytes, not text: at 100,000 certificates it is about 10 MB, and a string body would be
   * encoded again by the SDK (once for its checksum, once on the wire) while the pass's own arrays are still alive.
   */
  async saveIndex(index: ScheduleIndex, etag: string | undefined): Promise<boolean> {
    try {
      await this.#objects.put(storeKeys.scheduleIndex, Buffer.from(JSON.stringify(index)), {
        ContentType: 'application/json',
        ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
      });
      return true;
    } catch (error) {
      // Another pass wrote first: its index is as good as ours (both only ever err early).
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * `GetObject` of the inventory with `If-None-Match` on the version the index was computed from: S3 answers 304
   * without a body when it is unchanged (the same `s3:GetObject` permission as a plain read).
   */
  async readInventory(knownEtag: string | undefined): Promise<InventoryRead> {
    const key = storeKeys.inventory;
    let object: { body: string; etag?: string } | undefined;
    try {
      object = await withRetry(async () => {
        const out = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.#bucket,
            Key: key,
            ...(knownEtag === undefined ? {} : { IfNoneMatch: knownEtag }),
          }),
        );
        const body = await bodyText(out.Body, out.ContentLength);
        return { body, ...(out.ETag === undefined ? {} : { etag: out.ETag }) };
      }, this.#retry);
    } catch (error) {
      if (knownEtag !== undefined && isNotModified(error)) return { unchanged: true };
      if (!isNotFound(error)) throw this.#objects.readFailure(key, error);
    }
    if (object === undefined) return { value: undefined };
    try {
      return { value: JSON.parse(object.body), ...(object.etag === undefined ? {} : { etag: object.etag }) };
    } catch (error) {
      throw new AcmeAwsError(
        'config-invalid',
        `s3://${this.#bucket}/${key} is not valid JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async markChanged(id: string): Promise<void> {
    // A unique body gives every marker its own ETag, so the scheduler's conditional delete never removes a newer one.
    await this.#objects.put(storeKeys.changeMarker(id), randomUUID(), { ContentType: 'text/plain' });
  }

  async listChanged(): Promise<readonly ChangeMarker[]> {
    const markers: ChangeMarker[] = [];
    let token: string | undefined;
    do {
      const page = await withRetry(
        () =>
          this.#client.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: MARKER_PREFIX,
              ContinuationToken: token,
            }),
          ),
        this.#retry,
      ).catch((error: unknown) => {
        throw this.#objects.failure('Listing', MARKER_PREFIX, error);
      });
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.ETag === undefined) continue;
        markers.push({ id: object.Key.slice(MARKER_PREFIX.length), etag: object.ETag });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return markers;
  }

  async clearChanged(marker: ChangeMarker): Promise<void> {
    try {
      await this.#objects.delete(storeKeys.changeMarker(marker.id), marker.etag);
    } catch (error) {
      // A renewer marked it again after the list: keep the newer marker for the next pass.
      if (!isPreconditionFailed(error)) throw error;
    }
  }
}

/** S3's answer to a conditional GET whose `If-None-Match` still matches (304, no body). */
function isNotModified(error: unknown): boolean {
  return awsHttpStatus(error) === 304 || awsErrorName(error) === 'NotModified';
}
