import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';

/** The handler's logger and metrics sink (one of each per container, see `handlers/telemetry.ts`). */
export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}
