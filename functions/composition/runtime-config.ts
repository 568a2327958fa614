import type { Clock } from '../core/clock';
import { type FunctionName, parseEnvironment } from '../core/contracts/environment';
import type { Fetch } from '../core/http';
import type {
  CertificateImporter,
  CertificateStore,
  DnsChallengeProvider,
  DnsPersistWriter,
  FirstImporter,
} from '../core/renewal/ports';

/** How the runtime reaches AWS and the CA. */
export interface RuntimeConfig {
  readonly bucket: string;
  readonly queueUrl?: string;
  readonly eventBusName?: string;
  /** KMS key for private keys and account keys (renewer and first import only). */
  readonly keyMaterialKmsKeyId?: string;
  /** The first-import function; unset in local runs, which import in-process. */
  readonly firstImportFunctionName?: string;
  /** `sts:ExternalId` for zone roles in other accounts. */
  readonly zoneRoleExternalId?: string;
  /** At most one forced order per certificate in this time (0: no limit). @default 1 hour */
  readonly forcedRenewalMinIntervalMs?: number;
  readonly region: string;
  /** The deployment's service name, written as the ACM `acme-ari:managed-by` tag on first import. */
  readonly serviceName?: string;
  readonly ariConcurrency: number;
  /** renewalInfo requests per second to each CA. @default ARI_REQUESTS_PER_SECOND (core/ari/request-rate.ts) */
  readonly ariRequestsPerSecond?: number;
  readonly scheduleIntervalMs: number;
  /**
   * Which certificates get a `DaysToExpiry` metric of their own: all, or those with at most `days` left
   * (each is a CloudWatch custom metric, the largest cost at scale).
   * @default { mode: 'all' }
   */
  readonly perCertificateMetrics?: { readonly mode: 'all' | 'near-expiry' | 'none'; readonly days: number };
  /** Overrides every AWS endpoint (moto); path-style S3 and static test credentials go with it. */
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  /** The HTTP client for the CA; in Lambda the functions' own on `node:https`, a CA-trusting one on the test bed. */
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  /** Tighter Route 53 polling for the local bed, where changes are in sync at once. */
  readonly dnsPollIntervalMs?: number;
  /** Wraps adapters (fault injection in tests, counting in benchmarks); production leaves it unset. */
  readonly decorate?: {
    readonly dns?: (real: DnsChallengeProvider) => DnsChallengeProvider;
    readonly importer?: (real: CertificateImporter) => CertificateImporter;
    readonly store?: (real: CertificateStore) => CertificateStore;
    /** The in-process first importer of local runs (the IAM simulation runs it as the first-import role). */
    readonly firstImport?: (real: FirstImporter) => FirstImporter;
    /** The in-process persist-record step of local runs (the IAM simulation runs it as the first-import role). */
    readonly persistRecord?: (real: DnsPersistWriter) => DnsPersistWriter;
  };
}

/**
 * Reads one function's runtime configuration from its Lambda environment (the contract in
 * `core/contracts/environment.ts`), naming every missing or bad variable.
 */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  fn: FunctionName,
): RuntimeConfig {
  const common = parseEnvironment(fn, env);
  const base = {
    bucket: common.STATE_BUCKET,
    region: common.AWS_REGION,
    serviceName: common.POWERTOOLS_SERVICE_NAME,
    scheduleIntervalMs: common.SCHEDULE_INTERVAL_MINUTES * 60_000,
    endpoint: common.AWS_ENDPOINT_URL,
    ariConcurrency: 10,
  };
  if (fn === 'scheduler') {
    const e = parseEnvironment('scheduler', env);
    return {
      ...base,
      queueUrl: e.RENEWAL_QUEUE_URL,
      ariConcurrency: e.ARI_CONCURRENCY,
      ariRequestsPerSecond: e.ARI_REQUESTS_PER_SECOND,
      eventBusName: e.EVENT_BUS_NAME,
      perCertificateMetrics: { mode: e.PER_CERTIFICATE_METRICS, days: e.PER_CERTIFICATE_METRIC_DAYS },
    };
  }
  if (fn === 'renewer') {
    const e = parseEnvironment('renewer', env);
    return {
      ...base,
      eventBusName: e.EVENT_BUS_NAME,
      keyMaterialKmsKeyId: e.KEY_MATERIAL_KMS_KEY_ID,
      firstImportFunctionName: e.FIRST_IMPORT_FUNCTION_NAME,
      zoneRoleExternalId: e.ZONE_ROLE_EXTERNAL_ID,
      forcedRenewalMinIntervalMs: e.FORCED_RENEWAL_MIN_INTERVAL_MINUTES * 60_000,
    };
  }
  return base;
}

/** Client settings shared by every AWS client: region, and for the local bed the endpoint and credentials. */
export function awsBase(config: RuntimeConfig) {
  return {
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
}

/** S3 settings: path-style addressing when an endpoint (moto) is set. */
export function s3ClientConfig(config: RuntimeConfig) {
  return { ...awsBase(config), ...(config.endpoint ? { forcePathStyle: true } : {}) };
}
