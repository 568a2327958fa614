import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { AcmeProblemError } from '../core/acme/problem';
import { parseRenewalMessage } from '../core/contracts/renewal-message';
import { describeError } from '../core/errors';
import type { RenewerRuntime } from './runtime';
import type { Telemetry } from './telemetry-sinks';

/**
 * Renews the certificate one SQS record names, logging the outcome with stable snake_case fields and counting it.
 * A malformed message can never succeed: it is logged loudly and dropped instead of poisoning the queue.
 * @returns false when the record should be retried (a partial batch failure), true otherwise
 */
export async function renewRecord(
  runtime: () => Pick<RenewerRuntime, 'renew'>,
  record: Pick<SQSRecord, 'body' | 'messageId'>,
  owner: string,
  { logger, metrics, detailedMetrics }: Telemetry,
): Promise<boolean> {
  const parsed = parseRenewalMessage(record.body);
  if (!parsed.ok) {
    logger.error('bad_message', { message_id: record.messageId, problem: parsed.problems.join('; ') });
    metrics.addMetric('RenewalFailed', MetricUnit.Count, 1);
    return true;
  }
  try {
    const outcome = await runtime().renew(parsed.message, owner, (step, fields) => logger.info(step, fields));
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
    if (outcome.result === 'busy' || outcome.result === 'limited') return true;
    const failed = outcome.result === 'deferred' || outcome.result === 'skipped';
    // A success is in the renewal_done line; as a metric only when asked (the failure alarm needs only failures).
    if (failed) metrics.addMetric('RenewalFailed', MetricUnit.Count, 1);
    else if (detailedMetrics === true) metrics.addMetric('RenewalSucceeded', MetricUnit.Count, 1);
    return true;
  } catch (error) {
    logger.error('renewal_failed', {
      certificate_id: parsed.message.id,
      error: describeError(error),
      problem: error instanceof AcmeProblemError ? error.problem : undefined,
    });
    metrics.addMetric('RenewalFailed', MetricUnit.Count, 1);
    return false;
  }
}
