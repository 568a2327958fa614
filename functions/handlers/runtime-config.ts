import * as z from 'zod';
import type { Clock } from '../core/clock';
import { ConfigError } from '../core/config/inventory';
import type { Fetch } from '../core/http';
import type { CertificateImporter, CertificateStore, DnsChallengeProvider } from '../core/renewal/ports';

/** The Lambda environment the CDK construct sets; read once per container. */
const envSchema = z.object({
  STATE_BUCKET: z.string().min(3, 'STATE_BUCKET must name the state bucket'),
  INVENTORY_KEY: z.string().default('inventory.json'),
  RENEWAL_QUEUE_URL: z.string().optional(),
  EVENT_BUS_NAME: z.string().optional(),
  KMS_KEY_ID: z.string().optional(),
  ARI_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),
  SCHEDULE_INTERVAL_MINUTES: z.coerce.number().int().min(1).default(60),
  PER_CERTIFICATE_METRICS: z
    .enum(['all', 'near-expiry'], { error: "must be 'all' or 'near-expiry'" })
    .default('all'),
  PER_CERTIFICATE_METRIC_DAYS: z.coerce.number().min(0).default(30),
  AWS_REGION: z.string().default('us-east-1'),
  /** Names this deployment; also the ACM managed-by tag the renewer's IAM policy requires. */
  POWERTOOLS_SERVICE_NAME: z.string().optional(),
  /** Local runs only (demo, tests): one endpoint for every AWS API, e.g. moto. */
  AWS_ENDPOINT_URL: z.string().optional(),
});

/** How the runtime reaches AWS and the CA. */
export interface RuntimeConfig {
  readonly bucket: string;
  readonly queueUrl?: string;
  readonly eventBusName?: string;
  readonly kmsKeyId?: string;
  readonly region: string;
  /** The deployment's service name, written as the ACM `acme-ari:managed-by` tag on first import. */
  readonly serviceName?: string;
  readonly ariConcurrency: number;
  readonly scheduleIntervalMs: number;
  /**
   * Which certificates get a `DaysToExpiry` metric of their own: all, or those with at most `days` left
   * (each is a CloudWatch custom metric, the largest cost at scale).
   * @default { mode: 'all' }
   */
  readonly perCertificateMetrics?: { readonly mode: 'all' | 'near-expiry'; readonly days: number };
  /** Overrides every AWS endpoint (moto); path-style S3 and static test credentials go with it. */
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  /** The HTTP client for the CA; the global fetch in Lambda, a CA-trusting one on the local test bed. */
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  /** Tighter Route 53 polling for the local bed, where changes are in sync at once. */
  readonly dnsPollIntervalMs?: number;
  /** Wraps adapters (fault injection in tests, counting in benchmarks); production leaves it unset. */
  readonly decorate?: {
    readonly dns?: (real: DnsChallengeProvider) => DnsChallengeProvider;
    readonly importer?: (real: CertificateImporter) => CertificateImporter;
    readonly store?: (real: CertificateStore) => CertificateStore;
  };
}

/** Reads the runtime configuration from the Lambda environment, naming every missing or bad variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): RuntimeConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      'the Lambda environment',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const e = parsed.data;
  return {
    bucket: e.STATE_BUCKET,
    queueUrl: e.RENEWAL_QUEUE_URL,
    eventBusName: e.EVENT_BUS_NAME,
    kmsKeyId: e.KMS_KEY_ID,
    region: e.AWS_REGION,
    serviceName: e.POWERTOOLS_SERVICE_NAME,
    ariConcurrency: e.ARI_CONCURRENCY,
    scheduleIntervalMs: e.SCHEDULE_INTERVAL_MINUTES * 60_000,
    perCertificateMetrics: { mode: e.PER_CERTIFICATE_METRICS, days: e.PER_CERTIFICATE_METRIC_DAYS },
    endpoint: e.AWS_ENDPOINT_URL,
  };
}
