import { Duration, Lazy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { RENEWER_TIMEOUT } from './acme-function';

/** The renewal queue and its dead-letter queue, and who may send to it. */
export interface RenewalQueues {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Adds a principal to those the queue policy lets send (the scheduler). */
  allowSender(role: iam.IRole): void;
}

/**
 * The renewal queue, with a queue policy that denies `sqs:SendMessage` to every principal but the scheduler and
 * the operator's named requesters: a renewal message makes the renewer talk to the CA, so not everyone in the
 * account who holds `sqs:*` may send one.
 */
export function createRenewalQueues(
  scope: Construct,
  options: { readonly maxReceiveCount: number; readonly requesterArns: readonly string[] },
): RenewalQueues {
  const deadLetterQueue = new sqs.Queue(scope, 'RenewalDeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is the dead-letter queue of the renewal queue; it has no dead-letter queue of its own.',
  });
  const queue = new sqs.Queue(scope, 'RenewalQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // AWS's guidance for Lambda event sources: at least six times the function timeout, so a throttled or
    // retried batch never becomes visible while a renewal is still working on it.
    visibilityTimeout: Duration.minutes(RENEWER_TIMEOUT.toMinutes() * 6 + 5),
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
  });
  const senders: string[] = [...options.requesterArns];
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheSchedulerAndNamedRequestersSend',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnNotLike: { 'aws:PrincipalArn': Lazy.list({ produce: () => senders }) } },
    }),
  );
  return {
    queue,
    deadLetterQueue,
    allowSender: (role) => {
      senders.unshift(role.roleArn);
    },
  };
}
