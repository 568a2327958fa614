import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config/inventory';
import { AcmeCa } from '../../infra/lib/acme-ca';
import { AcmeCertificates, type AcmeCertificatesProps } from '../../infra/lib/acme-certificates';
import { MAX_EXPLICIT_CERTIFICATE_LINES } from '../../infra/lib/acme-dashboard';
import type { InventoryInput } from '../../infra/lib/resolve-inventory';
import { scratchDir } from '../support/scratch';
import { cdkJsonContext } from './synth';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

const ACCOUNT = '111122223333';
const ZONE = 'Z0123456789EXAMPLE';
const INVENTORY: InventoryInput = {
  certificates: [
    { id: 'www', domains: ['example.com', '*.example.com'], hostedZones: { 'example.com': ZONE } },
    { id: 'api', domains: ['api.example.net'], hostedZones: { 'api.example.net': 'Z0AAAABBBBCCCC' } },
  ],
};

/** Synthesizes one stack without bundling (fast) but with cdk-nag, returning its template and findings. */
function synth(
  props: Partial<AcmeCertificatesProps> | ((stack: Stack) => Partial<AcmeCertificatesProps>),
  env?: { account: string; region: string },
) {
  const outdir = scratchDir('acme-construct-');
  const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Test', env ? { env } : {});
  // Props that need constructs (secrets, topics) are made in the same stack first.
  const extra = typeof props === 'function' ? props(stack) : props;
  const acme = new AcmeCertificates(stack, 'Certificates', {
    inventory: INVENTORY,
    alarmsWithoutSubscriber: true,
    ...extra,
  });
  const assembly = app.synth();
  const template = assembly.getStackByName('Test').template as { Resources: Record<string, Resource> };
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations?: { ruleName: string }[] }[];
  };
  return {
    acme,
    resources: (type: string) => Object.values(template.Resources).filter((r) => r.Type === type),
    statements: (): Statement[] =>
      Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement),
    findings: report.pluginReports.flatMap((p) => (p.violations ?? []).map((v) => v.ruleName)),
  };
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('AcmeCertificates: who may reach what', () => {
  it('lets only the scheduler and the named requesters send to the renewal queue', () => {
    const requester = `arn:aws:iam::${ACCOUNT}:role/ops-oncall`;
    const result = synth({ renewalRequesterArns: [requester] }, { account: ACCOUNT, region: 'eu-west-1' });
    const statements = result
      .resources('AWS::SQS::QueuePolicy')
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    const deny = statements.find((s) => s.Sid === 'OnlyTheSchedulerAndNamedRequestersSend');
    expect(deny).toMatchObject({ Effect: 'Deny', Action: 'sqs:SendMessage', Principal: { AWS: '*' } });
    const allowed = JSON.stringify((deny!.Condition as Record<string, unknown>).ArnNotLike);
    expect(allowed).toContain(requester);
    expect(allowed).toMatch(/SchedulerRole/);
    expect(result.findings).toEqual([]);
  });

  it.each([
    ['s3-managed', 1],
    ['kms', 2],
  ] as const)(
    'encrypts key material with a key of its own that the scheduler is never granted (state: %s)',
    (stateEncryption, keys) => {
      const result = synth({ stateEncryption });
      expect(result.resources('AWS::KMS::Key')).toHaveLength(keys);
      const policies = result.resources('AWS::IAM::Policy');
      const ofRole = (name: RegExp) =>
        JSON.stringify(policies.filter((p) => name.test(JSON.stringify(p.Properties.Roles))));
      expect(ofRole(/SchedulerRole/)).not.toMatch(/KeyMaterialKey/);
      expect(ofRole(/SchedulerRole/)).not.toMatch(/privkey|pending-key|accounts/);
      expect(ofRole(/RenewerRole/)).toMatch(/KeyMaterialKey/);
      expect(ofRole(/FirstImportRole/)).toMatch(/KeyMaterialKey/);
      // Nothing but the deployment writes the inventory: no function role names it in a PutObject grant.
      for (const role of [/SchedulerRole/, /RenewerRole/, /FirstImportRole/]) {
        const puts = policies
          .filter((p) => role.test(JSON.stringify(p.Properties.Roles)))
          .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
          .filter((st) => [st.Action].flat().includes('s3:PutObject'));
        // Neither the inventory by name nor the whole bucket ("<bucket>/*").
        expect(JSON.stringify(puts)).not.toMatch(/inventory\.json|"\/\*"/);
      }
    },
  );

  it('requires the external id on zone roles in other accounts', () => {
    const roleArn = 'arn:aws:iam::444455556666:role/dns-challenges';
    const result = synth({
      inventory: {
        certificates: [{ id: 'far', domains: ['far.example'], zoneRoleArns: { 'far.example': roleArn } }],
      },
      zoneRoleExternalId: 'acme-ari-prod',
    });
    const assume = result.statements().find((st) => [st.Action].flat().includes('sts:AssumeRole'));
    expect(assume).toMatchObject({
      Resource: roleArn,
      Condition: { StringEquals: { 'sts:ExternalId': 'acme-ari-prod' } },
    });
  });
});

