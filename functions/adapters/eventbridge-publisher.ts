import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type EventDetail, type EventDetailType, parseEvent } from '../core/contracts/events';
import { AcmeAwsError } from '../core/errors';
import type { EventPublisher } from '../core/renewal/ports';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

export { EVENT_SOURCE };

/** Where {@link EventBridgePublisher} puts events. */
export interface EventBridgePublisherOptions {
  /** @default 'default' */
  readonly eventBusName?: string;
  /** @default a client built from `clientConfig` */
  readonly client?: EventBridgeClient;
  readonly clientConfig?: EventBridgeClientConfig;
  readonly retry?: RetryOptions;
}

/**
 * Publishes the events of functions/core/contracts/events.ts to EventBridge with source `acme-ari-aws`, so
 * operators can route them anywhere. Each detail is checked against its schema first: a malformed one is a bug
 * (`event-invalid`) and never reaches the bus.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #options: EventBridgePublisherOptions;

  constructor(options: EventBridgePublisherOptions = {}) {
    this.#options = options;
    this.#client = options.client ?? new EventBridgeClient(options.clientConfig ?? {});
  }

  async publish<T extends EventDetailType>(detailType: T, detail: EventDetail<T>): Promise<void> {
    const event = parseEvent(detailType, detail);
    const bus = this.#options.eventBusName ?? 'default';
    let failure: string | undefined;
    let cause: unknown;
    try {
      const out = await withRetry(
        () =>
          this.#client.send(
            new PutEventsCommand({
              Entries: [
                {
                  Source: EVENT_SOURCE,
                  DetailType: event.detailType,
                  Detail: JSON.stringify(event.detail),
                  EventBusName: bus,
                },
              ],
            }),
          ),
        this.#options.retry,
      );
      // PutEvents reports per-entry failures in a 200 answer; they must not pass silently.
      if ((out.FailedEntryCount ?? 0) > 0) {
        const entry = out.Entries?.[0];
        failure = `${entry?.ErrorCode ?? 'error'}: ${entry?.ErrorMessage ?? ''}`;
      }
    } catch (error) {
      failure = describeAwsError(error);
      cause = error;
    }
    if (failure !== undefined) {
      throw new AcmeAwsError(
        'event-failed',
        `Publishing "${detailType}" to event bus ${bus} failed: ${failure}`,
        {
          cause,
        },
      );
    }
  }
}
