import { realSleep } from '../adapters/aws-retry';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { SqsRenewalQueue } from '../adapters/sqs-queue';
import { ARI_CHECK_JITTER, ARI_REQUESTS_PER_SECOND, perKeyTokenBuckets } from '../core/ari';
import { ConfigError } from '../core/config/inventory';
import type { RenewalQueue } from '../core/renewal/ports';
import { runScheduler, type SchedulerReport } from '../core/renewal/run-scheduler';
import { passBudget, SCHEDULER_PASS_BUDGET_MS } from '../core/time-budget';
import { awsBase, type RuntimeConfig } from './runtime-config';
import { createStateRuntime, type StateRuntime } from './state-runtime';

export { awsBase, s3ClientConfig } from './runtime-config';

/**
 * What the scheduler needs, and only that: the scheduler Lambda bundles this module alone, so it carries the S3
 * and SQS clients (and EventBridge, for `ARI Window Moved`) and none of the renewer's (Route 53, STS, ACM,
 * Secrets Manager, Lambda).
 */
export interface SchedulerRuntime extends StateRuntime {
  scheduler(options?: { dryRun?: boolean; only?: string }): Promise<SchedulerReport>;
}

/** The renewal queue, or one that names the missing variable when a local run without a queue enqueues. */
function queueFor(config: RuntimeConfig): RenewalQueue {
  if (config.queueUrl)
    return new SqsRenewalQueue({ queueUrl: config.queueUrl, clientConfig: awsBase(config) });
  return {
    enqueue: async () => {
      throw new ConfigError('the scheduler', [
        { path: 'RENEWAL_QUEUE_URL', message: 'is required to enqueue renewals' },
      ]);
    },
  };
}

/**
 * Builds the scheduler's adapters for one container (or one local run), on `state` when the caller shares one
 * with a renewer (the local runtime).
 */
export function createSchedulerRuntime(
  config: RuntimeConfig,
  state: StateRuntime = createStateRuntime(config),
): SchedulerRuntime {
  const queue = queueFor(config);
  // One bucket per CA for the container's life: passes that follow each other closely share the bound.
  const ariRate = perKeyTokenBuckets({
    perSecond: config.ariRequestsPerSecond ?? ARI_REQUESTS_PER_SECOND,
    nowMs: () => performance.now(),
    sleep: realSleep,
  });
  const { store, fetch, clock, index, transport } = state;
  return {
    ...state,
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
          // A CA-moved ARI window is announced on the bus (issue 14); PutEvents is granted for that type only.
          events: new EventBridgePublisher({
            eventBusName: config.eventBusName,
            clientConfig: awsBase(config),
          }),
        },
        options,
      ),
  };
}
