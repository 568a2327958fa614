import { realSleep } from '../adapters/aws-retry';
import { S3ScheduleIndexStore } from '../adapters/s3-schedule-index';
import { S3CertificateStore } from '../adapters/s3-store';
import { SqsRenewalQueue } from '../adapters/sqs-queue';
import { AcmeTransport } from '../core/acme';
import { ARI_CHECK_JITTER, ARI_REQUESTS_PER_SECOND, perKeyTokenBuckets } from '../core/ari';
import type { Clock } from '../core/clock';
import { ConfigError } from '../core/config/inventory';
import type { Fetch } from '../core/http';
import type { CertificateStore } from '../core/renewal/ports';
import { runScheduler, type SchedulerReport } from '../core/renewal/run-scheduler';
import type { ScheduleIndexStore } from '../core/renewal/schedule-index';
import { passBudget, SCHEDULER_PASS_BUDGET_MS } from '../core/time-budget';
import { awsBase, type RuntimeConfig, s3ClientConfig } from './runtime-config';

export { awsBase, s3ClientConfig } from './runtime-config';

/**
 * What the scheduler needs, and only that: the scheduler Lambda bundles this module alone, so it carries the S3
 * and SQS clients and none of the renewer's (Route 53, STS, ACM, EventBridge, Secrets Manager).
 */
export interface SchedulerRuntime {
  readonly config: RuntimeConfig;
  readonly store: CertificateStore;
  /** The schedule index and the renewers' change markers (the renewer marks, the scheduler reads and clears). */
  readonly index: ScheduleIndexStore;
  readonly fetch: Fetch;
  readonly clock: Clock;
  /** One transport per directory URL, so each CA's directory is fetched once per container. */
  transport(directoryUrl: string): AcmeTransport;
  scheduler(options?: { dryRun?: boolean; only?: string }): Promise<SchedulerReport>;
}

/** Builds the scheduler's adapters and ACME transports for one container (or one local run). */
export function createSchedulerRuntime(config: RuntimeConfig): SchedulerRuntime {
  const fetch: Fetch = config.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const clock: Clock = config.clock ?? { now: () => new Date() };
  const s3Store = new S3CertificateStore({
    bucket: config.bucket,
    clientConfig: s3ClientConfig(config),
    keyMaterialKmsKeyId: config.keyMaterialKmsKeyId,
  });
  const store = config.decorate?.store?.(s3Store) ?? s3Store;
  const index = new S3ScheduleIndexStore({ bucket: config.bucket, clientConfig: s3ClientConfig(config) });
  // One bucket per CA for the container's life: passes that follow each other closely share the bound.
  const ariRate = perKeyTokenBuckets({
    perSecond: ARI_REQUESTS_PER_SECOND,
    nowMs: () => performance.now(),
    sleep: realSleep,
  });
  const transports = new Map<string, AcmeTransport>();
  const transport = (directoryUrl: string): AcmeTransport => {
    let t = transports.get(directoryUrl);
    if (!t) {
      t = new AcmeTransport({ directoryUrl, fetch, clock, sleep: realSleep });
      transports.set(directoryUrl, t);
    }
    return t;
  };
  const queue = config.queueUrl
    ? new SqsRenewalQueue({ queueUrl: config.queueUrl, clientConfig: awsBase(config) })
    : {
        enqueue: async () => {
          throw new ConfigError('the scheduler', [
            { path: 'RENEWAL_QUEUE_URL', message: 'is required to enqueue renewals' },
          ]);
        },
      };
  return {
    config,
    store,
    index,
    fetch,
    clock,
    transport,
    scheduler: (options) =>
      runScheduler(
        {
          store,
          queue,
          fetch,
          renewalInfoUrl: async (directoryUrl) => (await transport(directoryUrl).directory()).renewalInfo,
          now: clock.now(),
          random: Math.random,
          concurrency: config.ariConcurrency,
          lookaheadMs: config.scheduleIntervalMs,
          // A pass stops starting checks in time to enqueue what it found and publish the heartbeat.
          remainingMs: passBudget(clock, SCHEDULER_PASS_BUDGET_MS),
          index,
          ariJitter: ARI_CHECK_JITTER,
          ariRate,
        },
        options,
      ),
  };
}
