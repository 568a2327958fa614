import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** Above this many certificates one search expression draws the lines (a graph holds at most 500 metrics). */
export const MAX_EXPLICIT_CERTIFICATE_LINES = 100;

/** What the dashboard shows. */
export interface AcmeDashboardOptions {
  readonly namespace: string;
  readonly serviceName: string;
  readonly certificateIds: readonly string[];
  readonly interval: Duration;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly functions: readonly lambda.IFunction[];
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** Log groups whose pass and renewal lines the counts are queried from when they are not metrics. */
  readonly schedulerLogGroup: string;
  readonly renewerLogGroup: string;
  /** The informational counts are metrics too (`detailedMetrics`); otherwise Logs Insights counts the log lines. */
  readonly detailedMetrics: boolean;
}

/** A metric of this service with a label, over the scheduler's interval. */
type ServiceMetric = (
  metricName: string,
  statistic: string,
  label: string,
  extra?: Record<string, string>,
) => cloudwatch.IMetric;

/**
 * A dashboard with days to expiry per certificate (one line per inventory id), renewals and failures, ARI
 * checks and errors, queue depth and the alarms' states. Without `detailedMetrics` the counts come from the
 * functions' log lines (`scheduler_done`, `renewal_done`) through Logs Insights, paid per GB scanned when viewed.
 */
export function addDashboard(scope: Construct, options: AcmeDashboardOptions): cloudwatch.Dashboard {
  const { namespace, serviceName, interval } = options;
  const metric: ServiceMetric = (metricName, statistic, label, extra = {}) =>
    new cloudwatch.Metric({
      namespace,
      metricName,
      statistic,
      period: interval,
      label,
      dimensionsMap: { service: serviceName, ...extra },
    });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.days(14),
  });
  dashboard.addWidgets(expiryWidget(options, metric));
  dashboard.addWidgets(
    ...(options.detailedMetrics ? renewalMetricWidgets(metric) : renewalLogWidgets(options, metric)),
  );
  dashboard.addWidgets(...operationWidgets(options));
  return dashboard;
}

/** Days to expiry, one line per certificate, or one search expression for more than a graph can hold. */
function expiryWidget(options: AcmeDashboardOptions, metric: ServiceMetric): cloudwatch.IWidget {
  const { namespace, serviceName, interval } = options;
  const daysToExpiry: cloudwatch.IMetric[] =
    options.certificateIds.length <= MAX_EXPLICIT_CERTIFICATE_LINES
      ? options.certificateIds.map((id) => metric('DaysToExpiry', 'Minimum', id, { CertificateId: id }))
      : [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${namespace},CertificateId,service} MetricName="DaysToExpiry" service="${serviceName}"', 'Minimum', ${interval.toSeconds()})`,
            label: '',
            period: interval,
            usingMetrics: {},
          }),
        ];
  return new cloudwatch.GraphWidget({
    title: 'Days to expiry per certificate',
    left: daysToExpiry,
    leftYAxis: { min: 0, label: 'days' },
    width: 24,
    height: 8,
    legendPosition: cloudwatch.LegendPosition.RIGHT,
  });
}

/**
 * The soonest expiry, always a metric (its alarm and the scheduler's heartbeat use it), in days scaled to a 90-day
 * lifetime: a 6-day certificate with half a day left shows 7.5 (see `functions/core/renewal/expiry.ts`).
 */
function soonestExpiry(metric: ServiceMetric): cloudwatch.IWidget {
  return new cloudwatch.SingleValueWidget({
    title: 'Soonest expiry (days of a 90-day lifetime)',
    metrics: [metric('MinDaysToExpiry', 'Minimum', 'min days to expiry, lifetime-scaled')],
    width: 6,
    height: 6,
  });
}

/** Renewals and ARI checks from the functions' log lines (the default: no custom metric for counts). */
function renewalLogWidgets(options: AcmeDashboardOptions, metric: ServiceMetric): cloudwatch.IWidget[] {
  return [
    soonestExpiry(metric),
    new cloudwatch.LogQueryWidget({
      title: 'Renewals by outcome (renewer log lines)',
      logGroupNames: [options.renewerLogGroup],
      view: cloudwatch.LogQueryVisualizationType.TABLE,
      // renewal_done carries the result (renewed, imported, up-to-date; deferred and skipped count as failed).
      queryLines: [
        'filter message in ["renewal_done", "renewal_failed", "bad_message"]',
        'stats count(*) as renewals by message, result',
      ],
      width: 9,
      height: 6,
    }),
    new cloudwatch.LogQueryWidget({
      title: 'Scheduler passes and ARI (scheduler log lines)',
      logGroupNames: [options.schedulerLogGroup],
      view: cloudwatch.LogQueryVisualizationType.LINE,
      queryLines: [
        'filter message = "scheduler_done"',
        // A CA moved a window (an incident): the log line ari_window_moved and the event say which certificate.
        'stats count(*) as passes, sum(enqueued) as due, sum(ari_requests) as ari_checks, sum(ari_errors) as ari_errors, sum(ari_windows_moved) as windows_moved by bin(1h)',
      ],
      width: 9,
      height: 6,
    }),
  ];
}

/** Renewals and ARI checks as the functions' metrics (`detailedMetrics`). */
function renewalMetricWidgets(metric: ServiceMetric): cloudwatch.IWidget[] {
  return [
    soonestExpiry(metric),
    new cloudwatch.GraphWidget({
      title: 'Renewals',
      left: [
        metric('RenewalSucceeded', 'Sum', 'succeeded'),
        metric('RenewalFailed', 'Sum', 'failed'),
        metric('CertificatesDue', 'Sum', 'due (enqueued)'),
      ],
      width: 9,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'ARI checks',
      left: [
        metric('MinDaysToExpiry', 'SampleCount', 'scheduler passes'),
        metric('AriErrors', 'Sum', 'ARI errors'),
        // A CA moved a window (an incident): the log line ari_window_moved and the event say which certificate.
        metric('AriWindowMoved', 'Sum', 'windows moved by the CA'),
      ],
      width: 9,
      height: 6,
    }),
  ];
}

/** The queue, the functions' errors and throttles, and the alarms: how the machinery itself is doing. */
function operationWidgets(options: AcmeDashboardOptions): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Renewal queue',
      left: [
        options.queue.metricApproximateNumberOfMessagesVisible({
          label: 'waiting',
          period: Duration.minutes(5),
        }),
        options.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          label: 'dead-lettered',
          period: Duration.minutes(5),
        }),
      ],
      width: 8,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Function errors and throttles',
      left: options.functions.flatMap((fn) => [
        fn.metricErrors({ label: `${fn.node.id} errors`, period: Duration.minutes(5) }),
        fn.metricThrottles({ label: `${fn.node.id} throttles`, period: Duration.minutes(5) }),
      ]),
      width: 8,
      height: 6,
    }),
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...options.alarms], width: 8, height: 6 }),
  ];
}
