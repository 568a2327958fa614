import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { configFromEnv } from '../composition/runtime-config';
import { createSchedulerRuntime, type SchedulerRuntime } from '../composition/scheduler-runtime';
import { logger, metrics } from './telemetry';

let runtime: SchedulerRuntime | undefined;

/** Builds the handler around a runtime; Lambda uses the one from the environment, tests and the demo their own. */
export function createSchedulerHandler(get: () => SchedulerRuntime) {
  return async (): Promise<{ checked: number; waiting: number; enqueued: number; problems: number }> => {
    const current = get();
    const report = await current.scheduler();
    const perCertificate = current.config.perCertificateMetrics ?? { mode: 'all', days: 0 };
    for (const problem of report.problems)
      logger.error('inventory_problem', { path: problem.path, problem: problem.message });
    for (const check of report.checks) {
      // One line per certificate that is due, failed, or whose ARI was refreshed (its state changed); the quiet
      // majority shows only in the pass summary, so logs cost what changed, not the inventory size.
      const noteworthy = check.due || check.reason === 'error' || check.ariRequested || check.ariError;
      if (noteworthy)
        logger.info('certificate_checked', {
          certificate_id: check.id,
          due: check.due,
          reason: check.reason,
          explanation: check.explanation,
          days_to_expiry: check.daysToExpiry,
          renew_at: check.renewAt,
          ari_error: check.ariError,
        });
      const wanted =
        perCertificate.mode === 'all' ||
        (perCertificate.mode === 'near-expiry' && (check.daysToExpiry ?? Infinity) <= perCertificate.days);
      if (check.daysToExpiry !== undefined && wanted) {
        const single = metrics.singleMetric();
        single.addDimension('CertificateId', check.id);
        single.addMetric('DaysToExpiry', MetricUnit.Count, Math.round(check.daysToExpiry * 100) / 100);
      }
    }
    metrics.addMetric('SchedulerHeartbeat', MetricUnit.Count, 1);
    metrics.addMetric('CertificatesDue', MetricUnit.Count, report.enqueued.length);
    metrics.addMetric('AriErrors', MetricUnit.Count, report.ariErrors);
    metrics.addMetric('AriChecks', MetricUnit.Count, report.ariRequests);
    if (report.minDaysToExpiry !== undefined)
      metrics.addMetric('MinDaysToExpiry', MetricUnit.Count, report.minDaysToExpiry);
    metrics.publishStoredMetrics();
    logger.info('scheduler_done', {
      checked: report.checks.length,
      enqueued: report.enqueued.length,
      ari_requests: report.ariRequests,
      ari_errors: report.ariErrors,
      budget_spent: report.budgetSpent,
      left_for_next_pass: report.leftForNextPass,
      waiting: report.waiting,
      index_rebuilt: report.indexRebuilt,
    });
    return {
      checked: report.checks.length,
      waiting: report.waiting,
      enqueued: report.enqueued.length,
      problems: report.problems.length,
    };
  };
}

/** EventBridge Scheduler entry point. */
export const handler = createSchedulerHandler(() => {
  runtime ??= createSchedulerRuntime(configFromEnv(process.env, 'scheduler'));
  return runtime;
});
