import { describe, expect, it } from 'vitest';
import { CERTIFICATE_ID_TAG, MANAGED_BY_TAG } from '../../functions/adapters/acm-importer';
import { EVENT_SOURCE } from '../../functions/adapters/eventbridge-publisher';
import { iamRequestsFor, type RecordedCall } from '../support/iam/actions';
import {
  ACCOUNT,
  type BoundStack,
  bind,
  evaluateRequest,
  type Principal,
  REGION,
  synthesize,
  type Verdict,
} from '../support/iam/evaluate';
import { FUNCTION_ROLES, type FunctionRole } from '../support/iam/role';

// The target design's least privilege, as calls that must be refused and calls that must go through (so the
// table cannot pass by denying everything). Judged by iam-simulate against the synthesized construct.
const SERVICE = 'acme-ari-test';
const BUCKET = 'acme-state-test';
const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/acme-renewals-test`;
const INVENTORY = {
  certificates: [
    { id: 'a', domains: ['example.com', '*.example.com'], hostedZones: { 'example.com': 'Z1' } },
    { id: 'b', domains: ['api.example.org'], hostedZones: { 'api.example.org': 'Z2' } },
  ],
};
const CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;
const OURS = { [MANAGED_BY_TAG]: SERVICE, [CERTIFICATE_ID_TAG]: 'a' };

const stack = await synthesize({ inventory: INVENTORY, serviceName: SERVICE });
const bound = bind(stack, { bucket: BUCKET, queueUrl: QUEUE_URL });
const roles = FUNCTION_ROLES.filter((role) => stack.roles[role] !== undefined);

/** A call as the function would send it, with what the recorder would have noted about it. */
function call(
  role: FunctionRole,
  service: string,
  command: string,
  input: Record<string, unknown>,
  extra: Partial<RecordedCall> = {},
): RecordedCall {
  return {
    role,
    service,
    command,
    region: REGION,
    input,
    outcome: { ok: true },
    context: { bucket: BUCKET, queueUrl: QUEUE_URL, region: REGION, serviceName: SERVICE },
    ...extra,
  };
}

const txt = (action: string, name: string, type = 'TXT', zone = 'Z1') => ({
  HostedZoneId: zone,
  ChangeBatch: {
    Changes: [
      {
        Action: action,
        ResourceRecordSet: { Name: name, Type: type, TTL: 60, ResourceRecords: [{ Value: '"v"' }] },
      },
    ],
  },
});
const get = (key: string) => ({ Bucket: BUCKET, Key: key });
const keyMaterial = (b: BoundStack) => ({ objectKmsKeyId: b.keyMaterialKeyArn });

interface Row {
  readonly name: string;
  readonly principal: Principal;
  readonly call: (b: BoundStack) => RecordedCall;
  /** Judge only this authorization of the call (e.g. the KMS one S3 makes). */
  readonly only?: string;
}

const as = (role: FunctionRole): Principal => ({ role });
const OTHER: Principal = {
  arn: `arn:aws:iam::${ACCOUNT}:role/SomeoneElse`,
  identityPolicies: [
    {
      name: 'broad-sqs',
      policy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
      },
    },
  ],
};

const mustBeDenied: Row[] = [
  {
    name: 'renewer: UPSERT TXT _acme-challenge.other.example.com (a name not in the inventory) in Z1',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('UPSERT', '_acme-challenge.other.example.com'),
      ),
  },
  {
    name: 'renewer: UPSERT A at _acme-challenge.example.com in Z1',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('UPSERT', '_acme-challenge.example.com', 'A'),
      ),
  },
  {
    name: 'renewer: UPSERT CNAME at _acme-challenge.example.com in Z1',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('UPSERT', '_acme-challenge.example.com', 'CNAME'),
      ),
  },
  {
    name: 'renewer: UPSERT TXT _acme-challenge.example.com in Z3, a zone not in the inventory',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('UPSERT', '_acme-challenge.example.com', 'TXT', 'Z3'),
      ),
  },
  {
    name: 'renewer: re-import over a certificate without the acme-ari:managed-by tag',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'acm',
        'ImportCertificateCommand',
        { CertificateArn: CERT },
        { resourceTags: { team: 'web' } },
      ),
  },
  {
    name: "renewer: re-import over a certificate managed by another service's deployment",
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'acm',
        'ImportCertificateCommand',
        { CertificateArn: CERT },
        { resourceTags: { [MANAGED_BY_TAG]: 'another-service' } },
      ),
  },
  {
    name: 'renewer: AddTagsToCertificate on one of its own certificates (first imports belong to the importer)',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'acm',
        'AddTagsToCertificateCommand',
        { CertificateArn: CERT, Tags: [{ Key: MANAGED_BY_TAG, Value: SERVICE }] },
        { resourceTags: OURS },
      ),
  },
  ...['certificates/a/privkey.pem', 'certificates/a/pending-key.pem', 'accounts/0123abcd.json'].map(
    (key): Row => ({
      name: `scheduler: GetObject ${key}`,
      principal: as('scheduler'),
      call: (b) => call('scheduler', 's3', 'GetObjectCommand', get(key), keyMaterial(b)),
    }),
  ),
  {
    name: 'scheduler: kms:Decrypt with the key-material key (as S3 asks for privkey.pem)',
    principal: as('scheduler'),
    call: (b) =>
      call('scheduler', 's3', 'GetObjectCommand', get('certificates/a/privkey.pem'), keyMaterial(b)),
    only: 'kms:Decrypt',
  },
  {
    // The bucket default is SSE-S3: a private key written without the key-material key would sit outside KMS.
    name: 'renewer: PutObject certificates/a/privkey.pem without the key-material key (bucket policy)',
    principal: as('renewer'),
    call: () => call('renewer', 's3', 'PutObjectCommand', get('certificates/a/privkey.pem')),
    only: 's3:PutObject',
  },
  {
    name: 'renewer: PutObject accounts/0123abcd.json with SSE-S3 (bucket policy)',
    principal: as('renewer'),
    call: () =>
      call('renewer', 's3', 'PutObjectCommand', {
        ...get('accounts/0123abcd.json'),
        ServerSideEncryption: 'AES256',
      }),
    only: 's3:PutObject',
  },
  ...roles.flatMap((role): Row[] => [
    {
      name: `${role}: PutObject inventory.json (only the deployment writes it)`,
      principal: as(role),
      call: () => call(role, 's3', 'PutObjectCommand', get('inventory.json')),
    },
    {
      name: `${role}: s3:DeleteObjectVersion on certificates/a/state.json`,
      principal: as(role),
      call: () =>
        call(role, 's3', 'DeleteObjectCommand', { ...get('certificates/a/state.json'), VersionId: 'v1' }),
    },
    {
      name: `${role}: s3:PutBucketPolicy on the state bucket`,
      principal: as(role),
      call: () => call(role, 's3', 'PutBucketPolicyCommand', { Bucket: BUCKET, Policy: '{}' }),
    },
  ]),
  {
    name: "renewer: PutEvents batch with an entry whose source is not this system's",
    principal: as('renewer'),
    call: () =>
      call('renewer', 'events', 'PutEventsCommand', {
        Entries: [
          { Source: EVENT_SOURCE, DetailType: 'Certificate Renewed', Detail: '{}' },
          { Source: 'aws.acm', DetailType: 'ACM Certificate Approaching Expiration', Detail: '{}' },
        ],
      }),
  },
  // Each function may put only the detail types it publishes (EVENTS_PUBLISHED_BY in contracts/events.ts).
  {
    name: 'scheduler: PutEvents Certificate Renewed (a detail type only the renewer publishes)',
    principal: as('scheduler'),
    call: () =>
      call('scheduler', 'events', 'PutEventsCommand', {
        Entries: [{ Source: EVENT_SOURCE, DetailType: 'Certificate Renewed', Detail: '{}' }],
      }),
  },
  {
    name: 'renewer: PutEvents ARI Window Moved (a detail type only the scheduler publishes)',
    principal: as('renewer'),
    call: () =>
      call('renewer', 'events', 'PutEventsCommand', {
        Entries: [{ Source: EVENT_SOURCE, DetailType: 'ARI Window Moved', Detail: '{}' }],
      }),
  },
  {
    name: 'another principal of the account (not the scheduler, no operator): sqs:SendMessage to the renewal queue',
    principal: OTHER,
    call: () =>
      call('scheduler', 'sqs', 'SendMessageCommand', { QueueUrl: QUEUE_URL, MessageBody: '{"id":"a"}' }),
  },
];

const mustBeAllowed: Row[] = [
  {
    name: 'scheduler: GetObject certificates/a/state.json',
    principal: as('scheduler'),
    call: () => call('scheduler', 's3', 'GetObjectCommand', get('certificates/a/state.json')),
  },
  {
    name: 'scheduler: PutObject certificates/a/state.json',
    principal: as('scheduler'),
    call: () => call('scheduler', 's3', 'PutObjectCommand', get('certificates/a/state.json')),
  },
  {
    name: 'scheduler: GetObject inventory.json',
    principal: as('scheduler'),
    call: () => call('scheduler', 's3', 'GetObjectCommand', get('inventory.json')),
  },
  {
    name: 'scheduler: SendMessageBatch to the renewal queue',
    principal: as('scheduler'),
    call: () => call('scheduler', 'sqs', 'SendMessageBatchCommand', { QueueUrl: QUEUE_URL, Entries: [] }),
  },
  {
    name: 'renewer: UPSERT TXT _acme-challenge.example.com in Z1',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('UPSERT', '_acme-challenge.example.com'),
      ),
  },
  {
    name: 'renewer: DELETE TXT _acme-challenge.example.com in Z1',
    principal: as('renewer'),
    call: () =>
      call(
        'renewer',
        'route53',
        'ChangeResourceRecordSetsCommand',
        txt('DELETE', '_acme-challenge.example.com.'),
      ),
  },
  {
    name: 'scheduler: PutEvents ARI Window Moved to the default bus',
    principal: as('scheduler'),
    call: () =>
      call('scheduler', 'events', 'PutEventsCommand', {
        Entries: [{ Source: EVENT_SOURCE, DetailType: 'ARI Window Moved', Detail: '{}' }],
      }),
  },
  {
    name: 'renewer: PutEvents Certificate Renewed to the default bus',
    principal: as('renewer'),
    call: () =>
      call('renewer', 'events', 'PutEventsCommand', {
        Entries: [{ Source: EVENT_SOURCE, DetailType: 'Certificate Renewed', Detail: '{}' }],
      }),
  },
  {
    name: 'renewer: GetHostedZone Z1',
    principal: as('renewer'),
    call: () => call('renewer', 'route53', 'GetHostedZoneCommand', { Id: 'Z1' }),
  },
  {
    name: 'renewer: GetObject certificates/a/privkey.pem (written with the key-material key)',
    principal: as('renewer'),
    call: (b) => call('renewer', 's3', 'GetObjectCommand', get('certificates/a/privkey.pem'), keyMaterial(b)),
  },
  {
    name: 'renewer: PutObject certificates/a/pending-key.pem under the key-material key',
    principal: as('renewer'),
    call: (b) =>
      call('renewer', 's3', 'PutObjectCommand', {
        ...get('certificates/a/pending-key.pem'),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: b.keyMaterialKeyArn,
        BucketKeyEnabled: true,
      }),
  },
  {
    name: 'renewer: re-import over one of its own certificates',
    principal: as('renewer'),
    call: () =>
      call('renewer', 'acm', 'ImportCertificateCommand', { CertificateArn: CERT }, { resourceTags: OURS }),
  },
];

async function judge(row: Row): Promise<Verdict[]> {
  const recorded = row.call(bound);
  const requests = iamRequestsFor(recorded, bound.mappingEnv(recorded.role)).filter(
    (r) => row.only === undefined || r.action === row.only,
  );
  expect(requests.length, `${row.name}: maps to no authorization`).toBeGreaterThan(0);
  return Promise.all(requests.map((request) => evaluateRequest(bound, row.principal, request)));
}

const lines = (verdicts: Verdict[]) =>
  verdicts
    .map(
      (v) =>
        `${v.request.action} ${v.request.resource}: ${v.result}${v.why.length ? `\n    ${v.why.join('\n    ')}` : ''}`,
    )
    .join('\n  ');

describe('IAM: calls the target design must deny', () => {
  it.each(mustBeDenied)('$name', async (row) => {
    const verdicts = await judge(row);
    const allowed = verdicts.every((v) => v.result === 'Allowed');
    expect(allowed, `allowed, but must be denied:\n  ${lines(verdicts)}`).toBe(false);
  });
});

describe('IAM: calls the functions must be allowed', () => {
  it.each(mustBeAllowed)('$name', async (row) => {
    const verdicts = await judge(row);
    const denied = verdicts.filter((v) => v.result !== 'Allowed');
    const closest = denied[0]?.closest ?? denied[0]?.suggested;
    expect(denied, `denied:\n  ${lines(denied)}\n  closest: ${JSON.stringify(closest)}`).toEqual([]);
  });
});

describe('IAM: what reaches KMS', () => {
  it('is only key material: the state bucket is SSE-S3, so the scheduler makes no KMS call and has no key', () => {
    const recorded = [
      call('scheduler', 's3', 'GetObjectCommand', get('certificates/a/state.json')),
      call('scheduler', 's3', 'PutObjectCommand', get('certificates/a/state.json')),
      call('scheduler', 's3', 'GetObjectCommand', get('inventory.json')),
    ];
    const actions = recorded.flatMap((c) => iamRequestsFor(c, bound.mappingEnv(c.role)).map((r) => r.action));
    expect(actions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    expect(bound.stateKeyArn).toBeUndefined();
    const schedulerActions = (bound.identityPolicies('scheduler') ?? []).flatMap(({ policy }) =>
      [policy.Statement].flat().flatMap((s) => [(s as { Action?: string | string[] }).Action ?? []].flat()),
    );
    expect(schedulerActions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    const privkey = call(
      'renewer',
      's3',
      'GetObjectCommand',
      get('certificates/a/privkey.pem'),
      keyMaterial(bound),
    );
    expect(iamRequestsFor(privkey, bound.mappingEnv('renewer')).map((r) => r.action)).toContain(
      'kms:Decrypt',
    );
  });
});
