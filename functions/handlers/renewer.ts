// First: every schema below is built without zod's JIT (one-shot-parsing.ts says why).
import '../composition/one-shot-parsing';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { renewRecord } from '../composition/renew-record';
import { createRenewerRuntime, type RenewerRuntime } from '../composition/runtime';
import { configFromEnv } from '../composition/runtime-config';
import { detailedMetrics, logger, metrics } from './telemetry';

let runtime: RenewerRuntime | undefined;

/** Builds the handler around a runtime; Lambda uses the one from the environment, tests and the demo their own. */
export function createRenewerHandler(get: () => Pick<RenewerRuntime, 'renew'>) {
  return async (event: SQSEvent, context?: { awsRequestId?: string }): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const owner = context?.awsRequestId ?? record.messageId;
      const done = await renewRecord(get, record, owner, { logger, metrics, detailedMetrics });
      if (!done) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    metrics.publishStoredMetrics();
    return { batchItemFailures };
  };
}

/** SQS entry point (batch size 1, partial batch responses). */
export const handler = createRenewerHandler(() => {
  runtime ??= createRenewerRuntime(configFromEnv(process.env, 'renewer'));
  return runtime;
});
