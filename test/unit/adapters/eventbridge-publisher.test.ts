import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../functions/adapters/eventbridge-publisher';
import type { EventDetail } from '../../../functions/core/contracts/events';
import { hasCode } from '../../../functions/core/errors';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const eventsClient = new EventBridgeClient(config);
const events = mockClient(eventsClient);

const renewed: EventDetail<'Certificate Renewed'> = {
  id: 'www',
  domains: ['www.example.com'],
  reason: 'ari-window',
  serial: '0a1b',
  notAfter: '2026-03-01T00:00:00.000Z',
  acm: { 'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/1' },
};

beforeEach(() => {
  events.reset();
});

describe('EventBridgePublisher', () => {
  it('publishes with source acme-ari-aws on the configured bus', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await new EventBridgePublisher({ client: eventsClient, eventBusName: 'ops' }).publish(
      'Certificate Renewed',
      renewed,
    );
    expect(events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries).toEqual([
      {
        Source: 'acme-ari-aws',
        DetailType: 'Certificate Renewed',
        Detail: JSON.stringify(renewed),
        EventBusName: 'ops',
      },
    ]);
  });

  it('refuses a detail that does not match its schema as a bug, before anything reaches the bus', async () => {
    const publisher = new EventBridgePublisher({ client: eventsClient });
    const malformed = { ...renewed, serial: 42 } as unknown as typeof renewed;
    await expect(publisher.publish('Certificate Renewed', malformed)).rejects.toSatisfy(
      (e) => hasCode(e, 'event-invalid') && /serial/.test(e.message),
    );
    const stray = { ...renewed, privateKeyPem: 'x' } as unknown as typeof renewed;
    await expect(publisher.publish('Certificate Renewed', stray)).rejects.toSatisfy((e) =>
      hasCode(e, 'event-invalid'),
    );
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('does not let a per-entry failure pass silently', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }],
    });
    await expect(
      new EventBridgePublisher({ client: eventsClient }).publish('Certificate Renewal Failed', {
        id: 'www',
        reason: 'ari-window',
        code: 'dns-failed',
        error: 'AcmeAwsError: Route 53 refused the change',
      }),
    ).rejects.toSatisfy((e) => hasCode(e, 'event-failed') && /InternalFailure/.test(e.message));
  });
});
