import { configFromEnv } from '../composition/runtime-config';
import { publishSchedulerReport, type SchedulerSummary } from '../composition/scheduler-report';
import { createSchedulerRuntime, type SchedulerRuntime } from '../composition/scheduler-runtime';
import { detailedMetrics, logger, metrics } from './telemetry';

let runtime: SchedulerRuntime | undefined;

/** Builds the handler around a runtime; Lambda uses the one from the environment, tests and the demo their own. */
export function createSchedulerHandler(get: () => Pick<SchedulerRuntime, 'scheduler' | 'config'>) {
  return async (): Promise<SchedulerSummary> => {
    const current = get();
    const report = await current.scheduler();
    return publishSchedulerReport(report, current.config.perCertificateMetrics, {
      logger,
      metrics,
      detailedMetrics,
    });
  };
}

/** EventBridge Scheduler entry point. */
export const handler = createSchedulerHandler(() => {
  runtime ??= createSchedulerRuntime(configFromEnv(process.env, 'scheduler'));
  return runtime;
});
