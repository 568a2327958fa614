import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { renewalMessageBody } from '../core/contracts/renewal-message';
import { AcmeAwsError } from '../core/errors';
import type { RenewalQueue, RenewalRequest } from '../core/renewal/ports';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

/** Where {@link SqsRenewalQueue} sends renewal requests. */
export interface SqsRenewalQueueOptions {
  readonly queueUrl: string;
  /** @default a client built from `clientConfig` */
  readonly client?: SQSClient;
  readonly clientConfig?: SQSClientConfig;
  readonly retry?: RetryOptions;
}

/** SQS accepts at most ten entries per SendMessageBatch. */
const BATCH_SIZE = 10;

/** Sends one SQS message per due certificate, in batches of ten; a partly failed batch is retried once. */
export class SqsRenewalQueue implements RenewalQueue {
  readonly #client: SQSClient;
  readonly #options: SqsRenewalQueueOptions;

  constructor(options: SqsRenewalQueueOptions) {
    this.#options = options;
    this.#client = options.client ?? new SQSClient(options.clientConfig ?? {});
  }

  async enqueue(requests: readonly RenewalRequest[]): Promise<void> {
    for (let start = 0; start < requests.length; start += BATCH_SIZE) {
      const entries = requests.slice(start, start + BATCH_SIZE).map(
        (request, index): SendMessageBatchRequestEntry => ({
          // Entry ids only need to be unique within the batch; the index keeps them short and valid.
          Id: String(index),
          MessageBody: renewalMessageBody({ id: request.id, reason: request.reason }),
          // Lets a FIFO queue deduplicate per certificate; standard queues ignore it.
          ...(this.#options.queueUrl.endsWith('.fifo') ? { MessageGroupId: request.id } : {}),
        }),
      );
      await this.#send(entries);
    }
  }

  async #send(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    let lastFailure = '';
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      const batch = pending;
      let failed: { Id?: string; Code?: string; Message?: string }[];
      try {
        const out = await withRetry(
          () =>
            this.#client.send(
              new SendMessageBatchCommand({ QueueUrl: this.#options.queueUrl, Entries: batch }),
            ),
          this.#options.retry,
        );
        failed = out.Failed ?? [];
      } catch (error) {
        throw new AcmeAwsError(
          'queue-failed',
          `Sending ${batch.length} renewal requests to ${this.#options.queueUrl} failed: ${describeAwsError(error)}`,
          { cause: error },
        );
      }
      const failedIds = new Set(failed.map((f) => f.Id));
      lastFailure = failed.map((f) => `${f.Code ?? 'error'}: ${f.Message ?? ''}`).join('; ');
      pending = batch.filter((entry) => failedIds.has(entry.Id));
    }
    if (pending.length > 0) {
      const ids = pending.map((e) => (JSON.parse(e.MessageBody ?? '{}') as { id?: string }).id).join(', ');
      throw new AcmeAwsError(
        'queue-failed',
        `SQS refused renewal requests for ${ids} twice (${lastFailure}); they will be retried on the next schedule`,
      );
    }
  }
}
