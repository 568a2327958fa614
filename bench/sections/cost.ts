import type { PassResult, SchedulerResults } from './scheduler-scale';

/**
 * Public us-east-1 list prices used for the model, as read for 2026-11 (no free tier applied, so the figures are an
 * upper bound for a small account). Sources: aws.amazon.com/{lambda,sqs,s3,eventbridge,cloudwatch,kms}/pricing.
 */
export const PRICES = {
  date: '2026-11',
  region: 'us-east-1',
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  sqsPerMillionRequests: 0.4,
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  schedulerPerMillionInvocations: 1.0,
  schedulerFreeInvocations: 14_000_000,
  eventBridgePerMillionEvents: 1.0,
  cloudWatchMetricMonthFirst10k: 0.3,
  cloudWatchMetricMonthNext240k: 0.1,
  cloudWatchAlarmMonth: 0.1,
  cloudWatchLogsPerGbIngested: 0.5,
  kmsKeyMonth: 1.0,
  kmsPer10kRequests: 0.03,
  /** ACM exportable public certificates: charged at issuance and again at every renewal. */
  acmExportableFqdn: 15,
  acmExportableWildcard: 149,
} as const;

/** Assumptions the model needs that the bench cannot measure; each is printed next to the table. */
export const ASSUMPTIONS = {
  hoursPerMonth: 730,
  scheduleIntervalHours: 1,
  /** 90-day certificates renewed about 60 days in (ARI window at two thirds of the lifetime). */
  renewalsPerCertificateMonth: 30.4 / 60,
  schedulerMemoryGb: 0.5,
  renewerMemoryGb: 1,
  /** The construct's four alarms (failure, dead letter, min days to expiry, heartbeat). */
  alarms: 4,
  /** Service-level EMF metrics besides the per-certificate DaysToExpiry. */
  serviceMetrics: 7,
  /** Lambda's SQS event source keeps long-polling an empty queue: ~5 pollers × 3 receives/min (20 s waits). */
  sqsIdlePollsMonth: 5 * 3 * 60 * 730,
  /** SQS requests per renewal: send (batched by 10, counted as 1), receive, delete. */
  sqsPerRenewal: 3,
  /** With S3 Bucket Keys, KMS sees roughly one request per thousand S3 object requests. */
  kmsRequestsPerS3Request: 0.001,
  /** ACM exportable certificates under the 200-day maximum validity (CA/B Forum SC-081, from 2026-03-15). */
  acmChargesPerYear: 2,
} as const;

/** One cost line for one inventory size. */
export interface CostLine {
  readonly item: string;
  readonly monthly: Record<number, number>;
}

/** The cost model for each size. */
export interface CostModel {
  readonly sizes: readonly number[];
  readonly lines: readonly CostLine[];
  readonly totals: Record<number, number>;
  readonly acm: { single: Record<number, number>; apexWildcard: Record<number, number> };
  /** Per-size notes, e.g. which scheduler figures were extrapolated. */
  readonly notes: readonly string[];
}

interface PassCost {
  readonly ms: number;
  readonly s3Gets: number;
  readonly s3Puts: number;
  readonly logBytes: number;
}

function passCost(p: PassResult): PassCost {
  const calls = p.awsCalls;
  return {
    ms: p.handlerMs,
    s3Gets: (calls['s3:GetObject'] ?? 0) + (calls['s3:HeadObject'] ?? 0),
    s3Puts: (calls['s3:PutObject'] ?? 0) + (calls['s3:DeleteObject'] ?? 0) + (calls['s3:ListObjects'] ?? 0),
    logBytes: p.logBytes,
  };
}

function scale(p: PassCost, from: number, to: number): PassCost {
  const f = to / from;
  return { ms: p.ms * f, s3Gets: p.s3Gets * f, s3Puts: p.s3Puts * f, logBytes: p.logBytes * f };
}

/**
 * Section 5: monthly cost for 10, 1,000 and 10,000 certificates from the measured scheduler passes (time, S3 calls,
 * log bytes), the measured AWS calls and duration of one renewal, and public prices.
 */
