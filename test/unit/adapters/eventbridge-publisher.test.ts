import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../functions/adapters/eventbridge-publisher';
import { hasCode } from '../../../functions/core/errors';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const eventsClient = new EventBridgeClient(config);
const events = mockClient(eventsClient);

beforeEach(() => {
  events.reset();
});

describe('EventBridgePublisher', () => {
  it('publishes with source acme-ari-aws on the configured bus', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await new EventBridgePublisher({ client: eventsClient, eventBusName: 'ops' }).publish(
      'Certificate Renewed',
      {
        id: 'www',
      },
    );
    expect(events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries).toEqual([
      {
        Source: 'acme-ari-aws',
        DetailType: 'Certificate Renewed',
        Detail: '{"id":"www"}',
        EventBusName: 'ops',
      },
    ]);
  });

  it('does not let a per-entry failure pass silently', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }],
    });
    await expect(
      new EventBridgePublisher({ client: eventsClient }).publish('Certificate Renewal Failed', {}),
    ).rejects.toSatisfy((e) => hasCode(e, 'event-failed') && /InternalFailure/.test(e.message));
  });
});
