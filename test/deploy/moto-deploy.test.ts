import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ListCertificatesCommand, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  GetEventSourceMappingCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { pebbleRootsPem } from '../../testbed/pebble';
import { testBedTls } from '../../testbed/tls';
import { readCodeFolder } from '../infra/bundles';
import { type Bed, startBed } from '../support/bed';
import { invokeShipped, node24Binary, type ShippedFunction } from '../support/deploy/lambda-node24';
import { type MotoFront, startMotoFront } from '../support/deploy/moto-front';
import { scratchDir } from '../support/scratch';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STACK = 'AcmeAriMoto';
const ZONE = 'deploy.test';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

/** Resource types of the stack that moto's CloudFormation skips while reporting CREATE_COMPLETE (docs/deploy.md). */
const NOT_CREATED_BY_MOTO = [
  'AWS::CDK::Metadata',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::KMS::Alias',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::Scheduler::Schedule',
];

type TemplateResource = { Type: string; Properties: Record<string, unknown> };

let bed: Bed;
let front: MotoFront;
let work: string;
let template: { Resources: Record<string, TemplateResource> };
let physical: Map<string, { type: string; id: string }>;
const shipped = new Map<string, ShippedFunction>();
const deployLogs: string[] = [];

/** Runs the project's own CDK CLI with the AWS SDK pointed at moto (through the front). */
function cdk(args: string[], cwd: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(join(PROJECT_ROOT, 'node_modules/.bin/cdk'), [...args, '--no-notices'], {
      cwd,
      env: {
        ...process.env,
        ...CREDENTIALS,
        AWS_ENDPOINT_URL: front.endpoint,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
        CDK_DISABLE_VERSION_CHECK: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      deployLogs.push(output);
      if (code === 0) resolveRun();
      else reject(new Error(`cdk ${args[0]} exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

/** The handler's result; a failed invocation fails the test with Lambda's error and the function's last logs. */
function resultOf(outcome: Awaited<ReturnType<typeof invokeShipped>>): unknown {
  if (outcome.ok) return outcome.result;
  throw new Error(`${outcome.errorType}: ${outcome.errorMessage}\n${outcome.logs.slice(-3000)}`);
}

const ofType = (type: string) => [...physical.values()].filter((r) => r.type === type).map((r) => r.id);
const fnByDescription = (pattern: RegExp): string => {
  const found = Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && pattern.test(String(r.Properties.Description)),
  );
  if (!found) throw new Error(`no function ${pattern}`);
  return physical.get(found[0])!.id;
};

/** What the bed adds to a function's template environment: moto as every AWS endpoint, test keys, the TLS CA. */
const bedEnv = () => ({
  ...CREDENTIALS,
  AWS_REGION: REGION,
  AWS_ENDPOINT_URL: front.endpoint,
  NODE_EXTRA_CA_CERTS: testBedTls().caPath,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/** True when no folder from `dir` up to the root holds node_modules: the bundle must carry its own code. */
function hasNodeModulesAbove(dir: string): boolean {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules'))) return true;
    if (dirname(current) === current) return false;
  }
}

/** Downloads a function's asset (the S3 key its template names) and unpacks it into an empty folder. */
async function unpackFunction(logicalId: string): Promise<ShippedFunction> {
  const resource = template.Resources[logicalId]!;
  const name = physical.get(logicalId)!.id;
  const code = resource.Properties.Code as { S3Key: string };
  const zip = await bed.clients.s3.send(
    new GetObjectCommand({ Bucket: `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`, Key: code.S3Key }),
  );
  const zipFile = join(work, `${logicalId}.zip`);
  writeFileSync(zipFile, await zip.Body!.transformToByteArray());
  const codeDir = scratchDir('acme-shipped-');
  await new Promise<void>((resolveUnzip, reject) => {
    const child = spawn('/usr/bin/python3', ['-m', 'zipfile', '-e', zipFile, codeDir], { stdio: 'inherit' });
    child.once('exit', (c) => (c === 0 ? resolveUnzip() : reject(new Error(`unzip exited with ${c}`))));
  });
  const config = await new LambdaClient(bed.aws).send(
    new GetFunctionConfigurationCommand({ FunctionName: name }),
  );
  return {
    name,
    codeDir,
    handler: config.Handler!,
    timeoutSeconds: config.Timeout ?? 3,
    memorySize: config.MemorySize ?? 128,
    environment: config.Environment?.Variables ?? {},
  };
}

/** The BucketDeployment's work, which moto marks done without running: its source zips, markers resolved. */
async function uploadInventoryAsTheCustomResourceWould(): Promise<void> {
  const [logicalId, resource] = Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'Custom::CDKBucketDeployment',
  )!;
  const bucket = physical.get((resource.Properties.DestinationBucketName as { Ref: string }).Ref)!.id;
  // moto reports the custom resource created without running it: nothing is in the bucket yet.
  expect(physical.has(logicalId)).toBe(true);
  const before = await bed.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  expect(before.KeyCount ?? 0).toBe(0);
  const keys = resource.Properties.SourceObjectKeys as string[];
  const markers = resource.Properties.SourceMarkers as Record<string, unknown>[];
  // A key's Arn attribute, as CloudFormation renders it from the key id.
  const keyMaterialKey = async (ref: string) =>
    `arn:aws:kms:${REGION}:${ACCOUNT}:key/${physical.get(ref)!.id}`;
  const resolveValue = async (value: unknown): Promise<string> => {
    const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    if (v.Ref === 'AWS::Region') return REGION;
    if (v.Ref) return physical.get(v.Ref)!.id;
    if (v['Fn::GetAtt']?.[1] === 'Arn') return keyMaterialKey(v['Fn::GetAtt'][0]);
    throw new Error(`unresolved marker value ${JSON.stringify(value)}`);
  };
  for (const [i, key] of keys.entries()) {
    const zip = await bed.clients.s3.send(
      new GetObjectCommand({ Bucket: `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`, Key: key }),
    );
    const dir = join(work, `upload-${i}`);
    mkdirSync(dir);
    const zipFile = `${dir}.zip`;
    writeFileSync(zipFile, await zip.Body!.transformToByteArray());
    await new Promise<void>((ok, reject) =>
      spawn('/usr/bin/python3', ['-m', 'zipfile', '-e', zipFile, dir]).once('exit', (c) =>
        c === 0 ? ok() : reject(new Error(`unzip ${c}`)),
      ),
    );
    for (const file of readdirSync(dir)) {
      let text = readFileSync(join(dir, file), 'utf8');
      for (const [marker, value] of Object.entries(markers[i] ?? {})) {
        text = text.split(marker).join(JSON.stringify(await resolveValue(value)).slice(1, -1));
      }
      await bed.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: file, Body: text }));
    }
  }
}

beforeAll(async () => {
  node24Binary();
  work = scratchDir('acme-deploy-');
  bed = await startBed({ region: REGION });
  front = await startMotoFront(bed.moto.endpoint, async (functionName, payload) => {
    const fn = [...shipped.values()].find((f) => f.name === functionName);
    if (!fn)
      return {
        payload: JSON.stringify({ errorMessage: `no function ${functionName}` }),
        functionError: 'Unhandled',
      };
    const outcome = await invokeShipped(fn, JSON.parse(payload || '{}'), bedEnv());
    return outcome.ok
      ? { payload: JSON.stringify(outcome.result) }
      : {
          payload: JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage }),
          functionError: 'Unhandled',
        };
  });

  const zoneId = await bed.createZone(ZONE);
  const inventoryFile = join(work, 'certificates.json');
  writeFileSync(
    inventoryFile,
    JSON.stringify({
      cas: {
        pebble: { directoryUrl: bed.pebble.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) },
      },
      certificates: [
        { id: 'good', domains: [`good.${ZONE}`], ca: 'pebble', hostedZones: { [`good.${ZONE}`]: zoneId } },
        // A zone the account does not have: Route 53 answers NoSuchHostedZone, so this renewal fails.
        {
          id: 'broken',
          domains: [`broken.${ZONE}`],
          ca: 'pebble',
          hostedZones: { [`broken.${ZONE}`]: 'Z0NOSUCHZONE42' },
        },
      ],
    }),
  );

  // Bootstrap from an empty folder (no app to synthesize), then deploy the repository's app as a user would.
  await cdk(['bootstrap', `aws://${ACCOUNT}/${REGION}`], scratchDir('acme-bootstrap-'));
  const outdir = join(work, 'cdk.out');
  await cdk(
    [
      'deploy',
      '--require-approval',
      'never',
      '--output',
      outdir,
      '-c',
      `certificatesFile=${inventoryFile}`,
      '-c',
      'notificationEmail=alarms@example.com',
      '-c',
      `stackName=${STACK}`,
    ],
    PROJECT_ROOT,
  );
  template = JSON.parse(readFileSync(join(outdir, `${STACK}.template.json`), 'utf8'));
  const listed = await new CloudFormationClient(bed.aws).send(
    new ListStackResourcesCommand({ StackName: STACK }),
  );
  physical = new Map(
    (listed.StackResourceSummaries ?? []).map((r) => [
      r.LogicalResourceId!,
      { type: r.ResourceType!, id: r.PhysicalResourceId! },
    ]),
  );
}, 300_000);

afterAll(async () => {
  await front?.stop();
  await bed?.stop();
});

describe('cdk bootstrap and cdk deploy onto moto’s CloudFormation', () => {
  it('creates every resource moto can create, and skips only the documented types', () => {
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    const created = new Set([...physical.values()].map((r) => r.type));
    const skipped = [...types].filter((t) => !created.has(t)).sort();
    expect(skipped).toEqual(NOT_CREATED_BY_MOTO.filter((t) => types.has(t)).sort());
    const docs = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    for (const type of skipped) expect(docs).toContain(`\`${type}\``);
  });

  it('creates the renewal queue with its dead-letter queue, and the state bucket', async () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    const attributes = await Promise.all(
      queues.map((url) =>
        bed.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })),
      ),
    );
    const redrive = attributes.map((a) => a.Attributes?.RedrivePolicy).filter(Boolean);
    expect(redrive).toHaveLength(1);
    expect(JSON.parse(redrive[0]!)).toMatchObject({ maxReceiveCount: 5 });
    // moto's CloudFormation creates the bucket but drops its VersioningConfiguration (docs/deploy.md).
    expect(ofType('AWS::S3::Bucket')).toHaveLength(1);
  });

  it('creates the three functions on Node.js 24 and the renewer’s event source mapping', async () => {
    const lambda = new LambdaClient(bed.aws);
    for (const pattern of [/Checks ACME Renewal Information/, /Renews one certificate/, /Creates new ACM/]) {
      const config = await lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: fnByDescription(pattern) }),
      );
      expect(config.Runtime).toBe('nodejs24.x');
      expect(config.Handler).toBe('index.handler');
    }
    const [mappingId] = ofType('AWS::Lambda::EventSourceMapping');
    const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID: mappingId }));
    expect(mapping).toMatchObject({ BatchSize: 1, State: 'Enabled' });
    expect(mapping.FunctionArn).toContain(fnByDescription(/Renews one certificate/));
  });

  it('creates the key-material KMS key (the rest of the state is SSE-S3), the roles and the log groups', () => {
    // moto's KMS, IAM and Logs servers have no client in this project; the stack's physical ids are moto's own.
    expect(ofType('AWS::KMS::Key')).toHaveLength(1);
    for (const id of ofType('AWS::KMS::Key')) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ofType('AWS::IAM::Role').length).toBeGreaterThanOrEqual(4);
    expect(ofType('AWS::Logs::LogGroup').length).toBeGreaterThanOrEqual(3);
  });
});

