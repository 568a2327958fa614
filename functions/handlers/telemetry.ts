import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { detailedMetricsOf } from '../core/contracts/environment';

/** One logger and one metrics sink per container; service name and namespace come from the Powertools env. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'acme-ari' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'AcmeAri',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'acme-ari',
});
/** Whether the informational counts are metrics too (`DETAILED_METRICS`); they are always in the log lines. */
export const detailedMetrics = detailedMetricsOf(process.env);
