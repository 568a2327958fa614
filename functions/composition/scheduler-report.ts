import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SchedulerReport } from '../core/renewal/run-scheduler';
import type { AriWindowMove } from '../core/renewal/window-moved';
import type { RuntimeConfig } from './runtime-config';
import type { Telemetry } from './telemetry-sinks';

/** What the scheduler handler returns: the pass in four counts. */
export interface SchedulerSummary {
  readonly checked: number;
  readonly waiting: number;
  readonly enqueued: number;
  readonly problems: number;
}

/**
 * The pass's informational counts (due, ARI checks and errors, windows moved): always in the `scheduler_done` log
 * line, and as metrics only under `detailedMetrics` (each is a custom metric at $0.30 a month; no alarm uses them).
 */
export const DETAILED_SCHEDULER_METRICS = [
  'CertificatesDue',
  'AriChecks',
  'AriErrors',
  'AriWindowMoved',
] as const;

/**
 * Logs and publishes one scheduler pass: one line per inventory problem and per certificate that is due, failed,
 * or whose state the check changed (a first or moved window, a new selected time; a refresh that only confirmed the
 * window is counted in the summary, like the quiet majority, so logs cost what changed, not the inventory size);
 * the per-certificate `DaysToExpiry` where configured (real days left; under `near-expiry` only while the
 * lifetime-scaled days are at most the configured days); and `MinDaysToExpiry`, the lifetime-scaled minimum (see
 * `expiry.ts`), whose data points are also the scheduler's heartbeat (one per completed pass that knows an expiry;
 * the "scheduler stopped" alarm counts them).
 */
export function publishSchedulerReport(
  report: SchedulerReport,
  perCertificate: RuntimeConfig['perCertificateMetrics'],
  { logger, metrics, detailedMetrics }: Telemetry,
): SchedulerSummary {
  const wantedFor = perCertificate ?? { mode: 'all', days: 0 };
  for (const problem of report.problems)
    logger.error('inventory_problem', { path: problem.path, problem: problem.message });
  for (const check of report.checks) {
    // A refresh that only confirmed the stored window changed nothing: the pass summary counts it (ari_requests).
    const changed = check.stateChanged ?? check.ariRequested;
    if (check.due || check.reason === 'error' || check.ariError || changed)
      logger.info('certificate_checked', {
        certificate_id: check.id,
        due: check.due,
        reason: check.reason,
        explanation: check.explanation,
        days_to_expiry: check.daysToExpiry,
        renew_at: check.renewAt,
        ari_error: check.ariError,
      });
    if (check.windowMoved) logWindowMoved(logger, check.id, check.windowMoved, check.windowMovedEventError);
    // Near expiry is judged on the lifetime-scaled days (expiry.ts), so a 6-day certificate is not "near" all its
    // life ($0.30 a month each); the value published stays the real days left.
    const wanted =
      wantedFor.mode === 'all' ||
      (wantedFor.mode === 'near-expiry' &&
        (check.scaledDaysToExpiry ?? check.daysToExpiry ?? Infinity) <= wantedFor.days);
    if (check.daysToExpiry !== undefined && wanted) {
      const single = metrics.singleMetric();
      single.addDimension('CertificateId', check.id);
      single.addMetric('DaysToExpiry', MetricUnit.Count, Math.round(check.daysToExpiry * 100) / 100);
    }
  }
  const windowsMoved = report.checks.filter((c) => c.windowMoved).length;
  if (detailedMetrics === true) {
    const counts: Record<(typeof DETAILED_SCHEDULER_METRICS)[number], number> = {
      CertificatesDue: report.enqueued.length,
      AriChecks: report.ariRequests,
      AriErrors: report.ariErrors,
      // One count per pass with the service dimension only: no per-certificate custom metric (design.md, cost).
      AriWindowMoved: windowsMoved,
    };
    for (const name of DETAILED_SCHEDULER_METRICS) metrics.addMetric(name, MetricUnit.Count, counts[name]);
  }
  if (report.minDaysToExpiry !== undefined)
    metrics.addMetric('MinDaysToExpiry', MetricUnit.Count, report.minDaysToExpiry);
  metrics.publishStoredMetrics();
  logger.info('scheduler_done', {
    checked: report.checks.length,
    enqueued: report.enqueued.length,
    ari_requests: report.ariRequests,
    ari_errors: report.ariErrors,
    ari_windows_moved: windowsMoved,
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
}

/**
 * The one log line of a CA-moved ARI window (issue 14): the old and new window and the CA's explanationURL, with
 * the same names as the `ARI Window Moved` event (docs/events.md). A warning: a moved window is usually an incident.
 */
function logWindowMoved(
  logger: Telemetry['logger'],
  id: string,
  move: AriWindowMove,
  eventError: string | undefined,
): void {
  logger.warn('ari_window_moved', {
    certificate_id: id,
    cert_id: move.certId,
    old_window_start: move.previous.start,
    old_window_end: move.previous.end,
    new_window_start: move.window.start,
    new_window_end: move.window.end,
    explanation_url: move.explanationUrl ?? null,
    selected_time: move.selectedTime,
    ...(eventError === undefined ? {} : { event_error: eventError }),
  });
}
