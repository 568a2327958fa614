import { hostname } from 'node:os';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AcmeAwsError } from '../core/errors';
import type { Fetch } from '../core/http';
import { createRuntime, type Runtime, type RuntimeConfig } from '../handlers/runtime';
import { UsageError } from './failure';

/** A forced renewal as the renewer's queue expects it (see `handlers/renewer.ts`). */
export interface RenewalMessage {
  readonly id: string;
  readonly reason: 'forced';
  readonly force: boolean;
}

/** What a command runs against: a deployment in AWS, or the local test bed. */
export interface Target {
  readonly runtime: Runtime;
  /** Human description for messages, e.g. `s3://certs-state (eu-west-1)`. */
  readonly description: string;
  /** Sends a message to the renewer's queue; absent when there is no queue (renewals then run in-process). */
  readonly enqueue?: (message: RenewalMessage) => Promise<string>;
  /** Identifies this CLI run as the lease owner of an in-process renewal. */
  readonly owner: string;
}

/** The global options that select a deployment. */
export interface AwsOptions {
  readonly bucket?: string;
  readonly queueUrl?: string;
  readonly region?: string;
}

/**
 * Builds the runtime for a deployment from flags, then environment (`STATE_BUCKET`, `RENEWAL_QUEUE_URL`,
 * `AWS_REGION`, `AWS_ENDPOINT_URL`); credentials come from the SDK's usual chain.
 */
export function awsTarget(options: AwsOptions, env: NodeJS.ProcessEnv, fetch?: Fetch): Target {
  const bucket = options.bucket ?? env.STATE_BUCKET;
  if (!bucket)
    throw new UsageError(
      'which deployment? pass --bucket <state bucket> or set STATE_BUCKET (or use --bed for the local test bed)',
    );
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('which region? pass --region or set AWS_REGION');
  const queueUrl = options.queueUrl ?? env.RENEWAL_QUEUE_URL;
  const endpoint = env.AWS_ENDPOINT_URL;
  const interval = Number(env.SCHEDULE_INTERVAL_MINUTES ?? 60);
  const config: RuntimeConfig = {
    bucket,
    queueUrl,
    region,
    ariConcurrency: 10,
    // The scheduler's lookahead: `check` must decide as the deployed scheduler would.
    scheduleIntervalMs: (Number.isFinite(interval) && interval > 0 ? interval : 60) * 60_000,
    ...(endpoint ? { endpoint } : {}),
    ...(fetch ? { fetch } : {}),
  };
  return targetFor(config, `s3://${bucket} (${region})`);
}

/** A target around any runtime configuration; `enqueue` is there when the configuration names a queue. */
export function targetFor(config: RuntimeConfig, description: string): Target {
  const queueUrl = config.queueUrl;
  const sqs = queueUrl
    ? new SQSClient({
        region: config.region,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        ...(config.credentials ? { credentials: config.credentials } : {}),
      })
    : undefined;
  return {
    runtime: createRuntime(config),
    description,
    owner: `acme-ari-cli@${hostname()}/${process.pid}`,
    enqueue:
      sqs && queueUrl
        ? async (message) => {
            try {
              const sent = await sqs.send(
                new SendMessageCommand({
                  QueueUrl: queueUrl,
                  MessageBody: JSON.stringify(message),
                  ...(queueUrl.endsWith('.fifo') ? { MessageGroupId: message.id } : {}),
                }),
              );
              return sent.MessageId ?? '?';
            } catch (error) {
              throw new AcmeAwsError(
                'queue-failed',
                `could not send the renewal of "${message.id}" to ${queueUrl}: ${error instanceof Error ? error.message : String(error)}`,
                { cause: error },
              );
            }
          }
        : undefined,
  };
}
