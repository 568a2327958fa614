import { ARI_CHECK_JITTER } from '../../functions/core/ari';
import { type ConstructDefaults, constructDefaults } from './cost-defaults';
import type { PassResult, SchedulerResults } from './scheduler-scale';

export type { ConstructDefaults } from './cost-defaults';

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

/**
 * Assumptions the model needs that the bench cannot measure; each is printed next to the table. What the construct
 * decides (keys, alarms, metrics, memory) is not assumed: {@link constructDefaults} reads it from a synthesized stack.
 */
export const ASSUMPTIONS = {
  hoursPerMonth: 730,
  scheduleIntervalHours: 1,
  /** 90-day certificates renewed about 60 days in (ARI window at two thirds of the lifetime). */
  renewalsPerCertificateMonth: 30.4 / 60,
  /** Days left when such a certificate renews: it never reaches a `near-expiry` threshold below this. */
  daysLeftAtRenewal: 30,
  /**
   * Per-certificate `DaysToExpiry` metric-hours per renewal when the `near-expiry` threshold is at or above the days
   * left at renewal: the metric appears in the pass that finds it due (CloudWatch prorates custom metrics by the
   * hour they are published in). Below it, a certificate gets the metric only when its renewal is late.
   */
  daysToExpiryMetricHoursPerRenewal: 1,
  /**
   * Share of ARI refreshes that rewrite the certificate's state document (the measured refresh pass selects every
   * window for the first time, so it writes each once). 1 while every refresh rewrites `state.json`; when an
   * unchanged window stays out of it (only its next check in the index), set it to the share that still write.
   */
  refreshStateWriteShare: 1,
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
  /** The construct's defaults the model priced (read from its synthesized template). */
  readonly defaults: ConstructDefaults;
  /**
   * S3 writes per steady-state ARI refresh (state documents, and the index's share): measured by the confirming pass,
   * or the share {@link ASSUMPTIONS} gives when none ran.
   */
  readonly refreshStateWriteShare: number;
  /** Whether a confirming refresh pass was measured. */
  readonly refreshMeasured: boolean;
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

/** What one certificate added to a pass: (refresh pass − nothing-due pass) ÷ certificates. */
function perCertificate(refresh: PassCost, idle: PassCost, n: number): PassCost {
  const d = (a: number, b: number) => Math.max(0, a - b) / n;
  return {
    ms: d(refresh.ms, idle.ms),
    s3Gets: d(refresh.s3Gets, idle.s3Gets),
    s3Puts: d(refresh.s3Puts, idle.s3Puts),
    logBytes: d(refresh.logBytes, idle.logBytes),
  };
}

/**
 * The measured nothing-due pass at `n` certificates, or the nearest measured size's with its time scaled by the
 * inventory size (its requests do not grow; its parsing does), noted when so.
 */
function nothingDuePass(r: SchedulerResults, n: number, notes: string[]): PassCost {
  const exact = r.sizes.find((x) => x.certificates === n);
  if (exact) return passCost(exact.second);
  const nearest = [...r.sizes].sort(
    (a, b) => Math.abs(Math.log(a.certificates / n)) - Math.abs(Math.log(b.certificates / n)),
  )[0]!;
  const p = passCost(nearest.second);
  notes.push(
    `${n} certificates: nothing-due pass time scaled linearly from the ${nearest.certificates}-certificate one`,
  );
  return { ...p, ms: (p.ms * n) / nearest.certificates };
}

/**
 * Section 5: monthly cost per inventory size from the measured scheduler passes (a nothing-due pass every hour at
 * that size; per certificate, what one ARI refresh added to the refresh pass, once per jittered Retry-After, and
 * once more after each renewal), the measured AWS calls and duration of one renewal, and public prices.
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
  /** The construct's defaults; synthesized when not given. */
  readonly defaults?: ConstructDefaults;
  /** Overrides {@link ASSUMPTIONS.refreshStateWriteShare}. */
  readonly refreshStateWriteShare?: number;
}): CostModel {
  const P = PRICES;
  const A = ASSUMPTIONS;
  const D = input.defaults ?? constructDefaults();
  const writeShare = input.refreshStateWriteShare ?? A.refreshStateWriteShare;
  const notes: string[] = [];
  if (D.detailedMetrics) notes.push('the construct publishes detailed metrics by default');
  const full = [...input.scheduler.sizes]
    .filter((x) => x.first)
    .sort((x, y) => y.certificates - x.certificates)[0];
  if (!full?.first) throw new Error('the cost model needs a measured refresh pass');
  // A certificate's first refresh after each renewal selects a new window and writes its state: what the first
  // pass cost over the nothing-due pass, per certificate. Every other refresh confirms the window the CA gave: what
  // the pass 1.5 × Retry-After later cost (measured when the bench ran it; else the first pass with the assumed share
  // of state writes).
  const firstWindow = perCertificate(passCost(full.first), passCost(full.second), full.certificates);
  const refresh = full.confirmed
    ? perCertificate(passCost(full.confirmed), passCost(full.second), full.certificates)
    : { ...firstWindow, s3Puts: firstWindow.s3Puts * writeShare };
  if (!full.confirmed)
    notes.push(
      `ARI refreshes: ${(writeShare * 100).toFixed(0)} % assumed to rewrite the state document (no confirming pass measured)`,
    );
  const schedulerMemoryGb = D.schedulerMemoryMb / 1024;
  const renewerMemoryGb = D.renewerMemoryMb / 1024;
  // Each certificate is read once per jittered Retry-After (mean 1 + jitter/2 of it), the rest of the time not.
  const refreshesPerCertificateMonth =
    A.hoursPerMonth / (input.ariRetryAfterHours * (1 + ARI_CHECK_JITTER / 2));
  const passesPerMonth = A.hoursPerMonth / A.scheduleIntervalHours;
  const renewalS3Gets = input.renewalCalls['s3:GetObject'] ?? 0;
  const renewalS3Puts =
    (input.renewalCalls['s3:PutObject'] ?? 0) + (input.renewalCalls['s3:DeleteObject'] ?? 0);
  const renewalEvents = input.renewalCalls['events:PutEvents'] ?? 0;

  const lines: CostLine[] = [];
  const add = (item: string, f: (n: number) => number) =>
    lines.push({ item, monthly: Object.fromEntries(input.sizes.map((n) => [n, f(n)])) });
  const per = new Map<number, { idle: PassCost; refreshes: number; renewals: number }>();
  for (const n of input.sizes) {
    const idle = nothingDuePass(input.scheduler, n, notes);
    per.set(n, {
      idle,
      refreshes: n * refreshesPerCertificateMonth,
      renewals: n * A.renewalsPerCertificateMonth,
    });
  }
  /** The month's scheduler work: every pass's fixed part, plus each refresh and each renewal's re-read. */
  const month = (n: number) => {
    const { idle, refreshes, renewals } = per.get(n)!;
    const sum = (k: keyof PassCost) =>
      passesPerMonth * idle[k] + refreshes * refresh[k] + renewals * firstWindow[k];
    return { ms: sum('ms'), s3Gets: sum('s3Gets'), s3Puts: sum('s3Puts'), logBytes: sum('logBytes') };
  };

  add(`Lambda scheduler (${D.schedulerMemoryMb} MB; GB-s + requests)`, (n) => {
    const p = month(n);
    return (
      (p.ms / 1000) * schedulerMemoryGb * P.lambdaArmGbSecond +
      (passesPerMonth / 1e6) * P.lambdaPerMillionRequests
    );
  });
  add(`Lambda renewer (${D.renewerMemoryMb} MB; GB-s + requests)`, (n) => {
    const r = per.get(n)!.renewals;
    return (
      r * (input.renewalMs / 1000) * renewerMemoryGb * P.lambdaArmGbSecond +
      (r / 1e6) * P.lambdaPerMillionRequests
    );
  });
  add('SQS (renewals + idle polling)', (n) => {
    const r = per.get(n)!.renewals;
    return ((A.sqsIdlePollsMonth + r * A.sqsPerRenewal) / 1e6) * P.sqsPerMillionRequests;
  });
  add('S3 requests (scheduler passes + renewals)', (n) => {
    const p = month(n);
    const r = per.get(n)!.renewals;
    const gets = p.s3Gets + r * renewalS3Gets;
    const puts = p.s3Puts + r * renewalS3Puts;
    return (gets / 1000) * P.s3GetPer1000 + (puts / 1000) * P.s3PutPer1000;
  });
  add('EventBridge Scheduler + events', (n) => {
    const r = per.get(n)!.renewals;
    const scheduler =
      (Math.max(0, passesPerMonth - P.schedulerFreeInvocations) / 1e6) * P.schedulerPerMillionInvocations;
    return scheduler + ((r * renewalEvents) / 1e6) * P.eventBridgePerMillionEvents;
  });
  const perCertificateMetrics = (n: number): number => {
    if (D.perCertificateMetrics === 'all') return n;
    if (D.perCertificateMetrics !== 'near-expiry' || D.perCertificateMetricDays < A.daysLeftAtRenewal)
      return 0;
    return (per.get(n)!.renewals * A.daysToExpiryMetricHoursPerRenewal) / A.hoursPerMonth;
  };
  const serviceMetrics = D.serviceMetrics.length;
  add(
    `CloudWatch custom metrics (${serviceMetrics}: ${D.serviceMetrics.join(', ')}; per-certificate DaysToExpiry ` +
      `${D.perCertificateMetrics} ≤ ${D.perCertificateMetricDays} days)`,
    (n) => {
      const metrics = serviceMetrics + perCertificateMetrics(n);
      const first = Math.min(metrics, 10_000);
      return (
        first * P.cloudWatchMetricMonthFirst10k +
        Math.max(0, metrics - 10_000) * P.cloudWatchMetricMonthNext240k
      );
    },
  );
  add(`CloudWatch alarms (${D.alarms})`, () => D.alarms * P.cloudWatchAlarmMonth);
  add('CloudWatch Logs ingestion (scheduler)', (n) => {
    const p = month(n);
    return (p.logBytes / 1024 ** 3) * P.cloudWatchLogsPerGbIngested;
  });
  add(
    `KMS (${D.kmsKeys} ${D.kmsKeys === 1 ? 'key' : 'keys'} + requests with bucket keys; state bucket ${D.stateBucketKms ? 'SSE-KMS' : 'SSE-S3'})`,
    (n) => {
      const p = month(n);
      const r = per.get(n)!.renewals;
      // Under SSE-S3 only key material reaches KMS: counted as every renewal object request (an upper bound).
      const s3 = (D.stateBucketKms ? p.s3Gets + p.s3Puts : 0) + r * (renewalS3Gets + renewalS3Puts);
      return D.kmsKeys * P.kmsKeyMonth + ((s3 * A.kmsRequestsPerS3Request) / 10_000) * P.kmsPer10kRequests;
    },
  );
  const totals = Object.fromEntries(
    input.sizes.map((n) => [n, lines.reduce((sum, l) => sum + (l.monthly[n] ?? 0), 0)]),
  );
  const acmMonthly = (perCert: number) =>
    Object.fromEntries(input.sizes.map((n) => [n, (n * perCert * A.acmChargesPerYear) / 12]));
  return {
    sizes: input.sizes,
    defaults: D,
    refreshStateWriteShare: full.confirmed ? refresh.s3Puts : writeShare,
    refreshMeasured: full.confirmed !== undefined,
    lines,
    totals,
    acm: {
      single: acmMonthly(P.acmExportableFqdn),
      apexWildcard: acmMonthly(P.acmExportableFqdn + P.acmExportableWildcard),
    },
    notes,
  };
}
