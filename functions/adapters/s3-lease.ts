import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Lease, LeaseHandle } from '../core/renewal/ports';
import type { RetryOptions } from './aws-retry';
import type { KmsReader } from './s3-errors';
import { isPreconditionFailed, S3Objects } from './s3-objects';
import { storeKeys } from './s3-store';

/** Where {@link S3Lease} keeps its lease objects. */
export interface S3LeaseOptions {
  readonly bucket: string;
  /** @default a client built from `clientConfig` */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  readonly retry?: RetryOptions;
  /** Who a KMS read failure says was refused. @default 'this function' (the Lambda adapters) */
  readonly kmsReader?: KmsReader;
}

interface LeaseDocument {
  readonly id: string;
  readonly owner: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

function parseLease(body: string): LeaseDocument | undefined {
  try {
    const value = JSON.parse(body) as Partial<LeaseDocument>;
    if (typeof value.owner !== 'string' || typeof value.expiresAt !== 'string') return undefined;
    if (Number.isNaN(Date.parse(value.expiresAt))) return undefined;
    return value as LeaseDocument;
  } catch {
    return undefined;
  }
}

/** The S3 key of the lease for certificate `id`. */
export function leaseKey(id: string): string {
  return storeKeys.lease(id);
}

/**
 * Mutual exclusion per certificate with S3 conditional writes: `leases/<id>.json` is created with
 * `If-None-Match: *`, so of two renewers exactly one creates it.
 *
 * A stale lease (past `expiresAt`) is deleted with `If-Match: <etag>` and creation is tried once more. Where
 * S3 (or a test double) does not enforce `If-Match` on delete, two renewers that both saw the same stale lease
 * could in theory both delete it and one of them re-create it after the other already did; the second
 * `If-None-Match` create still lets only one of them win. The remaining window (holder A creates, B deletes A's
 * fresh lease believing it stale) needs B to have read the stale lease before A replaced it and to delete after
 * — milliseconds — and even then the ACME order is idempotent per state: the loser resumes the same
 * `pendingOrder` rather than creating a second certificate.
 */
export class S3Lease implements Lease {
  readonly #objects: S3Objects;

  constructor(options: S3LeaseOptions) {
    const client = options.client ?? new S3Client(options.clientConfig ?? {});
    this.#objects = new S3Objects(client, options.bucket, 'store-failed', options.retry, options.kmsReader);
  }

  async acquire(id: string, owner: string, ttlMs: number, now: Date): Promise<LeaseHandle | undefined> {
    const key = leaseKey(id);
    const expiresAt = new Date(now.getTime() + ttlMs);
    const document: LeaseDocument = {
      id,
      owner,
      acquiredAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const { etag } = await this.#objects.put(key, JSON.stringify(document), {
          IfNoneMatch: '*',
          ContentType: 'application/json',
        });
        return { id, owner, expiresAt, ...(etag === undefined ? {} : { version: etag }) };
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
      }
      const current = await this.#objects.get(key);
      if (current === undefined) continue; // Released between our write and our read: try again.
      const holder = parseLease(current.body);
      // An unreadable lease is treated as stale: otherwise one bad write would block a certificate forever.
      if (holder !== undefined && Date.parse(holder.expiresAt) > now.getTime()) return undefined;
      try {
        await this.#objects.delete(key, current.etag);
      } catch (error) {
        if (isPreconditionFailed(error)) return undefined; // Someone else replaced it: they hold it now.
        throw error;
      }
    }
    return undefined;
  }

  /**
   * Deletes the lease only while it is the one the holder wrote: `If-Match` on the ETag its creation returned (one
   * call), or, without it, after reading who holds it now. A renewer whose lease expired and was taken over must
   * not free the new one; S3 answers that delete 412 and nothing is removed.
   */
  async release(handle: LeaseHandle): Promise<void> {
    const key = leaseKey(handle.id);
    if (handle.version !== undefined) {
      try {
        await this.#objects.delete(key, handle.version);
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
      }
      return;
    }
    const current = await this.#objects.get(key);
    if (current === undefined) return;
    // Only the holder may release: a renewer whose lease expired and was taken over must not free the new one.
    if (parseLease(current.body)?.owner !== handle.owner) return;
    try {
      await this.#objects.delete(key, current.etag);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
  }
}
