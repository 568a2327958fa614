import { createHash } from 'node:crypto';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { AcmeAwsError } from '../core/errors';
import type {
  CertificateFiles,
  CertificateStore,
  StoredAccount,
  VersionedState,
} from '../core/renewal/ports';
import { type CertificateState, certificateStateSchema } from '../core/renewal/state';
import * as z from '../core/zod';
import type { RetryOptions } from './aws-retry';
import type { KmsReader } from './s3-errors';
import { isNotFound, isPreconditionFailed, S3Objects } from './s3-objects';

/** Where {@link S3CertificateStore} keeps its objects and how private material is encrypted. */
export interface S3CertificateStoreOptions {
  readonly bucket: string;
  /** @default a client built from `clientConfig` */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  /**
   * KMS key for objects that hold private keys (privkey.pem, pending-key.pem, accounts). The deployment gives it
   * only to the functions that use key material, so the scheduler can never decrypt them.
   * @default the bucket's default encryption
   */
  readonly keyMaterialKmsKeyId?: string;
  readonly retry?: RetryOptions;
  /** Who a KMS read failure says was refused. @default 'this function' (the Lambda adapters) */
  readonly kmsReader?: KmsReader;
}

const PEM = 'application/x-pem-file';
const JSON_TYPE = 'application/json';

