import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AcmeCertificates, DEFAULT_METRICS_NAMESPACE } from '../../infra/lib/acme-certificates';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';

/** What the cost model takes from the construct as a user gets it (default props), read from its synthesized template. */
export interface ConstructDefaults {
  /** Customer-managed KMS keys (`AWS::KMS::Key`). */
  readonly kmsKeys: number;
  /** The state bucket's default encryption: SSE-KMS (every object request may reach KMS) or SSE-S3. */
  readonly stateBucketKms: boolean;
  /** CloudWatch alarms without `knownCertificateArns`. */
  readonly alarms: number;
  /** The service-level custom metrics the alarms watch (the functions publish exactly these by default). */
  readonly serviceMetrics: readonly string[];
  /** `PER_CERTIFICATE_METRICS` and `PER_CERTIFICATE_METRIC_DAYS` of the scheduler. */
  readonly perCertificateMetrics: string;
  readonly perCertificateMetricDays: number;
  /** `MinDaysToExpiry` alarm threshold. */
  readonly expiryAlarmDays: number;
  /** `DETAILED_METRICS` of the scheduler (the informational counts as metrics too). */
  readonly detailedMetrics: boolean;
  /** Memory of the scheduler and renewer functions, in MB. */
  readonly schedulerMemoryMb: number;
  readonly renewerMemoryMb: number;
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * Synthesizes `AcmeCertificates` with only the props it requires (one certificate, a subscriber) and no bundling,
 * and reads the defaults that cost money: so the model and the construct cannot drift apart.
 */
export function constructDefaults(): ConstructDefaults {
  const outdir = mkdtempSync(join(tmpdir(), 'acme-cost-'));
  try {
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'CostDefaults', { env: { account: '111122223333', region: 'us-east-1' } });
    new AcmeCertificates(stack, 'Certificates', {
      inventory: {
        certificates: [
          { id: 'www', domains: ['www.example.com'], hostedZones: { 'example.com': 'Z0EXAMPLE' } },
        ],
      },
      notificationEmail: 'ops@example.com',
    });
    const template = app.synth().getStackByName('CostDefaults').template as {
      Resources: Record<string, Resource>;
    };
    return readDefaults(Object.values(template.Resources));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function readDefaults(resources: readonly Resource[]): ConstructDefaults {
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  const alarms = ofType('AWS::CloudWatch::Alarm').map((r) => r.Properties ?? {});
  const functionBy = (description: RegExp) => {
    const found = ofType('AWS::Lambda::Function').find((f) =>
      description.test(String(f.Properties?.Description)),
    );
    if (!found) throw new Error(`the cost model found no function described ${description}`);
    return found.Properties ?? {};
  };
  const scheduler = functionBy(/^Checks ACME Renewal Information/);
  const renewer = functionBy(/^Renews one certificate/);
  const env = (scheduler.Environment as { Variables: Record<string, string> }).Variables;
  const expiry = alarms.find((a) => a.MetricName === 'MinDaysToExpiry' && a.Statistic === 'Minimum');
  const buckets = ofType('AWS::S3::Bucket').map((b) => JSON.stringify(b.Properties?.BucketEncryption ?? {}));
  return {
    kmsKeys: ofType('AWS::KMS::Key').length,
    stateBucketKms: buckets.some((b) => b.includes('"aws:kms"')),
    alarms: alarms.length,
    serviceMetrics: [
      ...new Set(
        alarms.filter((a) => a.Namespace === DEFAULT_METRICS_NAMESPACE).map((a) => String(a.MetricName)),
      ),
    ].sort(),
    perCertificateMetrics: String(env.PER_CERTIFICATE_METRICS),
    perCertificateMetricDays: Number(env.PER_CERTIFICATE_METRIC_DAYS),
    expiryAlarmDays: Number(expiry?.Threshold),
    detailedMetrics: env.DETAILED_METRICS === 'true',
    schedulerMemoryMb: Number(scheduler.MemorySize),
    renewerMemoryMb: Number(renewer.MemorySize),
  };
}