export function costModel(input: {
  readonly scheduler: SchedulerResults;
  /** Measured AWS calls of one renewal (`service:action` → count). */
  readonly renewalCalls: Record<string, number>;
  /** Measured duration of one renewal inside the process. */
  readonly renewalMs: number;
  /** Pebble's (and the model's) ARI Retry-After, in hours. */
  readonly ariRetryAfterHours: number;
  readonly sizes: readonly number[];
}): CostModel {
  const P = PRICES;
  const A = ASSUMPTIONS;
  const notes: string[] = [];
  const measured = new Map(input.scheduler.sizes.map((s) => [s.certificates, s]));
  const largest = [...input.scheduler.sizes].sort((a, b) => b.certificates - a.certificates)[0]!;
  // Each certificate's ARI is refreshed once per Retry-After; the other passes only read its state.
  const refreshShare = Math.min(1, A.scheduleIntervalHours / input.ariRetryAfterHours);
  const passesPerMonth = A.hoursPerMonth / A.scheduleIntervalHours;
  const renewalS3Gets = input.renewalCalls['s3:GetObject'] ?? 0;
  const renewalS3Puts =
    (input.renewalCalls['s3:PutObject'] ?? 0) + (input.renewalCalls['s3:DeleteObject'] ?? 0);
  const renewalEvents = input.renewalCalls['events:PutEvents'] ?? 0;

  const lines: CostLine[] = [];
  const add = (item: string, f: (n: number) => number) =>
    lines.push({ item, monthly: Object.fromEntries(input.sizes.map((n) => [n, f(n)])) });
  const per = new Map<number, { first: PassCost; second: PassCost; renewals: number }>();
  for (const n of input.sizes) {
    const m = measured.get(n);
    const first = m ? passCost(m.first) : scale(passCost(largest.first), largest.certificates, n);
    const second = m ? passCost(m.second) : scale(passCost(largest.second), largest.certificates, n);
    if (!m)
      notes.push(
        `${n} certificates: scheduler figures scaled linearly from the ${largest.certificates}-certificate pass`,
      );
    per.set(n, { first, second, renewals: n * A.renewalsPerCertificateMonth });
  }
  const avgPass = (n: number) => {
    const { first, second } = per.get(n)!;
    const mix = (a: number, b: number) => refreshShare * a + (1 - refreshShare) * b;
    return {
      ms: mix(first.ms, second.ms),
      s3Gets: mix(first.s3Gets, second.s3Gets),
      s3Puts: mix(first.s3Puts, second.s3Puts),
      logBytes: mix(first.logBytes, second.logBytes),
    };
  };

  add('Lambda scheduler (GB-s + requests)', (n) => {
    const p = avgPass(n);
    return (
      passesPerMonth * (p.ms / 1000) * A.schedulerMemoryGb * P.lambdaArmGbSecond +
      (passesPerMonth / 1e6) * P.lambdaPerMillionRequests
    );
  });
  add('Lambda renewer (GB-s + requests)', (n) => {
    const r = per.get(n)!.renewals;
    return (
      r * (input.renewalMs / 1000) * A.renewerMemoryGb * P.lambdaArmGbSecond +
      (r / 1e6) * P.lambdaPerMillionRequests
    );
  });
  add('SQS (renewals + idle polling)', (n) => {
    const r = per.get(n)!.renewals;
    return ((A.sqsIdlePollsMonth + r * A.sqsPerRenewal) / 1e6) * P.sqsPerMillionRequests;
  });
  add('S3 requests', (n) => {
    const p = avgPass(n);
    const r = per.get(n)!.renewals;
    const gets = passesPerMonth * p.s3Gets + r * renewalS3Gets;
    const puts = passesPerMonth * p.s3Puts + r * renewalS3Puts;
    return (gets / 1000) * P.s3GetPer1000 + (puts / 1000) * P.s3PutPer1000;
  });
  add('EventBridge Scheduler + events', (n) => {
    const r = per.get(n)!.renewals;
    const scheduler =
      (Math.max(0, passesPerMonth - P.schedulerFreeInvocations) / 1e6) * P.schedulerPerMillionInvocations;
    return scheduler + ((r * renewalEvents) / 1e6) * P.eventBridgePerMillionEvents;
  });
  add('CloudWatch custom metrics (DaysToExpiry per certificate + 7)', (n) => {
    const metrics = n + A.serviceMetrics;
    const first = Math.min(metrics, 10_000);
    return (
      first * P.cloudWatchMetricMonthFirst10k +
      Math.max(0, metrics - 10_000) * P.cloudWatchMetricMonthNext240k
    );
  });
  add('CloudWatch alarms', () => A.alarms * P.cloudWatchAlarmMonth);
  add('CloudWatch Logs ingestion (scheduler)', (n) => {
    const p = avgPass(n);
    return ((passesPerMonth * p.logBytes) / 1024 ** 3) * P.cloudWatchLogsPerGbIngested;
  });
  add('KMS (one key + requests with bucket keys)', (n) => {
    const p = avgPass(n);
    const r = per.get(n)!.renewals;
    const s3 = passesPerMonth * (p.s3Gets + p.s3Puts) + r * (renewalS3Gets + renewalS3Puts);
    return P.kmsKeyMonth + ((s3 * A.kmsRequestsPerS3Request) / 10_000) * P.kmsPer10kRequests;
  });
  const totals = Object.fromEntries(
    input.sizes.map((n) => [n, lines.reduce((sum, l) => sum + (l.monthly[n] ?? 0), 0)]),
  );
  const acmMonthly = (perCert: number) =>
    Object.fromEntries(input.sizes.map((n) => [n, (n * perCert * A.acmChargesPerYear) / 12]));
  return {
    sizes: input.sizes,
    lines,
    totals,
    acm: {
      single: acmMonthly(P.acmExportableFqdn),
      apexWildcard: acmMonthly(P.acmExportableFqdn + P.acmExportableWildcard),
    },
    notes,
  };
}
