import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsRenewalQueue } from '../../../functions/adapters/sqs-queue';
import { hasCode } from '../../../functions/core/errors';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const sqsClient = new SQSClient(config);
const sqs = mockClient(sqsClient);
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/renewals';

beforeEach(() => {
  sqs.reset();
});

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `cert-${i}`, reason: 'ari-window' as const }));

describe('SqsRenewalQueue', () => {
  it('sends 23 requests as batches of 10, 10 and 3', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await new SqsRenewalQueue({ queueUrl, client: sqsClient }).enqueue(requests(23));
    const batches = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries ?? []);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(JSON.parse(batches[2]?.[2]?.MessageBody ?? '')).toEqual({ id: 'cert-22', reason: 'ari-window' });
  });

  it('retries only the failed entries once', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });
    await new SqsRenewalQueue({ queueUrl, client: sqsClient }).enqueue(requests(3));
    const retried = sqs.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries ?? [];
    expect(retried.map((e) => JSON.parse(e.MessageBody ?? '').id)).toEqual(['cert-1']);
  });

  it('fails with queue-failed naming the certificates that failed twice', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '2', Code: 'InternalError', SenderFault: false }] });
    const error = await new SqsRenewalQueue({ queueUrl, client: sqsClient })
      .enqueue(requests(3))
      .catch((e) => e);
    expect(hasCode(error, 'queue-failed')).toBe(true);
    expect((error as Error).message).toContain('cert-2');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });
});
