import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from '@smithy/core/client';
import { afterAll, beforeAll, expect } from 'vitest';
import { parseEvent } from '../../../functions/core/contracts/events';
import { type CallOutcome, type RecordedCall, recordableInput, SERVICE_PREFIX_BY_SDK_ID } from './actions';
import { activeRole } from './role';

// A vitest setup file (integration and faults projects): records every AWS SDK call a function role makes
// (`runAs`, wired in the test bed), then judges the file's calls against the synthesized IAM policies and fails
// the file listing every call IAM would deny. moto enforces no IAM, so without this a missing grant goes unseen.

/** Operator runs (demo, CLI) use the functions' code with the operator's credentials: not the functions' roles. */
const OPERATOR_FILES = [/\/test\/integration\/demo\//, /\/test\/integration\/cli\//];

const calls: RecordedCall[] = [];
const inventories = new Map<string, unknown>();
/** The inventory key each state bucket holds now. */
const inventoryOf = new Map<string, string>();
const zones = new Map<string, string>();
/** `bucket/key` → the `SSEKMSKeyId` the object was last written with (`undefined`: the bucket default). */
const objectKeys = new Map<string, string | undefined>();
/** Access key ids STS handed out, by the role they belong to. */
const assumedKeys = new Map<string, string>();
/**
 * ACM tags as AWS keeps them, from the tagging calls seen. ACM keeps a certificate's tags when it is re-imported;
 * moto 5.1 drops them (its re-import builds a new certificate), so moto's answer alone would hide them from IAM.
 */
const acmTags = new Map<string, Record<string, string>>();

const tagMap = (tags: unknown): Record<string, string> =>
  Object.fromEntries(
    ((tags as { Key?: string; Value?: string }[] | undefined) ?? []).map((t) => [t.Key ?? '', t.Value ?? '']),
  );

type Send = (this: unknown, command: unknown, ...rest: unknown[]) => Promise<unknown>;
interface SdkCommand {
  readonly input: Record<string, unknown>;
  readonly constructor: { readonly name: string };
}
interface SdkClient {
  readonly config: {
    readonly serviceId?: string;
    region?: () => Promise<string>;
    credentials?: () => Promise<{ accessKeyId?: string }>;
  };
}

function textOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return undefined;
}

function outcomeOf(error: unknown): CallOutcome {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return {
    ok: false,
    ...(e?.name === undefined ? {} : { error: e.name }),
    ...(e?.$metadata?.httpStatusCode === undefined ? {} : { status: e.$metadata.httpStatusCode }),
  };
}

/** Events put on a bus whose wire detail does not parse with functions/core/contracts/events.ts. */
const malformedEvents: string[] = [];

/** Every entry a function puts on a bus, as EventBridge receives it (JSON), must parse with the event schema. */
function checkEvents(input: Record<string, unknown>): void {
  for (const entry of (input.Entries as { DetailType?: string; Detail?: string }[] | undefined) ?? []) {
    try {
      parseEvent(String(entry.DetailType), JSON.parse(entry.Detail ?? 'null'));
    } catch (error) {
      malformedEvents.push(error instanceof Error ? error.message : String(error));
    }
  }
}

