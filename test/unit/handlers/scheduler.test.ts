import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime, RuntimeConfig } from '../../../functions/composition/runtime';
import type { SchedulerReport } from '../../../functions/core/renewal/run-scheduler';
import { createSchedulerHandler } from '../../../functions/handlers/scheduler';

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
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = original;
  }
  return lines
    .flatMap((l) => l.split('\n'))
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
    // The heartbeat and the minimum the alarms use are published whatever the setting.
    const summary = docs.find((d) => 'SchedulerHeartbeat' in d);
    expect(summary).toMatchObject({ SchedulerHeartbeat: 1, MinDaysToExpiry: 12.5, CertificatesDue: 1 });
  });
});