describe('the deployed code, run under Node.js 24 as Lambda runs it', () => {
  let renewal: Awaited<ReturnType<typeof invokeShipped>>;
  let records: SQSEvent['Records'];

  beforeAll(async () => {
    // moto runs functions only in Docker, and its SQS hands each message sent to a mapped queue to the function at
    // once (HTTP 500 on the bed). The test is Lambda's poller instead: the mapping is disabled, which moto (patched
    // in provision.sh, as Lambda does) then honours, and the renewer gets the batch the test receives from the queue.
    const [mappingId] = ofType('AWS::Lambda::EventSourceMapping');
    await new LambdaClient(bed.aws).send(
      new UpdateEventSourceMappingCommand({ UUID: mappingId, Enabled: false }),
    );
    await uploadInventoryAsTheCustomResourceWould();
    for (const [logicalId, r] of Object.entries(template.Resources)) {
      if (
        r.Type !== 'AWS::Lambda::Function' ||
        !/^Certificates(Scheduler|Renewer|FirstImport)/.test(logicalId)
      )
        continue;
      shipped.set(
        logicalId.replace(/^Certificates(Scheduler|Renewer|FirstImport).*$/, '$1'),
        await unpackFunction(logicalId),
      );
    }
  }, 120_000);

  it('unpacks each asset into an empty folder with no node_modules above it', () => {
    expect([...shipped.keys()].sort()).toEqual(['FirstImport', 'Renewer', 'Scheduler']);
    for (const fn of shipped.values()) {
      expect(hasNodeModulesAbove(fn.codeDir)).toBe(false);
      // index.mjs and the chunks it loads (statically, or on first use as the renewer's Lambda client), each
      // with its source map; nothing else.
      const files = [...readCodeFolder(fn.codeDir).keys()];
      expect(files).toContain('index.mjs');
      expect(files.filter((f) => !/^(index|chunks\/[\w-]+)\.mjs(\.map)?$/.test(f))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.mjs')).map((f) => `${f}.map`)).toEqual(
        files.filter((f) => f.endsWith('.mjs.map')),
      );
    }
  });

  it('scheduler event → the deployed queue: both certificates are due (new)', async () => {
    const outcome = await invokeShipped(shipped.get('Scheduler')!, {}, bedEnv());
    expect(resultOf(outcome)).toEqual({ checked: 2, waiting: 0, enqueued: 2, problems: 0 });
    const queueUrl = shipped.get('Scheduler')!.environment.RENEWAL_QUEUE_URL!;
    const received = await bed.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const messages = received.Messages ?? [];
    expect(messages.map((m) => (JSON.parse(m.Body!) as { id: string }).id).sort()).toEqual([
      'broken',
      'good',
    ]);
    const record = (messageId: string, body: string, receiptHandle: string) => ({
      messageId,
      receiptHandle,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:renewals`,
      awsRegion: REGION,
    });
    records = [
      ...messages.map((m) => record(m.MessageId!, m.Body!, m.ReceiptHandle!)),
      record('malformed-1', '{"id": 42', 'rh-malformed'),
    ];
  });

  it('renewer batch: the good one is issued, the malformed one dropped, the failing one returned', async () => {
    renewal = await invokeShipped(shipped.get('Renewer')!, { Records: records }, bedEnv());
    const brokenId = records.find((r) => r.body.includes('"broken"'))!.messageId;
    expect(resultOf(renewal)).toEqual({ batchItemFailures: [{ itemIdentifier: brokenId }] });
    expect(renewal.logs).toContain('bad_message');
  });

  it('stores the certificate Pebble issued in the deployed bucket and imports it into ACM through first-import', async () => {
    const bucket = shipped.get('Renewer')!.environment.STATE_BUCKET!;
    const listed = await bed.clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'certificates/good/' }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(
      expect.arrayContaining(['certificates/good/fullchain.pem', 'certificates/good/state.json']),
    );
    const chain = await bed.clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'certificates/good/cert.pem' }),
    );
    expect(await chain.Body!.transformToString()).toContain('BEGIN CERTIFICATE');
    // The renewer asked the first-import function, whose own bundle ran under Node 24 behind the invoke shim.
    const firstImport = shipped.get('FirstImport')!;
    expect(front.invocations.map((i) => i.functionName)).toEqual([firstImport.name]);
    const acm = bed.clients.acm(REGION);
    const certificates = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList ?? [];
    const imported = certificates.filter((c) => c.DomainName === `good.${ZONE}`);
    expect(imported).toHaveLength(1);
    const tags = await acm.send(
      new ListTagsForCertificateCommand({ CertificateArn: imported[0]!.CertificateArn }),
    );
    expect(tags.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'acme-ari:managed-by', Value: firstImport.environment.POWERTOOLS_SERVICE_NAME },
      ]),
    );
  });
});
