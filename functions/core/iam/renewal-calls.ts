import { EVENTS_PUBLISHED_BY } from '../contracts/events';
import { type AwsCall, type IamRequest, iamRequestsFor, type MappingEnv } from './requests';

// The AWS calls one renewal of one certificate makes, as the renewer function sends them, so the doctor can ask
// the live policy about each before the renewal does. test/infra/iam-static.test.ts fails when the renewer's
// bundle ships a command this plan does not name (or acknowledge).

/** The deployed renewer, as deployment.json describes it. */
export interface RenewerDeployment {
  readonly account: string;
  /** The stack's region: the state bucket, the event bus and the first-import function are there. */
  readonly region: string;
  readonly bucket: string;
  /** The `acme-ari:managed-by` tag value of the certificates the renewer may re-import. */
  readonly serviceName: string;
  /** The state bucket's default key (inventory, state documents, certificates, leases); absent: SSE-S3. */
  readonly stateKmsKeyArn?: string;
  /** The key private key material is written with; absent: the bucket default. */
  readonly keyMaterialKmsKeyArn?: string;
  /** @default 'default' */
  readonly eventBusName?: string;
  /** The function the renewer invokes for a certificate's first import into a region. */
  readonly firstImportFunctionName?: string;
  /** The external id the renewer assumes cross-account zone roles with. */
  readonly zoneRoleExternalId?: string;
}

/** Names the adapters define (object keys, the event source, the session name), passed in to stay pure. */
export interface RenewerNames {
  readonly keys: {
    readonly inventory: string;
    state(id: string): string;
    lease(id: string): string;
    cert(id: string): string;
    chain(id: string): string;
    fullchain(id: string): string;
    privkey(id: string): string;
    pendingKey(id: string): string;
    account(directoryUrl: string): string;
    changeMarker(id: string): string;
  };
  readonly eventSource: string;
  readonly zoneRoleSessionName: string;
  /** The ACM tag keys the renewer's re-import is conditioned on. */
  readonly tags: { readonly managedBy: string; readonly certificateId: string };
}

/** Where one `_acme-challenge` TXT record is written: a hosted zone here, or through a cross-account role. */
export type ChallengeTarget =
  | { readonly name: string; readonly zoneId: string }
  | { readonly name: string; readonly roleArn: string };

/** The certificate whose renewal is planned. */
export interface RenewalSubject {
  readonly id: string;
  /** Regions it is imported into (empty: the deployment's region). */
  readonly acmRegions: readonly string[];
  readonly directoryUrl: string;
  readonly eabSecretArn?: string;
  readonly challenges: readonly ChallengeTarget[];
  /** The ACM certificate already imported per region; a region without one gets its first import. */
  readonly acmArns: Readonly<Record<string, string>>;
  /** dns-persist-01: the first-import function writes the `_validation-persist` record when it must change. */
  readonly persistRecord?: boolean;
}

/** One call of the plan, with what it is for in words an operator reads. */
export interface PlannedCall extends AwsCall {
  readonly purpose: string;
}

/** An ACM certificate that does not exist yet: later renewals re-import over it in place. */
const NEXT_CERTIFICATE = '00000000-0000-0000-0000-000000000000';
/** A Route 53 change id (GetChange is authorized on `change/*`). */
const SOME_CHANGE = 'C0000000000000000000';

const ok = { ok: true } as const;
const notFound = { ok: false, error: 'NoSuchKey', status: 404 } as const;

