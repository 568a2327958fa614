import { hostname } from 'node:os';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { kmsReadFailure } from '../adapters/s3-errors';
import { createRenewerRuntime, type Runtime, type RuntimeConfig } from '../composition/runtime';
import { createSchedulerRuntime } from '../composition/scheduler-runtime';
import { createStateRuntime } from '../composition/state-runtime';
import { DEPLOYMENT_KEY, type Deployment, deploymentSchema } from '../core/contracts/deployment';
import { type RenewalMessage, renewalMessageBody } from '../core/contracts/renewal-message';
import { AcmeAwsError } from '../core/errors';
import type { Fetch } from '../core/http';
import { UsageError } from './failure';

export type { RenewalMessage } from '../core/contracts/renewal-message';

/** What a command runs against: a deployment in AWS, or the local test bed. */
export interface Target {
  readonly runtime: Runtime;
  /** Human description for messages, e.g. `s3://certs-state (eu-west-1)`. */
  readonly description: string;
  /** Sends a message to the renewer's queue; absent when there is no queue (renewals then run in-process). */
  readonly enqueue?: (message: RenewalMessage) => Promise<string>;
  /** Identifies this CLI run as the lease owner of an in-process renewal. */
  readonly owner: string;
  /** Resolvers `doctor` asks (`host:port`); absent: the system's. The test bed sets its DNS responder. */
  readonly dnsServers?: readonly string[];
  /** The bucket's deployment.json, when the deployment wrote one (`doctor` judges its renewer role). */
  readonly deployment?: Deployment;
}

/** The global options that select a deployment. */
export interface AwsOptions {
  readonly bucket?: string;
  readonly queueUrl?: string;
  readonly region?: string;
}

/**
 * Builds the runtime for a deployment from flags, then environment (`STATE_BUCKET`, `RENEWAL_QUEUE_URL`,
 * `AWS_REGION`, `AWS_ENDPOINT_URL`), then the bucket's `deployment.json` (service name, KMS key, interval), so
 * an in-process renewal imports and stores exactly as the renewer function does; credentials come from the SDK's
 * usual chain.
 */
export async function awsTarget(options: AwsOptions, env: NodeJS.ProcessEnv, fetch?: Fetch): Promise<Target> {
  const { bucket, region, endpoint } = awsLocation(options, env);
  const deployment = await readDeployment(bucket, region, endpoint);
  const queueUrl = options.queueUrl ?? env.RENEWAL_QUEUE_URL ?? deployment?.renewalQueueUrl;
  const config: RuntimeConfig = {
    bucket,
    queueUrl,
    region,
    ariConcurrency: 10,
    // The scheduler's lookahead: `check` must decide as the deployed scheduler would.
    scheduleIntervalMs: (deployment?.scheduleIntervalMinutes ?? 60) * 60_000,
    ...(deployment
      ? {
          serviceName: deployment.serviceName,
          keyMaterialKmsKeyId: deployment.keyMaterialKmsKeyId,
          forcedRenewalMinIntervalMs: deployment.forcedRenewalIntervalMinutes * 60_000,
        }
      : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(fetch ? { fetch } : {}),
  };
  const target = targetFor(config, `s3://${bucket} (${region})`);
  return deployment ? { ...target, deployment } : target;
}

/** The state bucket, its region and the AWS endpoint, from flags, then environment; a usage error names what is missing. */
export function awsLocation(
  options: AwsOptions,
  env: NodeJS.ProcessEnv,
): { bucket: string; region: string; endpoint: string | undefined } {
  const bucket = options.bucket ?? env.STATE_BUCKET;
  if (!bucket)
    throw new UsageError(
      'which deployment? pass --bucket <state bucket> or set STATE_BUCKET (or use --bed for the local test bed)',
    );
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('which region? pass --region or set AWS_REGION');
  return { bucket, region, endpoint: env.AWS_ENDPOINT_URL };
}

/** An S3 client for the state bucket with the operator's credentials (the SDK's usual chain). */
export function stateBucketClient(region: string, endpoint: string | undefined): S3Client {
  return new S3Client({ region, ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}

/** The deployment document, or `undefined` for a bucket deployed before it existed (then imports stay untagged). */
async function readDeployment(
  bucket: string,
  region: string,
  endpoint: string | undefined,
): Promise<Deployment | undefined> {
  const s3 = stateBucketClient(region, endpoint);
  try {
    return await readDeploymentWith(s3, bucket);
  } finally {
    s3.destroy();
  }
}

/** {@link readDeployment} through a client the caller owns (`migrate-encryption` reads it with its own). */
export async function readDeploymentWith(s3: S3Client, bucket: string): Promise<Deployment | undefined> {
  let text: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: DEPLOYMENT_KEY }));
    text = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw (
      kmsReadFailure(bucket, DEPLOYMENT_KEY, error, 'these credentials') ??
      new AcmeAwsError(
        'store-failed',
        `could not read s3://${bucket}/${DEPLOYMENT_KEY}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(
      `s3://${bucket}/${DEPLOYMENT_KEY} is not a deployment document; run cdk deploy again to rewrite it`,
    );
  }
  return parsed.data;
}

/**
 * The whole system in this process, as `createRuntime` builds it, on a state runtime whose failures name the
 * operator's credentials ("these credentials") where the Lambdas' name "this function".
 */
export function cliRuntime(config: RuntimeConfig): Runtime {
  const state = createStateRuntime(config, { kmsReader: 'these credentials' });
  return { ...createSchedulerRuntime(config, state), ...createRenewerRuntime(config, state) };
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
    runtime: cliRuntime(config),
    description,
    owner: `acme-ari-cli@${hostname()}/${process.pid}`,
    enqueue:
      sqs && queueUrl
        ? async (message) => {
            try {
              const sent = await sqs.send(
                new SendMessageCommand({
                  QueueUrl: queueUrl,
                  MessageBody: renewalMessageBody(message),
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
