import { ConfigError } from '../config/inventory';
import * as z from '../zod';

/**
 * The Lambda environment, defined once: the CDK construct builds each function's variables with
 * {@link functionEnvironment} and the functions parse them with {@link parseEnvironment}, so a variable one side
 * sets and the other never reads (the scheduling interval once was one) cannot ship again.
 */

const minutes = z.coerce.number().check(z.int(), z.gte(0));

/** Variables every function reads. */
const commonSchema = z.object({
  STATE_BUCKET: z.string().check(z.minLength(3, 'must name the state bucket')),
  INVENTORY_KEY: z._default(z.string().check(z.minLength(1)), 'inventory.json'),
  /** Names this deployment; also the ACM `acme-ari:managed-by` tag the IAM policies condition on. */
  POWERTOOLS_SERVICE_NAME: z.optional(z.string().check(z.minLength(1))),
  POWERTOOLS_METRICS_NAMESPACE: z.optional(z.string().check(z.minLength(1))),
  POWERTOOLS_LOG_LEVEL: z.optional(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR'])),
  AWS_REGION: z._default(z.string(), 'us-east-1'),
  /** Local runs only (demo, tests): one endpoint for every AWS API, e.g. moto. */
  AWS_ENDPOINT_URL: z.optional(z.string()),
  /** How often the scheduler runs: its lookahead, and the renewer's, so both agree on what is due. */
  SCHEDULE_INTERVAL_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1)), 60),
});

/**
 * renewalInfo requests the scheduler keeps in flight by default. At AWS latencies (renewalInfo ~150 ms, an S3 GET
 * and PUT ~20 ms each) 50 checks at once refresh 10,000 certificates in ~38 s, so the per-CA request rate
 * (`ARI_REQUESTS_PER_SECOND`, 200/s: 50 s) bounds the pass, not the concurrency; 10 needed ~190 s.
 */
export const DEFAULT_ARI_CONCURRENCY = 50;

/**
 * Days left under which a certificate counts as near expiry: the default threshold of the `MinDaysToExpiry` alarm
 * and of the per-certificate `DaysToExpiry` metric (`near-expiry`), in days scaled to a 90-day lifetime (14 of 90 is
 * 7 of 45 and 0.93 of 6; see `renewal/expiry.ts`). Certificates renew well before it (a 90-day one with about 30 days
 * left), so in normal operation no per-certificate metric is published.
 */
export const DEFAULT_NEAR_EXPIRY_DAYS = 14;

/** `DETAILED_METRICS`: also publish the informational counts as custom metrics (they are always logged). */
const detailedMetricsSchema = z._default(z.enum(['true', 'false']), 'false');

/** Whether a function publishes its informational counts as metrics (`DETAILED_METRICS`, default `false`). */
export function detailedMetricsOf(env: Readonly<Record<string, string | undefined>>): boolean {
  return detailedMetricsSchema.parse(env.DETAILED_METRICS) === 'true';
}

/** The scheduler: inventory and state documents only, never key material. */
export const schedulerEnvironmentSchema = z.extend(commonSchema, {
  RENEWAL_QUEUE_URL: z.string().check(z.minLength(1, 'must be the renewal queue URL')),
  ARI_CONCURRENCY: z._default(
    z.coerce.number().check(z.int(), z.gte(1), z.lte(100)),
    DEFAULT_ARI_CONCURRENCY,
  ),
  /** renewalInfo requests per second to each CA (`ARI_REQUESTS_PER_SECOND` in core/ari/request-rate.ts). */
  ARI_REQUESTS_PER_SECOND: z._default(z.coerce.number().check(z.gte(1), z.lte(1000)), 200),
  /** The bus `ARI Window Moved` events go to (absent: the account's default bus). */
  EVENT_BUS_NAME: z.optional(z.string().check(z.minLength(1))),
  PER_CERTIFICATE_METRICS: z._default(
    z.enum(['all', 'near-expiry', 'none'], { error: "must be 'all', 'near-expiry' or 'none'" }),
    'near-expiry',
  ),
  PER_CERTIFICATE_METRIC_DAYS: z._default(z.coerce.number().check(z.gte(0)), DEFAULT_NEAR_EXPIRY_DAYS),
  DETAILED_METRICS: detailedMetricsSchema,
});

/** The renewer: orders, DNS-01, state, re-imports. */
export const renewerEnvironmentSchema = z.extend(commonSchema, {
  EVENT_BUS_NAME: z.optional(z.string().check(z.minLength(1))),
  /** KMS key for private keys and ACME account keys (the scheduler has no use of it). */
  KEY_MATERIAL_KMS_KEY_ID: z.optional(z.string().check(z.minLength(1))),
  /** The function that performs first imports into ACM (the renewer may not tag certificates itself). */
  FIRST_IMPORT_FUNCTION_NAME: z.optional(z.string().check(z.minLength(1))),
  /** `sts:ExternalId` sent when assuming a zone role in another account. */
  ZONE_ROLE_EXTERNAL_ID: z.optional(z.string().check(z.minLength(2), z.maxLength(1224))),
  /** At most one forced order per certificate in this many minutes (0: no limit). */
  FORCED_RENEWAL_MIN_INTERVAL_MINUTES: z._default(minutes, 60),
  DETAILED_METRICS: detailedMetricsSchema,
});

/** The first-import function: reads the stored certificate and imports it into ACM, tagged as ours. */
export const firstImportEnvironmentSchema = commonSchema;

/** The functions, by the name the construct and the IAM simulation use for their roles. */
export const FUNCTION_ENVIRONMENTS = {
  scheduler: schedulerEnvironmentSchema,
  renewer: renewerEnvironmentSchema,
  'first-import': firstImportEnvironmentSchema,
} as const;

export type FunctionName = keyof typeof FUNCTION_ENVIRONMENTS;
export type FunctionEnvironment<F extends FunctionName> = z.infer<(typeof FUNCTION_ENVIRONMENTS)[F]>;
/** What the construct passes: every variable as its input type (numbers as numbers), defaults optional. */
export type FunctionEnvironmentInput<F extends FunctionName> = z.input<(typeof FUNCTION_ENVIRONMENTS)[F]>;

/**
 * Parses a function's environment, naming every missing or bad variable at once.
 * @throws ConfigError listing each variable and what it must be.
 */
export function parseEnvironment<F extends FunctionName>(
  name: F,
  env: Readonly<Record<string, string | undefined>>,
): FunctionEnvironment<F> {
  const parsed = FUNCTION_ENVIRONMENTS[name].safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `the ${name} function's environment`,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return parsed.data as FunctionEnvironment<F>;
}

/**
 * The variables the construct sets for a function, as strings, checked against the same schema the function
 * parses (tokens such as a bucket name pass as the strings CDK renders them to).
 */
export function functionEnvironment<F extends FunctionName>(
  name: F,
  values: FunctionEnvironmentInput<F>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (!(key in FUNCTION_ENVIRONMENTS[name].shape)) {
      throw new ConfigError(`the ${name} function's environment`, [
        { path: key, message: 'is not a variable this function reads' },
      ]);
    }
    out[key] = String(value);
  }
  parseEnvironment(name, out);
  return out;
}
