import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENT_KEY, type Deployment } from '../../../functions/core/contracts/deployment';
import type { DoctorReport } from '../../../functions/core/doctor/run-doctor';
import { bind, type PolicyDocument, synthesize } from '../../support/iam/evaluate';

// The renewer role as the construct synthesizes it, created in moto's IAM (which serves the policies but enforces
// nothing): doctor reads it back and judges every call each certificate's renewal makes.

process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
const { startDemoBed } = await import('../../../functions/cli/demo-bed');
const { runCli } = await import('../../../functions/cli/run');

let demo: Awaited<ReturnType<typeof startDemoBed>>;
let iam: IAMClient;
let env: NodeJS.ProcessEnv;
let roleName: string;
/** The renewer's statements without KMS (an inline policy), rewritten to take a grant away. */
let inline: PolicyDocument;

async function doctor(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['doctor', '--json', ...argv, '--dns-server', demo.bed.dns.address], {
    io: { out: (t) => out.push(t), err: (t) => err.push(t) },
    env,
  });
  return { code, report: JSON.parse(out.join('\n')) as DoctorReport, err: err.join('\n') };
}

const permissionsOf = (report: DoctorReport) =>
  report.certificates.map((c) => {
    const check = c.checks.find((k) => k.check === 'permissions');
    return [c.id, check?.status, check?.message] as const;
  });

beforeAll(async () => {
  demo = await startDemoBed();
  const { region, bucket } = demo.config;
  const zones = await demo.bed.clients.route53.send(new ListHostedZonesCommand({}));
  const stack = await synthesize({
    inventory: await demo.runtime.store.loadInventory(),
    hostedZoneIds: (zones.HostedZones ?? []).map((z) => z.Id!.replace('/hostedzone/', '')).sort(),
    serviceName: demo.config.serviceName!,
  });
  const bound = bind(stack, { bucket });
  const roleArn = bound.roleArn('renewer')!;
  roleName = roleArn.split('/').at(-1)!;
  const statements = bound.identityPolicies('renewer')!.flatMap((p) => p.policy.Statement);
  const isKms = (s: (typeof statements)[number]) =>
    [s.Action].flat().some((a) => String(a).startsWith('kms:'));
  inline = { Version: '2012-10-17', Statement: statements.filter((s) => !isKms(s)) };

  iam = new IAMClient({ region, endpoint: demo.bed.moto.endpoint });
  await iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: 'Renewer',
      PolicyDocument: JSON.stringify(inline),
    }),
  );
  // The KMS grants as an attached managed policy, so both kinds of policy are read.
  const managed = await iam.send(
    new CreatePolicyCommand({
      PolicyName: `${roleName}-kms`,
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements.filter(isKms) }),
    }),
  );
  await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: managed.Policy!.Arn! }));

  // What the construct writes to deployment.json, with the bound stack's names.
  const renewerEnv = bound.environment('renewer');
  const deployment: Deployment = {
    serviceName: stack.serviceName,
    region,
    scheduleIntervalMinutes: 60,
    forcedRenewalIntervalMinutes: 60,
    keyMaterialKmsKeyId: bound.keyMaterialKeyArn,
    renewerRoleArn: roleArn,
    ...(bound.stateKeyArn === undefined
      ? { stateEncryption: 's3-managed' as const }
      : { stateKmsKeyArn: bound.stateKeyArn, stateEncryption: 'kms' as const }),
    ...(renewerEnv.EVENT_BUS_NAME ? { eventBusName: renewerEnv.EVENT_BUS_NAME } : {}),
    ...(renewerEnv.FIRST_IMPORT_FUNCTION_NAME
      ? { firstImportFunctionName: renewerEnv.FIRST_IMPORT_FUNCTION_NAME }
      : {}),
    ...(renewerEnv.ZONE_ROLE_EXTERNAL_ID ? { zoneRoleExternalId: renewerEnv.ZONE_ROLE_EXTERNAL_ID } : {}),
  };
  await demo.bed.clients.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: DEPLOYMENT_KEY, Body: JSON.stringify(deployment) }),
  );
  env = { STATE_BUCKET: bucket, AWS_REGION: region, AWS_ENDPOINT_URL: demo.bed.moto.endpoint };
}, 120_000);

afterAll(async () => {
  iam?.destroy();
  await demo?.stop();
});

describe('acme-ari doctor: the renewer role’s live policy (moto IAM, synthesized policies)', () => {
  it('allows every call each certificate’s renewal makes', async () => {
    const { report } = await doctor();
    expect(permissionsOf(report)).toEqual(
      ['shop', 'api-multi-zone', 'legacy-rsa'].map((id) => [
        id,
        'ok',
        expect.stringMatching(
          /^the renewer role allows every call a renewal makes \(\d+ authorizations\); identity policies only: bucket, key and queue policies, SCPs and permission boundaries are not evaluated here/,
        ),
      ]),
    );
    expect(report.deployment.find((c) => c.check === 'permissions')).toMatchObject({
      status: 'ok',
      subject: roleName,
      message: expect.stringMatching(/^read 2 identity policies of arn:aws:iam::123456789012:role\//),
    });
  });

  it('fails, naming the call, once a grant is taken away, and exits 1', async () => {
    const without: PolicyDocument = {
      ...inline,
      Statement: inline.Statement.filter((s) => s.Sid !== 'AcmeChallengeRecordsOnly'),
    };
    expect(without.Statement.length).toBe(inline.Statement.length - 1);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'Renewer',
        PolicyDocument: JSON.stringify(without),
      }),
    );
    try {
      const { code, report } = await doctor('shop');
      expect(code).toBe(1);
      const check = report.certificates[0]!.checks.find((c) => c.check === 'permissions')!;
      expect(check.status).toBe('fail');
      expect(check.message).toMatch(
        /^denied route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone\/\w+ \(to write the challenge TXT at _acme-challenge\.shop\.test\): no identity statement grants route53:ChangeResourceRecordSets/,
      );
      expect(check.fix).toMatch(
        /^add to the renewer role a statement that allows it: \{"Effect":"Allow","Action":"route53:ChangeResourceRecordSets","Resource":"arn:aws:route53:::hostedzone\/\w+"\}$/,
      );
    } finally {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: 'Renewer',
          PolicyDocument: JSON.stringify(inline),
        }),
      );
    }
  });
});
