import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_ID_TAG } from '../../functions/adapters/acm-importer';
import { type FunctionName, parseEnvironment } from '../../functions/core/contracts/environment';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { MANAGED_BY_TAG } from '../../infra/lib/renewer-permissions';
import { bundleInMemory, codeOf, readCodeFolder } from './bundles';
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

const DESCRIPTIONS: Record<FunctionName, RegExp> = {
  scheduler: /Checks ACME Renewal Information/,
  renewer: /Renews one certificate/,
  'first-import': /Creates new ACM certificates/,
};

const functionByEntry = (entry: FunctionName): Resource => {
  const description = DESCRIPTIONS[entry];
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

  it.each(['scheduler', 'renewer', 'first-import'] as const)(
    'gives the %s function exactly the environment its contract parses',
    (name) => {
      const variables = (
        functionByEntry(name).Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      // Deploy-time values (Ref, GetAtt) stand in as strings, as Lambda receives them.
      const env = Object.fromEntries(
        Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `deploy-time-${k}`]),
      );
      const parsed = parseEnvironment(name, env) as Record<string, unknown>;
      // Every variable set is one the contract reads (NODE_OPTIONS is Node's own).
      expect(Object.keys(env).filter((k) => k !== 'NODE_OPTIONS' && !(k in parsed))).toEqual([]);
      expect(parsed.SCHEDULE_INTERVAL_MINUTES).toBe(60);
    },
  );

  it('gives the scheduler no key-material key and the renewer the interval the scheduler runs on', () => {
    const vars = (name: FunctionName) =>
      (functionByEntry(name).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(vars('scheduler')).not.toHaveProperty('KEY_MATERIAL_KMS_KEY_ID');
    expect(vars('renewer')).toHaveProperty('KEY_MATERIAL_KMS_KEY_ID');
    expect(vars('renewer').SCHEDULE_INTERVAL_MINUTES).toBe(vars('scheduler').SCHEDULE_INTERVAL_MINUTES);
    expect(vars('scheduler')).toMatchObject({
      PER_CERTIFICATE_METRICS: 'near-expiry',
      ARI_CONCURRENCY: '50',
    });
    expect(vars('renewer').POWERTOOLS_SERVICE_NAME).toBe(vars('scheduler').POWERTOOLS_SERVICE_NAME);
  });

  it('keeps state in an encrypted, versioned, private, TLS-only bucket, key material under a rotating key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      // SSE-S3 for what is not secret; key material is SSE-KMS by the bucket policy (acme-certificates.test.ts).
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
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
    // Reserved concurrency cannot be granted on accounts with the default low quota: the poller's limit can.
    expect(functionByEntry('renewer').Properties.ReservedConcurrentExecutions).toBeUndefined();
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
    const byMetric = Object.fromEntries(alarms.map((a) => [`${a.MetricName}/${a.Statistic}`, a]));
    expect(byMetric['RenewalFailed/Sum']).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(byMetric['ApproximateNumberOfMessagesVisible/Maximum']).toMatchObject({
      Threshold: 1,
      Namespace: 'AWS/SQS',
      TreatMissingData: 'notBreaching',
    });
    expect(byMetric['MinDaysToExpiry/Minimum']).toMatchObject({
      Threshold: 14,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // The heartbeat is the number of passes that reported MinDaysToExpiry: no metric of its own.
    expect(byMetric['MinDaysToExpiry/SampleCount']).toMatchObject({
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
    // The counts come from the log lines (no custom metric each): Logs Insights over the functions' log groups.
    expect(body).toContain('RenewalFailed');
    expect(body).toContain('scheduler_done');
    expect(body).toContain('sum(ari_errors)');
    expect(body).toContain('renewal_done');
    expect(body).not.toContain('RenewalSucceeded');
  });

  it("lets the renewer change only the inventory's exact _acme-challenge TXT records in the managed zones", () => {
    const change = statements().find((s) => [s.Action].flat().includes('route53:ChangeResourceRecordSets'));
    const inventory = JSON.parse(readFileSync(join(PROJECT_ROOT, 'certificates.json'), 'utf8')) as {
      certificates: { domains: string[] }[];
    };
    const names = [
      ...new Set(
        inventory.certificates.flatMap((c) =>
          c.domains.map((d) => `_acme-challenge.${d.replace(/^\*\./, '')}`),
        ),
      ),
    ].sort();
    expect(change?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
      },
    });
    const zones = JSON.stringify(change?.Resource);
    expect(zones).toContain('hostedzone/Z0123456789EXAMPLE');
    expect(zones).toContain('hostedzone/Z0987654321EXAMPLE');
    expect(zones).not.toContain('hostedzone/*');
    const lookups = statements().find((s) => [s.Action].flat().includes('route53:GetHostedZone'));
    expect(JSON.stringify(lookups?.Resource)).toBe(zones);
  });

  it('lets only the first-import function tag, and the renewer re-import only certificates tagged as ours', () => {
    const policiesOf = (name: FunctionName): Statement[] => {
      const role = (functionByEntry(name).Properties.Role as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      return resourcesOf('AWS::IAM::Policy')
        .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(`"${role}"`))
        .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    };
    const acmOf = (name: FunctionName) =>
      policiesOf(name).filter((s) => [s.Action].flat().some((a) => a.startsWith('acm:')));
    const actions = (name: FunctionName) => acmOf(name).flatMap((s) => [s.Action].flat());
    expect(actions('renewer')).not.toContain('acm:AddTagsToCertificate');
    expect(actions('scheduler')).toEqual([]);
    for (const s of acmOf('renewer').filter((s) => [s.Action].flat().includes('acm:ImportCertificate'))) {
      expect(s.Condition).toEqual({
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: expect.any(String) },
      });
    }
    const tagging = acmOf('first-import').filter((s) =>
      [s.Action].flat().includes('acm:AddTagsToCertificate'),
    );
    expect(tagging).toHaveLength(1);
    expect(Object.keys(tagging[0]!.Condition?.StringEquals ?? {})).toEqual([
      `aws:RequestTag/${MANAGED_BY_TAG}`,
    ]);
    expect(tagging[0]!.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']).toEqual(
      expect.arrayContaining([MANAGED_BY_TAG, CERTIFICATE_ID_TAG]),
    );
    const invoke = policiesOf('renewer').find((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(JSON.stringify(invoke?.Resource)).toContain('FirstImport');
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
          actions.filter((a) => a === 'route53:ListHostedZones'),
        );
        expect(actions.filter((a) => a.startsWith('acm:'))).toEqual(
          actions.filter((a) => a === 'acm:ListCertificates'),
        );
      }
    }
  });
});

