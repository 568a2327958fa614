import { S3Client } from '@aws-sdk/client-s3';
import { realSleep } from '../adapters/aws-retry';
import { createHttpsFetch } from '../adapters/https-fetch';
import type { KmsReader } from '../adapters/s3-errors';
import { S3ScheduleIndexStore } from '../adapters/s3-schedule-index';
import { S3CertificateStore } from '../adapters/s3-store';
import { AcmeTransport } from '../core/acme';
import type { Clock } from '../core/clock';
import type { Fetch } from '../core/http';
import type { CertificateStore } from '../core/renewal/ports';
import type { ScheduleIndexStore } from '../core/renewal/schedule-index';
import { type RuntimeConfig, s3ClientConfig } from './runtime-config';

/**
 * What the scheduler and the renewer share, and nothing else: the state bucket (store and schedule index), the
 * CA's transports, the fetch and the clock. Each function's runtime builds on it, so the scheduler's bundle carries
 * no renewer client and the renewer's no SQS.
 */
export interface StateRuntime {
  readonly config: RuntimeConfig;
  readonly store: CertificateStore;
  /** The schedule index and the renewers' change markers (the renewer marks, the scheduler reads and clears). */
  readonly index: ScheduleIndexStore;
  readonly fetch: Fetch;
  readonly clock: Clock;
  /** The one S3 client of the container: store, index and lease share its connections and credentials. */
  readonly s3: S3Client;
  /** Who a KMS read failure of the adapters on `s3` says was refused (the lease's too). */
  readonly kmsReader: KmsReader;
  /** One transport per directory URL, so each CA's directory is fetched once per container. */
  transport(directoryUrl: string): AcmeTransport;
}

/** How {@link createStateRuntime} names its caller. */
export interface StateRuntimeOptions {
  /**
   * Who a KMS read failure says was refused: the CLI passes "these credentials", since it signs with the operator's.
   * @default 'this function'
   */
  readonly kmsReader?: KmsReader;
}

/** Builds the shared parts for one container (or one local run). */
export function createStateRuntime(config: RuntimeConfig, options: StateRuntimeOptions = {}): StateRuntime {
  const fetch: Fetch = config.fetch ?? createHttpsFetch();
  const clock: Clock = config.clock ?? { now: () => new Date() };
  const s3 = new S3Client(s3ClientConfig(config));
  const kmsReader = options.kmsReader ?? 'this function';
  const s3Store = new S3CertificateStore({
    bucket: config.bucket,
    client: s3,
    keyMaterialKmsKeyId: config.keyMaterialKmsKeyId,
    kmsReader,
  });
  const store = config.decorate?.store?.(s3Store) ?? s3Store;
  const index = new S3ScheduleIndexStore({ bucket: config.bucket, client: s3, kmsReader });
  const transports = new Map<string, AcmeTransport>();
  const transport = (directoryUrl: string): AcmeTransport => {
    let t = transports.get(directoryUrl);
    if (!t) {
      t = new AcmeTransport({ directoryUrl, fetch, clock, sleep: realSleep });
      transports.set(directoryUrl, t);
    }
    return t;
  };
  return { config, store, index, fetch, clock, s3, kmsReader, transport };
}