/** The state bucket's part: inventory, lease, account, state, the stored files, key material and the marker. */
function storeCalls(s: RenewalSubject, d: RenewerDeployment, names: RenewerNames): PlannedCall[] {
  const k = names.keys;
  const secret = d.keyMaterialKmsKeyArn;
  const sse = secret === undefined ? {} : { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: secret };
  const call = (
    command: string,
    key: string,
    purpose: string,
    extra: Record<string, unknown> = {},
    outcome: AwsCall['outcome'] = ok,
    objectKmsKeyId?: string,
  ): PlannedCall => ({
    service: 's3',
    command: `${command}Command`,
    region: d.region,
    input: { Bucket: d.bucket, Key: key, ...extra },
    outcome,
    ...(objectKmsKeyId === undefined ? {} : { objectKmsKeyId }),
    purpose,
  });
  const files = [k.cert(s.id), k.chain(s.id), k.fullchain(s.id)];
  return [
    call('GetObject', k.inventory, 'read the inventory'),
    call('PutObject', k.lease(s.id), 'take the lease', { IfNoneMatch: '*' }),
    call('GetObject', k.lease(s.id), 'read a lease held by another renewer'),
    call('GetObject', k.state(s.id), 'read the state document'),
    call('GetObject', k.state(s.id), 'find no state document yet (404, not 403)', {}, notFound),
    call('GetObject', k.account(s.directoryUrl), 'read the ACME account', {}, ok, secret),
    call('GetObject', k.account(s.directoryUrl), 'find no ACME account yet', {}, notFound),
    call('PutObject', k.account(s.directoryUrl), 'store a new ACME account', { IfNoneMatch: '*', ...sse }),
    call('GetObject', k.pendingKey(s.id), 'find no pending key to resume with', {}, notFound),
    call('PutObject', k.pendingKey(s.id), 'keep the new key while the order runs', sse),
    call('PutObject', k.state(s.id), 'checkpoint the order in the state document', { IfMatch: '"etag"' }),
    ...files.map((key) => call('PutObject', key, `store ${key.split('/').at(-1)}`)),
    call('PutObject', k.privkey(s.id), 'store privkey.pem', sse),
    ...files.map((key) => call('GetObject', key, `read the stored ${key.split('/').at(-1)}`)),
    call('GetObject', k.privkey(s.id), 'read the stored privkey.pem', {}, ok, secret),
    call('DeleteObject', k.pendingKey(s.id), 'delete the pending key'),
    call('PutObject', k.changeMarker(s.id), 'tell the scheduler the state changed'),
    call('DeleteObject', k.lease(s.id), 'release the lease', { IfMatch: '"etag"' }),
  ];
}

/** dns-01: find the zone, write and delete the TXT records in one batch per zone, wait for INSYNC. */
function dnsCalls(s: RenewalSubject, d: RenewerDeployment, names: RenewerNames): PlannedCall[] {
  const route53 = (command: string, input: Record<string, unknown>, purpose: string): PlannedCall => ({
    service: 'route53',
    command: `${command}Command`,
    region: d.region,
    input,
    outcome: ok,
    purpose,
  });
  const calls: PlannedCall[] = [route53('ListHostedZones', {}, 'find the hosted zone of each name')];
  const byZone = new Map<string, string[]>();
  const roles = new Set<string>();
  for (const target of s.challenges) {
    if ('roleArn' in target) roles.add(target.roleArn);
    else byZone.set(target.zoneId, [...(byZone.get(target.zoneId) ?? []), target.name]);
  }
  for (const [zoneId, recordNames] of byZone) {
    const batch = (Action: string, dot: string) => ({
      Changes: [...new Set(recordNames)].map((name) => ({
        Action,
        ResourceRecordSet: { Name: `${name}${dot}`, Type: 'TXT' },
      })),
    });
    const listed = recordNames.join(', ');
    calls.push(
      route53('GetHostedZone', { Id: zoneId }, `read hosted zone ${zoneId}`),
      route53('ListResourceRecordSets', { HostedZoneId: zoneId }, `read the TXT records at ${listed}`),
      route53(
        'ChangeResourceRecordSets',
        { HostedZoneId: zoneId, ChangeBatch: batch('CREATE', '') },
        `write the challenge TXT at ${listed}`,
      ),
      route53(
        'ChangeResourceRecordSets',
        { HostedZoneId: zoneId, ChangeBatch: batch('DELETE', '.') },
        `delete the challenge TXT at ${listed}`,
      ),
    );
  }
  if (byZone.size > 0)
    calls.push(route53('GetChange', { Id: SOME_CHANGE }, 'wait for the change to be INSYNC'));
  for (const RoleArn of roles) {
    calls.push({
      service: 'sts',
      command: 'AssumeRoleCommand',
      region: d.region,
      input: {
        RoleArn,
        RoleSessionName: names.zoneRoleSessionName,
        ...(d.zoneRoleExternalId === undefined ? {} : { ExternalId: d.zoneRoleExternalId }),
      },
      outcome: ok,
      purpose: `assume ${RoleArn} to write the challenge records in its zone`,
    });
  }
  return calls;
}