/** What every call teaches the recorder about the world, whoever made it (test setup included). */
function observe(service: string, command: string, input: Record<string, unknown>, output: unknown): void {
  if (service === 'events' && command === 'PutEventsCommand' && activeRole() !== undefined)
    checkEvents(input);
  if (service === 's3' && command === 'PutObjectCommand') {
    const bucket = String(input.Bucket);
    objectKeys.set(`${bucket}/${String(input.Key)}`, input.SSEKMSKeyId as string | undefined);
    if (input.Key === 'inventory.json') {
      const text = textOf(input.Body);
      if (text !== undefined) {
        const key = createHash('sha256').update(text).digest('hex').slice(0, 16);
        try {
          inventories.set(key, JSON.parse(text));
          inventoryOf.set(bucket, key);
        } catch {
          // Not JSON: the functions will refuse it; calls against it cannot be judged (reported then).
        }
      }
    }
  }
  if (service === 'route53' && command === 'CreateHostedZoneCommand') {
    const zone = (output as { HostedZone?: { Id?: string; Name?: string } }).HostedZone;
    if (zone?.Id && zone.Name)
      zones.set(zone.Name.replace(/\.$/, '').toLowerCase(), zone.Id.replace('/hostedzone/', ''));
  }
  if (service === 'acm' && command === 'ImportCertificateCommand' && input.CertificateArn === undefined) {
    const arn = (output as { CertificateArn?: string }).CertificateArn;
    if (arn !== undefined) acmTags.set(arn, tagMap(input.Tags));
  }
  if (service === 'acm' && command === 'AddTagsToCertificateCommand') {
    const arn = String(input.CertificateArn);
    acmTags.set(arn, { ...acmTags.get(arn), ...tagMap(input.Tags) });
  }
  if (service === 'acm' && command === 'RemoveTagsFromCertificateCommand') {
    const arn = String(input.CertificateArn);
    const kept = { ...acmTags.get(arn) };
    for (const key of Object.keys(tagMap(input.Tags))) delete kept[key];
    acmTags.set(arn, kept);
  }
  if (service === 'acm' && command === 'DeleteCertificateCommand')
    acmTags.delete(String(input.CertificateArn));
  if (service === 'sts' && command === 'AssumeRoleCommand') {
    const key = (output as { Credentials?: { AccessKeyId?: string } }).Credentials?.AccessKeyId;
    if (key !== undefined) assumedKeys.set(key, String(input.RoleArn));
  }
}

const ACM_TAGGED = new Set([
  'ImportCertificateCommand',
  'DescribeCertificateCommand',
  'ListTagsForCertificateCommand',
  'AddTagsToCertificateCommand',
]);

/** The certificate's tags as IAM sees them when the call arrives: read from moto first, unrecorded. */
async function tagsBefore(client: unknown, original: Send, arn: string): Promise<Record<string, string>> {
  const { ListTagsForCertificateCommand } = await import('@aws-sdk/client-acm');
  try {
    const out = (await original.call(
      client as never,
      new ListTagsForCertificateCommand({ CertificateArn: arn }),
    )) as { Tags?: { Key?: string; Value?: string }[] };
    return { ...tagMap(out.Tags), ...acmTags.get(arn) };
  } catch (error) {
    // No such certificate: IAM has no tags to match (and the call itself will be refused or not found).
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return {};
    throw error;
  }
}

/** Off for operator files; on for every other file of the projects that load this setup file. */
let recording = false;

const MARKER = Symbol.for('acme-ari.iam-recorder');

/** Wraps the `send` of one prototype (the shared smithy `Client`, or a client package's own copy of it). */
function install(proto: { send: Send; [MARKER]?: true }): void {
  if (proto[MARKER]) return;
  proto[MARKER] = true;
  const original = proto.send;
  proto.send = function recordedSend(this: unknown, command: unknown, ...rest: unknown[]) {
    const client = this as unknown as SdkClient;
    const cmd = command as SdkCommand;
    const service =
      SERVICE_PREFIX_BY_SDK_ID[client.config.serviceId ?? ''] ??
      (client.config.serviceId ?? '?').toLowerCase();
    const name = cmd?.constructor?.name ?? '?';
    const input = cmd?.input ?? {};
    // Callback-style sends are not used by the functions; pass them through untouched.
    if (typeof rest.at(-1) === 'function') return original.call(this, command, ...rest);
    const active = activeRole();
    return (async () => {
      if (active === undefined || !recording) {
        const output = await original.call(this, command, ...rest);
        observe(service, name, input, output);
        return output;
      }
      const region = (await client.config.region?.().catch(() => undefined)) ?? active.context.region;
      const identity = await client.config.credentials?.().catch(() => undefined);
      const assumedRoleArn =
        identity?.accessKeyId === undefined ? undefined : assumedKeys.get(identity.accessKeyId);
      const arn = typeof input.CertificateArn === 'string' ? input.CertificateArn : undefined;
      const resourceTags =
        service === 'acm' && ACM_TAGGED.has(name) && arn !== undefined
          ? await tagsBefore(this, original, arn)
          : undefined;
      const bucket = typeof input.Bucket === 'string' ? input.Bucket : active.context.bucket;
      const objectKmsKeyId =
        service === 's3' && (name === 'GetObjectCommand' || name === 'HeadObjectCommand')
          ? objectKeys.get(`${bucket}/${String(input.Key)}`)
          : undefined;
      const base = {
        role: active.role,
        service,
        command: name,
        region,
        input: recordableInput(input),
        context: active.context,
        ...(inventoryOf.has(active.context.bucket)
          ? { inventory: inventoryOf.get(active.context.bucket)! }
          : {}),
        ...(objectKmsKeyId === undefined ? {} : { objectKmsKeyId }),
        ...(resourceTags === undefined ? {} : { resourceTags }),
        ...(assumedRoleArn === undefined ? {} : { assumedRoleArn }),
        test: expect.getState().currentTestName ?? '(beforeAll)',
      };
      try {
        const output = await original.call(this, command, ...rest);
        calls.push({ ...base, outcome: { ok: true } });
        observe(service, name, input, output);
        return output;
      } catch (error) {
        calls.push({ ...base, outcome: outcomeOf(error) });
        throw error;
      }
    })();
  };
}

