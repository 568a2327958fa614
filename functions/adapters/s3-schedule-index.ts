import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { ChangeMarker, ScheduleIndex, ScheduleIndexStore } from '../core/renewal/schedule-index';
import { type RetryOptions, withRetry } from './aws-retry';
import { isPreconditionFailed, S3Objects } from './s3-objects';
import { storeKeys } from './s3-store';

/** Where {@link S3ScheduleIndexStore} keeps the index and the change markers. */
export interface S3ScheduleIndexStoreOptions {
  readonly bucket: string;
  /** @default a client built from `clientConfig` */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  readonly retry?: RetryOptions;
}

const MARKER_PREFIX = storeKeys.changeMarker('');

/**
 * The schedule index as one object (`schedule-index.json`, written by the scheduler only, conditionally on the
 * version it read) and the renewers' change markers as empty objects under `changes/`, listed once per pass.
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
    this.#objects = new S3Objects(this.#client, options.bucket, 'store-failed', options.retry);
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

  async saveIndex(index: ScheduleIndex, etag: string | undefined): Promise<boolean> {
    try {
      await this.#objects.put(storeKeys.scheduleIndex, JSON.stringify(index), {
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