/** ACM per region: the first import through the first-import function, then re-imports in place. */
function acmCalls(s: RenewalSubject, d: RenewerDeployment, names: RenewerNames): PlannedCall[] {
  const regions = s.acmRegions.length > 0 ? s.acmRegions : [d.region];
  const calls: PlannedCall[] = [];
  for (const region of regions) {
    const known = s.acmArns[region];
    const arn = known ?? `arn:aws:acm:${region}:${d.account}:certificate/${NEXT_CERTIFICATE}`;
    const resourceTags = { [names.tags.managedBy]: d.serviceName, [names.tags.certificateId]: s.id };
    const acm = (command: string, input: Record<string, unknown>, purpose: string): PlannedCall => ({
      service: 'acm',
      command: `${command}Command`,
      region,
      input,
      outcome: ok,
      resourceTags,
      purpose,
    });
    calls.push(acm('ListCertificates', {}, `find the certificate already in ACM (${region})`));
    if (known === undefined) {
      calls.push(
        acm(
          'ListTagsForCertificate',
          { CertificateArn: arn },
          `tell a lookalike in ${region} is this deployment's`,
        ),
      );
    }
    if (known === undefined && d.firstImportFunctionName !== undefined) {
      calls.push({
        service: 'lambda',
        command: 'InvokeCommand',
        region: d.region,
        input: { FunctionName: d.firstImportFunctionName },
        outcome: ok,
        purpose: `ask the first-import function to create the certificate in ${region}`,
      });
    }
    const when = known === undefined ? ' (every renewal after the first)' : '';
    calls.push(
      acm('DescribeCertificate', { CertificateArn: arn }, `read the imported certificate${when}`),
      acm('ImportCertificate', { CertificateArn: arn }, `re-import in place in ${region}${when}`),
    );
  }
  return calls;
}

/**
 * Every AWS call one renewal of the certificate makes: the state bucket (with its KMS keys), Route 53 or the
 * zone roles, the EAB secret, ACM in each region, and the outcome event.
 */
export function renewalCalls(
  subject: RenewalSubject,
  deployment: RenewerDeployment,
  names: RenewerNames,
): PlannedCall[] {
  const eab: PlannedCall[] =
    subject.eabSecretArn === undefined
      ? []
      : [
          {
            service: 'secretsmanager',
            command: 'GetSecretValueCommand',
            region: deployment.region,
            input: { SecretId: subject.eabSecretArn },
            outcome: ok,
            purpose: 'read the EAB HMAC key to register the ACME account',
          },
        ];
  const event: PlannedCall = {
    service: 'events',
    command: 'PutEventsCommand',
    region: deployment.region,
    input: {
      Entries: EVENTS_PUBLISHED_BY.renewer.map((DetailType) => ({
        Source: names.eventSource,
        DetailType,
        EventBusName: deployment.eventBusName ?? 'default',
      })),
    },
    outcome: ok,
    purpose: 'publish the renewal outcome',
  };
  const persist: PlannedCall[] =
    subject.persistRecord && deployment.firstImportFunctionName !== undefined
      ? [
          {
            service: 'lambda',
            command: 'InvokeCommand',
            region: deployment.region,
            input: { FunctionName: deployment.firstImportFunctionName },
            outcome: ok,
            purpose: 'ask the first-import function to write the _validation-persist record',
          },
        ]
      : [];
  return [
    ...storeCalls(subject, deployment, names),
    ...eab,
    ...persist,
    ...dnsCalls(subject, deployment, names),
    ...acmCalls(subject, deployment, names),
    event,
  ];
}

/** What the request mapping needs: objects without an explicit key are under the bucket default key. */
export function mappingEnvOf(deployment: RenewerDeployment): MappingEnv {
  return {
    account: deployment.account,
    kmsKeyFor: (_bucket, explicitKeyId) => explicitKeyId ?? deployment.stateKmsKeyArn,
  };
}

/** One authorization a planned call needs. */
export interface PlannedRequest {
  readonly call: PlannedCall;
  readonly request: IamRequest;
}

/** The authorizations IAM performs for the plan, in the plan's order. */
export function renewalRequests(
  calls: readonly PlannedCall[],
  deployment: RenewerDeployment,
): PlannedRequest[] {
  const env = mappingEnvOf(deployment);
  return calls.flatMap((call) => iamRequestsFor(call, env).map((request) => ({ call, request })));
}