describe('bundled handler code in the cloud assembly', () => {
  const assetDir = (entry: FunctionName): string => {
    const code = functionByEntry(entry).Properties.Code as { S3Key: string };
    return join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
  };

  const ENTRY = { scheduler: 'scheduler', renewer: 'renewer', 'first-import': 'firstImport' } as const;
  it.each(['scheduler', 'renewer', 'first-import'] as const)(
    'is byte for byte what esbuild makes of the %s handler with the same options: index.mjs, chunks, maps',
    async (entry) => {
      const expected = await bundleInMemory(ENTRY[entry]);
      const deployed = readCodeFolder(assetDir(entry));
      expect(Object.fromEntries(deployed)).toEqual(Object.fromEntries(expected.files));
      expect(
        [...deployed.keys()].filter((path) => !/^(index|chunks\/[\w-]+)\.mjs(\.map)?$/.test(path)),
      ).toEqual([]);
    },
  );

  it.each(['scheduler', 'renewer', 'first-import'] as const)(
    'reads, in the %s bundle, every environment variable the construct sets',
    (entry) => {
      const bundle = Object.values(codeOf(readCodeFolder(assetDir(entry)))).join('\n');
      const env = (functionByEntry(entry).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      // NODE_OPTIONS is read by Node.js itself, not by the bundle.
      const names = Object.keys(env).filter((name) => name !== 'NODE_OPTIONS');
      expect(names.filter((name) => !bundle.includes(name))).toEqual([]);
    },
  );
});
