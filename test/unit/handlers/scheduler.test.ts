import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime, RuntimeConfig } from '../../../functions/composition/runtime';
import { publishSchedulerReport } from '../../../functions/composition/scheduler-report';
import type { SchedulerReport } from '../../../functions/core/renewal/run-scheduler';
import { createSchedulerHandler } from '../../../functions/handlers/scheduler';
import { stdoutLines } from '../../support/output/capture-output';

const report: SchedulerReport = {
  checks: [
    { id: 'soon', due: false, reason: 'not-yet', explanation: '', daysToExpiry: 12.5, ariRequested: false },
    { id: 'later', due: false, reason: 'not-yet', explanation: '', daysToExpiry: 61, ariRequested: false },
    { id: 'unissued', due: true, reason: 'new', explanation: '', ariRequested: false },
  ],
  enqueued: [{ id: 'unissued', reason: 'new' }],
  problems: [],
  ariRequests: 0,
  ariErrors: 0,
  minDaysToExpiry: 12.5,
  budgetSpent: false,
  leftForNextPass: 0,
  waiting: 0,
  indexRebuilt: false,
};

function runtimeWith(perCertificateMetrics?: RuntimeConfig['perCertificateMetrics']): Runtime {
  const config = {
    bucket: 'b',
    region: 'us-east-1',
    ariConcurrency: 1,
    scheduleIntervalMs: 3_600_000,
    perCertificateMetrics,
  };
  return { config, scheduler: async () => report } as unknown as Runtime;
}

/** The EMF documents the handler wrote, parsed. */
async function emfOf(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  return (await stdoutLines(run))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const perCertificateIds = (docs: Array<Record<string, unknown>>) =>
  docs.filter((d) => 'DaysToExpiry' in d).map((d) => d.CertificateId);

afterEach(() => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
});

describe('scheduler handler metrics', () => {
  it.each([
    ['all (default)', undefined, ['soon', 'later']],
    ['near-expiry, 30 days', { mode: 'near-expiry' as const, days: 30 }, ['soon']],
    ['near-expiry, 10 days', { mode: 'near-expiry' as const, days: 10 }, []],
  ])('per-certificate DaysToExpiry: %s', async (_, setting, ids) => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const docs = await emfOf(() => createSchedulerHandler(() => runtimeWith(setting))());
    expect(perCertificateIds(docs)).toEqual(ids);
    // The minimum the expiry alarm uses, whose data points are also the heartbeat, is published whatever the setting.
    expect(docs.find((d) => 'MinDaysToExpiry' in d)).toMatchObject({ MinDaysToExpiry: 12.5 });
  });

  it('publishes only what the alarms watch by default; the counts are in the pass line', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const docs = await emfOf(() => createSchedulerHandler(() => runtimeWith({ mode: 'none', days: 0 }))());
    const names = docs.flatMap((d) =>
      ((d._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics ?? []).flatMap(
        (m) => m.Metrics.map((x) => x.Name),
      ),
    );
    expect(names).toEqual(['MinDaysToExpiry']);
  });

  it('publishes the counts as metrics too under detailedMetrics, and no heartbeat metric either way', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const logger = new Logger({ serviceName: 'test' });
    const docs = await emfOf(async () =>
      publishSchedulerReport(report, { mode: 'none', days: 0 }, { logger, metrics, detailedMetrics: true }),
    );
    const summary = docs.find((d) => 'MinDaysToExpiry' in d);
    expect(summary).toMatchObject({ MinDaysToExpiry: 12.5, CertificatesDue: 1, AriChecks: 0, AriErrors: 0 });
    expect(summary).toMatchObject({ AriWindowMoved: 0 });
    expect(summary).not.toHaveProperty('SchedulerHeartbeat');
  });

  it('publishes no MinDaysToExpiry for a pass that knows no expiry (empty inventory, nothing issued yet)', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const logger = new Logger({ serviceName: 'test' });
    const empty: SchedulerReport = { ...report, checks: [], enqueued: [], minDaysToExpiry: undefined };
    const docs = await emfOf(async () => publishSchedulerReport(empty, undefined, { logger, metrics }));
    expect(docs.filter((d) => 'MinDaysToExpiry' in d)).toEqual([]);
  });
});

// A 6-day certificate always has fewer than 14 days left: judged on real days it would get a $0.30-a-month metric
// all its life. Judged on its lifetime-scaled days it gets one only when its renewal is as late as a 90-day one's.
describe('per-certificate DaysToExpiry under near-expiry, for short-lived certificates', () => {
  const shortLived = (left: number) =>
    ({
      id: 'six-day',
      due: false,
      reason: 'not-yet',
      explanation: '',
      daysToExpiry: left,
      scaledDaysToExpiry: (left * 90) / 6,
      ariRequested: false,
    }) as const;

  it.each([
    ['3 days of 6 left (45 of 90): no metric', 3, undefined],
    ['half a day of 6 left (7.5 of 90): the real days left', 0.5, 0.5],
  ])('%s', async (_, left, published) => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const logger = new Logger({ serviceName: 'test' });
    const pass: SchedulerReport = { ...report, checks: [shortLived(left)], enqueued: [] };
    const lines = await stdoutLines(async () =>
      publishSchedulerReport(pass, { mode: 'near-expiry', days: 14 }, { logger, metrics }),
    );
    const docs = lines
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs.find((d) => 'DaysToExpiry' in d)?.DaysToExpiry).toBe(published);
  });

  it('the certificate_checked line keeps the real days left', async () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const logger = new Logger({ serviceName: 'test' });
    const pass: SchedulerReport = { ...report, checks: [{ ...shortLived(3), due: true }], enqueued: [] };
    const lines = await stdoutLines(async () => publishSchedulerReport(pass, undefined, { logger, metrics }));
    const line = lines.find((l) => l.includes('"certificate_checked"'));
    expect(JSON.parse(line!)).toMatchObject({ certificate_id: 'six-day', days_to_expiry: 3 });
  });
});

describe('scheduler log lines', () => {
  /** The `certificate_checked` lines one pass writes, by certificate id. */
  async function checkedIds(checks: SchedulerReport['checks']): Promise<unknown[]> {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const logger = new Logger({ serviceName: 'test' });
    const lines = await stdoutLines(() =>
      publishSchedulerReport({ ...report, checks, ariRequests: checks.length }, undefined, {
        logger,
        metrics,
      }),
    );
    return lines
      .filter((l) => l.includes('"certificate_checked"'))
      .map((l) => (JSON.parse(l) as { certificate_id: unknown }).certificate_id);
  }
  const quiet = { due: false, reason: 'not-yet', explanation: '', ariRequested: true } as const;

  it('a refresh that only confirmed the window writes no line; a changed state, a due one and an error do', async () => {
    const ids = await checkedIds([
      { ...quiet, id: 'confirmed', stateChanged: false },
      { ...quiet, id: 'first-window', stateChanged: true },
      { ...quiet, id: 'ari-failed', stateChanged: true, ariError: 'HTTP 503' },
      { ...quiet, id: 'due', due: true, reason: 'ari-window', stateChanged: false },
      { ...quiet, id: 'not-looked-at', ariRequested: false },
    ]);
    expect(ids).toEqual(['first-window', 'ari-failed', 'due']);
  });

  it('a refresh whose write is unknown (a dry run through check) still writes its line', async () => {
    expect(await checkedIds([{ ...quiet, id: 'dry' }])).toEqual(['dry']);
  });
});
