import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_ID_TAG } from '../../functions/adapters/acm-importer';
import { ESBUILD_OPTIONS, HANDLER_ENTRIES, PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { ACME_CHALLENGE_RECORD_PATTERN, MANAGED_BY_TAG } from '../../infra/lib/renewer-permissions';
import { buildApp, validationFindings } from './synth';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

// One synthesis (with bundling and cdk-nag) for the whole file: it is the slow part.
let template: Template;
let json: { Resources: Record<string, Resource> };
let outdir: string;
let findings: string[];
let messages: { level: string; entry: { data: unknown } }[];

beforeAll(() => {
  const built = buildApp();
  const assembly = built.app.synth();
  outdir = built.outdir;
  const artifact = assembly.getStackByName(built.stack.stackName);
  json = artifact.template as typeof json;
  template = Template.fromJSON(json);
  findings = validationFindings(outdir);
  messages = artifact.messages as typeof messages;
});

const resourcesOf = (type: string) =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type) as [string, Resource][];

const functionByEntry = (entry: 'scheduler' | 'renewer'): Resource => {
  const description = entry === 'scheduler' ? /Checks ACME Renewal Information/ : /Renews one certificate/;
  const found = resourcesOf('AWS::Lambda::Function').find(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  if (!found) throw new Error(`no ${entry} function in the template`);
  return found[1];
};

const statements = (): Statement[] =>
  resourcesOf('AWS::IAM::Policy').flatMap(
    ([, r]) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );

describe('cdk synth of the app (certificates.json + cdk.json context)', () => {
  it('passes cdk-nag AwsSolutions and CloudFormation validation with nothing unacknowledged', () => {
    expect(findings).toEqual([]);
    const problems = messages.filter((m) => m.level === 'error' || m.level === 'warning');
    expect(problems.map((m) => String(m.entry.data))).toEqual([]);
  });

  it('runs both functions on Node.js 22 or newer, arm64, with a log group that has a retention', () => {
    const functions = [functionByEntry('scheduler'), functionByEntry('renewer')];
    for (const fn of functions) {
      const runtime = String(fn.Properties.Runtime);
      expect(runtime).toMatch(/^nodejs\d+\.x$/);
      expect(Number(/\d+/.exec(runtime)![0])).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
    expect(functionByEntry('renewer').Properties.Timeout).toBe(900);
    expect(functionByEntry('scheduler').Properties.Timeout).toBe(300);
    const logGroups = resourcesOf('AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThanOrEqual(2);
    for (const [, group] of logGroups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('gives the functions the environment the handlers read', () => {
    const scheduler = functionByEntry('scheduler').Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    const renewer = functionByEntry('renewer').Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(Object.keys(scheduler.Variables)).toEqual(
      expect.arrayContaining([
        'STATE_BUCKET',
        'INVENTORY_KEY',
        'RENEWAL_QUEUE_URL',
        'ARI_CONCURRENCY',
        'KMS_KEY_ID',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_LOG_LEVEL',
        'NODE_OPTIONS',
      ]),
    );
    expect(scheduler.Variables).toMatchObject({
      INVENTORY_KEY: 'inventory.json',
      ARI_CONCURRENCY: '10',
      PER_CERTIFICATE_METRICS: 'all',
      PER_CERTIFICATE_METRIC_DAYS: '30',
      POWERTOOLS_METRICS_NAMESPACE: 'AcmeAri',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(renewer.Variables).toMatchObject({ EVENT_BUS_NAME: 'default', INVENTORY_KEY: 'inventory.json' });
    expect(renewer.Variables.POWERTOOLS_SERVICE_NAME).toBe(scheduler.Variables.POWERTOOLS_SERVICE_NAME);
  });

  it('keeps state in a KMS-encrypted, versioned, private, TLS-only bucket with a rotating key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('uploads the validated inventory without pruning the state next to it', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', { Prune: false });
  });

  it('feeds the renewer from an SQS queue with a DLQ, a long visibility timeout and bounded concurrency', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    const main = queues.find(([, q]) => q.Properties.RedrivePolicy !== undefined);
    expect(main).toBeDefined();
    const props = main![1].Properties;
    const dlq = queues.find(([, q]) => q.Properties.RedrivePolicy === undefined);
    expect(props.RedrivePolicy).toEqual({
      maxReceiveCount: 5,
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq![0], 'Arn'] },
    });
    expect(Number(props.VisibilityTimeout)).toBeGreaterThan(900 * 6);
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    expect(functionByEntry('renewer').Properties.ReservedConcurrentExecutions).toBe(2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('runs the scheduler every hour through EventBridge Scheduler', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
    });
  });

  it('alarms on failures, dead letters, expiry and a missing heartbeat, treating missing data as intended', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms).toHaveLength(4);
    const byMetric = Object.fromEntries(alarms.map((a) => [String(a.MetricName), a]));
    expect(byMetric.RenewalFailed).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(byMetric.ApproximateNumberOfMessagesVisible).toMatchObject({
      Threshold: 1,
      Namespace: 'AWS/SQS',
      TreatMissingData: 'notBreaching',
    });
    expect(byMetric.MinDaysToExpiry).toMatchObject({
      Threshold: 14,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(byMetric.SchedulerHeartbeat).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Period: 3600,
    });
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
  });

  it('draws one days-to-expiry line per inventory id on the dashboard', () => {
    const [[, dashboard]] = resourcesOf('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const id of ['example-com', 'example-org']) {
      expect(body).toContain(`\\"CertificateId\\",\\"${id}\\"`);
    }
    for (const metric of ['RenewalSucceeded', 'RenewalFailed', 'AriErrors', 'SchedulerHeartbeat']) {
      expect(body).toContain(metric);
    }
  });

  it('lets the renewer change only _acme-challenge TXT records in the managed zones', () => {
    const change = statements().find((s) => [s.Action].flat().includes('route53:ChangeResourceRecordSets'));
    expect(change?.Condition).toEqual({
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [ACME_CHALLENGE_RECORD_PATTERN],
      },
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
      },
    });
    const zones = JSON.stringify(change?.Resource);
    expect(zones).toContain('hostedzone/Z0123456789EXAMPLE');
    expect(zones).toContain('hostedzone/Z0987654321EXAMPLE');
    expect(zones).not.toContain('hostedzone/*');
  });

  it('ties ACM imports to the managed-by tag (request tag on first import, resource tag after)', () => {
    const acm = statements().filter((s) => [s.Action].flat().includes('acm:ImportCertificate'));
    const conditionKeys = acm.map((s) => Object.keys(s.Condition?.StringEquals ?? {}));
    expect(conditionKeys).toEqual(
      expect.arrayContaining([[`aws:RequestTag/${MANAGED_BY_TAG}`], [`aws:ResourceTag/${MANAGED_BY_TAG}`]]),
    );
    expect(acm).toHaveLength(2);
    expect(CERTIFICATE_ID_TAG).toBe('acme-ari:certificate-id');
  });

  it('grants no wildcard action, and no route53:* or acm:* on every resource', () => {
    for (const statement of statements()) {
      const actions = [statement.Action].flat();
      expect(actions).not.toContain('*');
      for (const action of actions) expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
      if (
        statement.Resource === '*' ||
        (Array.isArray(statement.Resource) && statement.Resource.includes('*'))
      ) {
        expect(actions.filter((a) => a.startsWith('route53:'))).toEqual(
          actions.filter((a) => a === 'route53:ListHostedZones' || a === 'route53:ListHostedZonesByName'),
        );
        expect(actions.filter((a) => a.startsWith('acm:'))).toEqual(
          actions.filter((a) => a === 'acm:ListCertificates'),
        );
      }
    }
  });
});

