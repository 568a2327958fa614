import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';

/** The handler's logger and metrics sink (one of each per container, see `handlers/telemetry.ts`). */
export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Also publish the informational counts (due, ARI checks and errors, windows moved, renewals succeeded) as
   * custom metrics, not only in the log lines (`DETAILED_METRICS`, the construct's `detailedMetrics`).
   * @default false
   */
  readonly detailedMetrics?: boolean;
}