const storedAccountSchema = z.object({
  directoryUrl: z.string(),
  accountUrl: z.string(),
  privateJwk: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

/**
 * Object keys of the store, in one place so the CDK grants, the IAM simulation and the docs follow them. Keys
 * holding private key material are listed in {@link KEY_MATERIAL_PATTERNS}.
 */
export const storeKeys = {
  inventory: 'inventory.json',
  cert: (id: string) => `certificates/${id}/cert.pem`,
  chain: (id: string) => `certificates/${id}/chain.pem`,
  fullchain: (id: string) => `certificates/${id}/fullchain.pem`,
  privkey: (id: string) => `certificates/${id}/privkey.pem`,
  state: (id: string) => `certificates/${id}/state.json`,
  pendingKey: (id: string) => `certificates/${id}/pending-key.pem`,
  /** One account per CA directory; hashed because a URL is not a safe key. */
  account: (directoryUrl: string) =>
    `accounts/${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.json`,
  /** One lease object per certificate (see `S3Lease`). */
  lease: (id: string) => `leases/${id}.json`,
  /** When each certificate must be looked at again (the scheduler's; see `schedule-index.ts`). */
  scheduleIndex: 'schedule-index.json',
  /** A renewer's note that a certificate's state changed (empty id: the prefix). */
  changeMarker: (id: string) => `changes/${id}`,
} as const;

/**
 * S3 key patterns (IAM wildcard syntax) of every object in the state bucket, by what it holds. The deployment grants
 * from these and nothing else: the scheduler gets `inventory` read and `state` read/write; key material is the
 * renewer's and the first-import function's alone.
 */
export const STORE_KEY_PATTERNS = {
  inventory: storeKeys.inventory,
  state: 'certificates/*/state.json',
  certificates: ['certificates/*/cert.pem', 'certificates/*/chain.pem', 'certificates/*/fullchain.pem'],
  keyMaterial: ['certificates/*/privkey.pem', 'certificates/*/pending-key.pem', 'accounts/*'],
  pendingKey: 'certificates/*/pending-key.pem',
  leases: 'leases/*',
  scheduleIndex: 'schedule-index.json',
  changes: 'changes/*',
} as const;

/**
 * Keeps the inventory, certificates, state documents and ACME accounts in one S3 bucket; objects holding
 * private keys are written with SSE-KMS when a key is configured.
 */
export class S3CertificateStore implements CertificateStore {
  readonly #objects: S3Objects;
  readonly #keyMaterialKmsKeyId: string | undefined;

  constructor(options: S3CertificateStoreOptions) {
    const client = options.client ?? new S3Client(options.clientConfig ?? {});
    this.#objects = new S3Objects(client, options.bucket, 'store-failed', options.retry, options.kmsReader);
    this.#keyMaterialKmsKeyId = options.keyMaterialKmsKeyId;
  }

  /** Encryption settings for objects that contain private keys. */
  get #secret() {
    return this.#keyMaterialKmsKeyId === undefined
      ? {}
      : {
          ServerSideEncryption: 'aws:kms' as const,
          SSEKMSKeyId: this.#keyMaterialKmsKeyId,
          BucketKeyEnabled: true,
        };
  }

  async loadInventory(): Promise<unknown> {
    const object = await this.#objects.get(storeKeys.inventory);
    if (object === undefined) return undefined;
    return this.#parseJson(storeKeys.inventory, object.body, 'config-invalid');
  }

  async getState(id: string): Promise<CertificateState | undefined> {
    return (await this.readState(id))?.state;
  }

  async readState(id: string): Promise<VersionedState | undefined> {
    const key = storeKeys.state(id);
    const object = await this.#objects.get(key);
    if (object === undefined) return undefined;
    const parsed = certificateStateSchema.safeParse(this.#parseJson(key, object.body, 'store-failed'));
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw this.#objects.failure(
        'Parsing',
        key,
        parsed.error,
        `not a valid state document (${problems}); fix or delete it to start over`,
      );
    }
    if (object.etag === undefined) {
      throw this.#objects.failure('Reading', key, undefined, 'S3 answered without an ETag');
    }
    return { state: parsed.data, etag: object.etag };
  }

  /**
   * `If-Match` on the ETag read, or `If-None-Match: *` for the first document: S3 answers 412 when another writer
   * got there first (409 when a conditional write races another, 404 when the document went).
   */
  async putStateIf(id: string, state: CertificateState, expectedEtag: string | undefined): Promise<string> {
    const key = storeKeys.state(id);
    const condition = expectedEtag === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedEtag };
    try {
      const { etag } = await this.#objects.put(key, `${JSON.stringify(state, null, 2)}\n`, {
        ContentType: JSON_TYPE,
        ...condition,
      });
      if (etag === undefined)
        throw this.#objects.failure('Writing', key, undefined, 'S3 answered without an ETag');
      return etag;
    } catch (error) {
      if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
      throw new AcmeAwsError(
        'state-conflict',
        `s3://${this.#objects.bucket}/${key} changed since it was read (${expectedEtag === undefined ? 'it exists now' : `no longer at ETag ${expectedEtag}`}); re-read it and decide again`,
        { cause: error },
      );
    }
  }

  async getCertificate(id: string): Promise<CertificateFiles | undefined> {
    const keys = [storeKeys.cert(id), storeKeys.chain(id), storeKeys.fullchain(id), storeKeys.privkey(id)];
    const [cert, chain, fullchain, privkey] = await Promise.all(keys.map((k) => this.#objects.get(k)));
    if (cert === undefined && chain === undefined && fullchain === undefined && privkey === undefined) {
      return undefined;
    }
    if (cert === undefined || chain === undefined || fullchain === undefined || privkey === undefined) {
      const missing = keys.filter((_, i) => [cert, chain, fullchain, privkey][i] === undefined);
      throw this.#objects.failure(
        'Reading',
        `certificates/${id}/`,
        undefined,
        `missing ${missing.join(', ')}`,
      );
    }
    return {
      certPem: cert.body,
      chainPem: chain.body,
      fullchainPem: fullchain.body,
      privateKeyPem: privkey.body,
    };
  }

  async putCertificate(id: string, files: CertificateFiles): Promise<void> {
    // The key first: a reader that sees the new certificate must never find the old key next to it.
    await this.#objects.put(storeKeys.privkey(id), files.privateKeyPem, {
      ContentType: PEM,
      ...this.#secret,
    });
    await Promise.all([
      this.#objects.put(storeKeys.cert(id), files.certPem, { ContentType: PEM }),
      this.#objects.put(storeKeys.chain(id), files.chainPem, { ContentType: PEM }),
      this.#objects.put(storeKeys.fullchain(id), files.fullchainPem, { ContentType: PEM }),
    ]);
  }

  async getPendingKey(id: string): Promise<string | undefined> {
    return (await this.#objects.get(storeKeys.pendingKey(id)))?.body;
  }

  async putPendingKey(id: string, privateKeyPem: string): Promise<void> {
    await this.#objects.put(storeKeys.pendingKey(id), privateKeyPem, { ContentType: PEM, ...this.#secret });
  }

  async deletePendingKey(id: string): Promise<void> {
    await this.#objects.delete(storeKeys.pendingKey(id));
  }

  async getAccount(directoryUrl: string): Promise<StoredAccount | undefined> {
    const key = storeKeys.account(directoryUrl);
    const object = await this.#objects.get(key);
    if (object === undefined) return undefined;
    const parsed = storedAccountSchema.safeParse(this.#parseSecretJson(key, object.body));
    if (!parsed.success || parsed.data.directoryUrl !== directoryUrl) {
      throw this.#objects.failure('Parsing', key, undefined, `not an ACME account for ${directoryUrl}`);
    }
    return parsed.data;
  }

  /**
   * Stores a new account unless one exists: `If-None-Match: *` makes the first of two concurrent first runs
   * win, and the loser gets the winner's account back, so a CA never sees two accounts from us.
   */
  async putAccount(account: StoredAccount): Promise<StoredAccount> {
    const key = storeKeys.account(account.directoryUrl);
    try {
      await this.#objects.put(key, `${JSON.stringify(account)}\n`, {
        ContentType: JSON_TYPE,
        IfNoneMatch: '*',
        ...this.#secret,
      });
      return account;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      const winner = await this.getAccount(account.directoryUrl);
      if (winner === undefined) {
        throw this.#objects.failure(
          'Writing',
          key,
          error,
          'a concurrent writer won but its account is not readable',
        );
      }
      return winner;
    }
  }

  /**
   * Parses an object that holds key material. JSON.parse quotes the text around the fault in its message, which
   * would put a fragment of the private key into the state, the failure event and the log: say only where.
   */
  #parseSecretJson(key: string, body: string): unknown {
    try {
      return JSON.parse(body);
    } catch {
      throw this.#objects.failure(
        'Parsing',
        key,
        undefined,
        'not valid JSON (its content is key material and is not quoted); restore the previous object version',
      );
    }
  }

  #parseJson(key: string, body: string, code: 'store-failed' | 'config-invalid'): unknown {
    try {
      return JSON.parse(body);
    } catch (error) {
      if (code === 'config-invalid') {
        throw new AcmeAwsError(
          'config-invalid',
          `s3://${this.#objects.bucket}/${key} is not valid JSON: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw this.#objects.failure('Parsing', key, error, `not valid JSON (${(error as Error).message})`);
    }
  }
}