describe('bundled handler code in the cloud assembly', () => {
  const assetPath = (entry: 'scheduler' | 'renewer'): string => {
    const code = functionByEntry(entry).Properties.Code as { S3Key: string };
    return join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
  };

  it.each(['scheduler', 'renewer'] as const)(
    'is byte for byte what esbuild makes of functions/handlers/%s.ts with the same options',
    async (entry) => {
      const result = await build({
        ...ESBUILD_OPTIONS,
        entryPoints: [join(PROJECT_ROOT, HANDLER_ENTRIES[entry])],
        outfile: join(PROJECT_ROOT, '.cache', 'infra-test', 'index.mjs'),
        write: false,
      });
      const js = result.outputFiles.find((f) => f.path.endsWith('index.mjs'));
      expect(js?.text).toBe(readFileSync(assetPath(entry), 'utf8'));
    },
  );

  it.each(['scheduler', 'renewer'] as const)(
    'reads, in the %s bundle, every environment variable the construct sets',
    (entry) => {
      const bundle = readFileSync(assetPath(entry), 'utf8');
      const env = (functionByEntry(entry).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      // NODE_OPTIONS is read by Node.js itself, not by the bundle.
      const names = Object.keys(env).filter((name) => name !== 'NODE_OPTIONS');
      expect(names.filter((name) => !bundle.includes(name))).toEqual([]);
    },
  );
});
