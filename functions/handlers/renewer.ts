import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { configFromEnv, createRuntime, type Runtime } from '../composition/runtime';
import { AcmeProblemError } from '../core/acme/problem';
import { parseRenewalMessage } from '../core/contracts/renewal-message';
import { describeError } from '../core/errors';
import { logger, metrics } from './telemetry';

let runtime: Runtime | undefined;

/** Builds the handler around a runtime; Lambda uses the one from the environment, tests and the demo their own. */
export function createRenewerHandler(get: () => Runtime) {
  return async (event: SQSEvent, context?: { awsRequestId?: string }): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const parsed = parseRenewalMessage(record.body);
      if (!parsed.ok) {
        // A malformed message can never succeed: log it loudly and drop it instead of poisoning the queue.
        logger.error('bad_message', { message_id: record.messageId, problem: parsed.problems.join('; ') });
        metrics.addMetric('RenewalFailed', MetricUnit.Count, 1);
        continue;
      }
      const owner = context?.awsRequestId ?? record.messageId;
      try {
        const outcome = await get().renew(parsed.message, owner, (step, fields) => logger.info(step, fields));
        logger.info('renewal_done', {
          certificate_id: outcome.id,
          result: outcome.result,
          reason: outcome.reason,
          serial: outcome.serial,
          not_after: outcome.notAfter,
          replaced: outcome.replaced,
          replaces_dropped: outcome.replacesDropped,
          profile_note: outcome.profileNote,
          abandoned_order: outcome.abandonedOrder,
          notes: outcome.notes,
        });
        if (outcome.result === 'busy' || outcome.result === 'limited') continue;
        const failed = outcome.result === 'deferred' || outcome.result === 'skipped';
        metrics.addMetric(failed ? 'RenewalFailed' : 'RenewalSucceeded', MetricUnit.Count, 1);
      } catch (error) {
        logger.error('renewal_failed', {
          certificate_id: parsed.message.id,
          error: describeError(error),
          problem: error instanceof AcmeProblemError ? error.problem : undefined,
        });
        metrics.addMetric('RenewalFailed', MetricUnit.Count, 1);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    metrics.publishStoredMetrics();
    return { batchItemFailures };
  };
}

/** SQS entry point (batch size 1, partial batch responses). */
export const handler = createRenewerHandler(() => {
  runtime ??= createRuntime(configFromEnv(process.env, 'renewer'));
  return runtime;
});