/** The calls recorded in this file so far (for tests of the recorder itself). */
export function recordedCalls(): readonly RecordedCall[] {
  return calls;
}

install(Client.prototype as unknown as { send: Send });

/** The SDK clients the functions use; each must send through a patched prototype, or its calls would go unseen. */
const CLIENT_PACKAGES = [
  ['@aws-sdk/client-s3', 'S3Client'],
  ['@aws-sdk/client-route-53', 'Route53Client'],
  ['@aws-sdk/client-acm', 'ACMClient'],
  ['@aws-sdk/client-sqs', 'SQSClient'],
  ['@aws-sdk/client-eventbridge', 'EventBridgeClient'],
  ['@aws-sdk/client-secrets-manager', 'SecretsManagerClient'],
  ['@aws-sdk/client-sts', 'STSClient'],
  ['@aws-sdk/client-lambda', 'LambdaClient'],
] as const;
for (const [pkg, name] of CLIENT_PACKAGES) {
  const cls = ((await import(pkg)) as Record<string, { prototype: object } | undefined>)[name];
  let owner: object | null = cls?.prototype ?? null;
  while (owner !== null && !Object.hasOwn(owner, 'send')) owner = Object.getPrototypeOf(owner);
  // A package that resolved its own copy of @smithy/core gets that copy patched too.
  if (owner !== null) install(owner as { send: Send });
}

// biome-ignore lint/correctness/noEmptyPattern: vitest reads the hook's context from a destructuring pattern.
beforeAll(({}, suite) => {
  recording = !OPERATOR_FILES.some((pattern) => pattern.test(suite.file?.filepath ?? ''));
});

// biome-ignore lint/correctness/noEmptyPattern: vitest reads the hook's context from a destructuring pattern.
afterAll(async ({}, suite) => {
  const file = suite.file?.filepath ?? '';
  if (malformedEvents.length > 0)
    throw new Error(`events that break their schema: ${malformedEvents.join('\n')}`);
  if (!recording || calls.length === 0) return;
  const { reportFile } = await import('./report');
  const report = await reportFile(calls, { inventories, zones });
  const name = relative(join(process.cwd(), 'test'), file)
    .replace(/\.test\.ts$/, '')
    .replaceAll('/', '-');
  mkdirSync(join(process.cwd(), '.cache', 'iam'), { recursive: true });
  writeFileSync(
    join(process.cwd(), '.cache', 'iam', `${name}.json`),
    `${JSON.stringify(report.summary, null, 2)}\n`,
  );
  // Every recorded call (inputs without bodies or keys), for reading what a function did.
  if (process.env.IAM_RECORD_CALLS === '1') {
    writeFileSync(
      join(process.cwd(), '.cache', 'iam', `${name}.calls.json`),
      `${JSON.stringify(calls, null, 2)}\n`,
    );
  }
  if (report.failure !== undefined) throw new Error(report.failure);
}, 300_000);
