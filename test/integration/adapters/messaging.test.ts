import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../functions/adapters/eventbridge-publisher';
import { SecretsManagerReader } from '../../../functions/adapters/secrets-reader';
import { SqsRenewalQueue } from '../../../functions/adapters/sqs-queue';
import { hasCode } from '../../../functions/core/errors';
import { awsTestConfig, type MotoServer, startMoto } from '../../../testbed/moto';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
});

describe('SQS, EventBridge and Secrets Manager adapters against moto', () => {
  it('enqueues every renewal request as one message', async () => {
    const sqs = new SQSClient(awsTestConfig(moto.endpoint));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'renewals' }));
    const requests = Array.from({ length: 12 }, (_, i) => ({ id: `cert-${i}`, reason: 'ratio' as const }));

    await new SqsRenewalQueue({ queueUrl: QueueUrl ?? '', client: sqs }).enqueue(requests);

    const ids: string[] = [];
    for (let i = 0; i < 5 && ids.length < 12; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) ids.push((JSON.parse(m.Body ?? '{}') as { id: string }).id);
    }
    expect(ids.sort()).toEqual(requests.map((r) => r.id).sort());
  });

  it('publishes an event to a named bus', async () => {
    const events = new EventBridgeClient(awsTestConfig(moto.endpoint));
    await events.send(new CreateEventBusCommand({ Name: 'ops' }));
    await expect(
      new EventBridgePublisher({ client: events, eventBusName: 'ops' }).publish('Certificate Renewed', {
        id: 'www',
        domains: ['www.example.com'],
        reason: 'manual',
        acm: {},
      }),
    ).resolves.toBeUndefined();
  });

  it('reads a secret by ARN and reports a missing one without leaking values', async () => {
    const client = new SecretsManagerClient(awsTestConfig(moto.endpoint));
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: 'eab-hmac', SecretString: 'hmac-key' }),
    );
    const reader = new SecretsManagerReader({ client });

    expect(await reader.getSecret(ARN ?? '')).toBe('hmac-key');
    const missing = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf';
    await expect(reader.getSecret(missing)).rejects.toSatisfy(
      (e) => hasCode(e, 'secret-failed') && e.message.includes(missing) && !e.message.includes('hmac-key'),
    );
  });
});
