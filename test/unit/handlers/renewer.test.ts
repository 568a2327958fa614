import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { renewRecord } from '../../../functions/composition/renew-record';
import type { RenewerRuntime } from '../../../functions/composition/runtime';
import { stdoutLines } from '../../support/output/capture-output';

type Outcome = Awaited<ReturnType<RenewerRuntime['renew']>>;

/** The metric names of the EMF documents one record's renewal wrote. */
async function metricNames(
  result: 'renewed' | 'deferred' | Error,
  detailedMetrics?: boolean,
): Promise<string[]> {
  const lines = await stdoutLines(async () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const renew = async (): Promise<Outcome> => {
      if (result instanceof Error) throw result;
      return { id: 'www', result, reason: 'ari-window', imports: [], notes: [] } as unknown as Outcome;
    };
    const body = JSON.stringify({ id: 'www', reason: 'ari-window' });
    await renewRecord(() => ({ renew }), { body, messageId: 'm1' }, 'owner', {
      logger: new Logger({ serviceName: 'test' }),
      metrics,
      ...(detailedMetrics === undefined ? {} : { detailedMetrics }),
    });
    metrics.publishStoredMetrics();
  });
  return lines
    .filter((l) => l.includes('"_aws"'))
    .flatMap((l) =>
      (
        JSON.parse(l) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } }
      )._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name)),
    );
}

afterEach(() => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
});

describe('renewer metrics', () => {
  it.each([
    ['a renewal that succeeds, by default', 'renewed' as const, undefined, []],
    ['a renewal that succeeds, with detailedMetrics', 'renewed' as const, true, ['RenewalSucceeded']],
    ['a deferred renewal', 'deferred' as const, undefined, ['RenewalFailed']],
    ['a renewal that throws', new Error('CA down'), undefined, ['RenewalFailed']],
  ])('%s', async (_, result, detailed, expected) => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    expect(await metricNames(result, detailed)).toEqual(expected);
  });
});