describe('AcmeCertificates', () => {
  it('grants the EAB secret of a construct CA and of an inventory CA, and nothing else in Secrets Manager', () => {
    const inventorySecret = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:gts-eab-AbC123`;
    const result = synth((stack) => {
      const secret = new secretsmanager.Secret(stack, 'ZeroSslHmac');
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Test fixture: an EAB HMAC key is issued by the CA and cannot be rotated by Secrets Manager.',
      });
      return {
        inventory: {
          cas: {
            gts: {
              directoryUrl: 'https://dv.acme-v02.api.pki.goog/directory',
              eab: { keyId: 'kid-1', hmacSecretArn: inventorySecret },
            },
          },
          certificates: [
            ...INVENTORY.certificates,
            { id: 'gts-cert', domains: ['gts.example.com'], ca: 'gts', hostedZones: { 'example.com': ZONE } },
          ],
        },
        ca: AcmeCa.zeroSsl({ keyId: 'kid-zerossl', hmacSecret: secret }),
      };
    });
    const secretStatements = result
      .statements()
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    const resources = secretStatements.flatMap((s) => [s.Resource].flat());
    const granted = JSON.stringify(resources);
    expect(granted).toContain(inventorySecret);
    expect(granted).toContain('{"Ref":"ZeroSslHmac');
    expect(resources).toHaveLength(2);
    expect(result.findings).toEqual([]);
    // The construct CA is written into the uploaded inventory with its secret ARN (a deploy-time value).
    expect(result.acme.inventory.cas.zerossl?.eab?.keyId).toBe('kid-zerossl');
    expect(result.acme.inventory.certificates.map((c) => c.ca)).toEqual(['zerossl', 'zerossl', 'gts']);
  });

  it('allows sts:AssumeRole exactly on the inventory zone roles', () => {
    const role = `arn:aws:iam::444455556666:role/acme-dns`;
    const result = synth({
      inventory: {
        certificates: [
          ...INVENTORY.certificates,
          { id: 'other', domains: ['other.example'], zoneRoleArns: { 'other.example': role } },
        ],
      },
    });
    const assume = result.statements().filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(assume.map((s) => s.Resource)).toEqual([role]);
    expect(result.findings).toEqual([]);
  });

  it('alarms on ACM DaysToExpiry for each known certificate ARN, missing data breaching', () => {
    const arn = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/0b1c2d3e-1111-2222-3333-444455556666`;
    const result = synth(
      { knownCertificateArns: { www: arn }, alarmThresholds: { acmDaysToExpiry: 20 } },
      { account: ACCOUNT, region: 'eu-west-1' },
    );
    const alarms = result.resources('AWS::CloudWatch::Alarm').map((a) => a.Properties);
    expect(alarms).toHaveLength(5);
    expect(alarms.find((a) => a.Namespace === 'AWS/CertificateManager')).toMatchObject({
      MetricName: 'DaysToExpiry',
      Dimensions: [{ Name: 'CertificateArn', Value: arn }],
      Threshold: 20,
      TreatMissingData: 'breaching',
    });
    expect(result.findings).toEqual([]);
  });

  it('rejects a known ARN of another region or of an unknown id', () => {
    const error = configErrorOf(() =>
      synth(
        {
          knownCertificateArns: {
            www: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/abc`,
            nope: `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/def`,
          },
        },
        { account: ACCOUNT, region: 'eu-west-1' },
      ),
    );
    expect(error.problems.map((p) => p.path).sort()).toEqual([
      'knownCertificateArns.nope',
      'knownCertificateArns.www',
    ]);
  });

  it("uses an existing topic, subscribes the e-mail and bounds renewals by the event source's maximum concurrency", () => {
    let existing: sns.Topic | undefined;
    const result = synth((scope) => {
      existing = new sns.Topic(scope, 'Existing', { enforceSSL: true });
      return { alarmTopic: existing, notificationEmail: 'ops@example.com', renewerConcurrency: 5 };
    });
    // Only the given topic: the construct made none of its own, and every alarm notifies the given one.
    expect(result.resources('AWS::SNS::Topic')).toHaveLength(1);
    expect(result.acme.alarmTopic).toBe(existing);
    for (const alarm of result.resources('AWS::CloudWatch::Alarm')) {
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('Existing');
    }
    expect(result.resources('AWS::SNS::Subscription')[0]?.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    const fn = result
      .resources('AWS::Lambda::Function')
      .find((f) => /Renews one certificate/.test(String(f.Properties.Description)));
    expect(fn?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const mapping = result.resources('AWS::Lambda::EventSourceMapping')[0];
    expect(mapping?.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 5 });
  });

  it('runs on the given interval and sizes the heartbeat alarm to it', () => {
    const result = synth({ scheduleInterval: Duration.minutes(30) });
    expect(result.resources('AWS::Scheduler::Schedule')[0]?.Properties.ScheduleExpression).toBe(
      'rate(30 minutes)',
    );
    const heartbeat = result
      .resources('AWS::CloudWatch::Alarm')
      .find((a) => a.Properties.MetricName === 'MinDaysToExpiry' && a.Properties.Statistic === 'SampleCount');
    expect(heartbeat?.Properties).toMatchObject({ Period: 1800, EvaluationPeriods: 2 });
  });

  it('publishes the counts as metrics only under detailedMetrics, and per-certificate metrics from the alarm threshold', () => {
    const lean = synth({ alarmThresholds: { minDaysToExpiry: 10 } });
    const detailed = synth({ detailedMetrics: true });
    const env = (r: typeof lean, description: RegExp): Record<string, unknown> => {
      const fn = r
        .resources('AWS::Lambda::Function')
        .find((f) => description.test(String(f.Properties.Description)));
      return (
        (fn?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {}
      );
    };
    expect(env(lean, /Checks ACME Renewal Information/)).toMatchObject({ PER_CERTIFICATE_METRIC_DAYS: '10' });
    expect(env(lean, /Checks ACME Renewal Information/).DETAILED_METRICS).toBeUndefined();
    expect(env(detailed, /Checks ACME Renewal Information/)).toMatchObject({
      DETAILED_METRICS: 'true',
      PER_CERTIFICATE_METRIC_DAYS: '14',
    });
    expect(env(detailed, /Renews one certificate/)).toMatchObject({ DETAILED_METRICS: 'true' });
    const body = (r: typeof lean) => JSON.stringify(r.resources('AWS::CloudWatch::Dashboard')[0]?.Properties);
    expect(body(detailed)).toContain('RenewalSucceeded');
    expect(body(lean)).not.toContain('RenewalSucceeded');
  });

  it('draws many certificates with one search expression instead of a line each', () => {
    const certificates = Array.from({ length: MAX_EXPLICIT_CERTIFICATE_LINES + 1 }, (_, i) => ({
      id: `cert-${i}`,
      domains: [`c${i}.example.com`],
      hostedZones: { 'example.com': ZONE },
    }));
    const result = synth({ inventory: { certificates } });
    const body = JSON.stringify(result.resources('AWS::CloudWatch::Dashboard')[0]?.Properties.DashboardBody);
    expect(body).toContain('SEARCH(');
    expect(body).not.toContain('cert-100');
    expect(result.findings).toEqual([]);
  });

  it('keeps one KMS key by default: key material under it, the rest SSE-S3, the alarm topic on it for CloudWatch only', () => {
    const result = synth({});
    expect(result.resources('AWS::KMS::Key')).toHaveLength(1);
    const [bucket] = result.resources('AWS::S3::Bucket');
    expect(bucket?.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    // Key material may only be stored under the key-material key, whoever writes it.
    const policy = JSON.stringify(result.resources('AWS::S3::BucketPolicy')[0]?.Properties.PolicyDocument);
    expect(policy).toContain('"Sid":"KeyMaterialOnlyUnderItsKey"');
    expect(policy).toContain('s3:x-amz-server-side-encryption-aws-kms-key-id');
    for (const key of ['privkey.pem', 'pending-key.pem', 'accounts/*']) expect(policy).toContain(key);
    // CloudWatch may use the key for SNS messages of this account only, never for S3 data keys.
    const [key] = result.resources('AWS::KMS::Key');
    const statements =
      (key?.Properties.KeyPolicy as { Statement: (Statement & { Principal?: unknown })[] } | undefined)
        ?.Statement ?? [];
    const cloudWatch = statements.filter((s) => JSON.stringify(s.Principal ?? {}).includes('cloudwatch'));
    expect(cloudWatch).toHaveLength(1);
    expect(JSON.stringify(cloudWatch[0]?.Condition)).toContain('kms:EncryptionContext:aws:sns:topicArn');
    expect(result.resources('AWS::SNS::Topic')[0]?.Properties.KmsMasterKeyId).toBeDefined();
    expect(result.findings).toEqual([]);
  });

  it("keeps a state key for everything that is not key material with stateEncryption: 'kms'", () => {
    const result = synth({ stateEncryption: 'kms' });
    expect(result.resources('AWS::KMS::Key')).toHaveLength(2);
    const [bucket] = result.resources('AWS::S3::Bucket');
    expect(JSON.stringify(bucket?.Properties.BucketEncryption)).toContain('"SSEAlgorithm":"aws:kms"');
    expect(result.acme.key).toBeDefined();
    expect(result.findings).toEqual([]);
  });

  it('writes server access logs when given a bucket', () => {
    const result = synth((scope) => ({
      serverAccessLogsBucket: s3.Bucket.fromBucketName(scope, 'Logs', 'access-logs-bucket'),
    }));
    const state = result
      .resources('AWS::S3::Bucket')
      .find((b) => b.Properties.VersioningConfiguration !== undefined);
    expect(state?.Properties.LoggingConfiguration).toMatchObject({
      DestinationBucketName: 'access-logs-bucket',
    });
    // CDK cannot add the log delivery policy to an imported bucket and says so; the owner of that bucket must.
    expect(result.findings).toEqual(['Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded']);
  });

  it.each([
    ['an interval under 5 minutes', { scheduleInterval: Duration.minutes(2) }, 'scheduleInterval'],
    ['an interval over 12 hours', { scheduleInterval: Duration.days(1) }, 'scheduleInterval'],
    ['no renewer concurrency', { renewerConcurrency: 0 }, 'renewerConcurrency'],
    ['a renewer concurrency the event source cannot keep', { renewerConcurrency: 1 }, 'renewerConcurrency'],
    [
      'a forced-renewal interval of seconds',
      { forcedRenewalInterval: Duration.seconds(90) },
      'forcedRenewalInterval',
    ],
    [
      'no zone to grant',
      { inventory: { certificates: [{ id: 'www', domains: ['example.com'] }] } },
      'certificates',
    ],
    [
      'a construct CA that the inventory defines too',
      {
        ca: AcmeCa.fromDirectoryUrl('mine', 'https://ca.example/dir'),
        inventory: { ...INVENTORY, cas: { mine: { directoryUrl: 'https://ca.example/dir' } } },
      },
      'cas.mine',
    ],
  ] as const)('rejects %s', (_name, props, path) => {
    const error = configErrorOf(() => synth(props as Partial<AcmeCertificatesProps>));
    expect(error.problems.map((p) => p.path)).toContain(path);
  });
});
