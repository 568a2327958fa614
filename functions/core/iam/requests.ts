import { AcmeAwsError } from '../errors';

// How each AWS SDK command the functions send is authorized by IAM: the actions, the resource ARNs and the
// request context. One table serves the doctor (which predicts a renewal's calls and asks the live policy) and
// the test suite (which records the calls the functions really make and asks the synthesized policy).

/** How an AWS call ended, as far as authorization cares (a 404 GetObject is authorized differently). */
export interface CallOutcome {
  readonly ok: boolean;
  readonly error?: string;
  readonly status?: number;
}

/** One AWS SDK call, with what IAM needs to judge it (never bodies or key material). */
export interface AwsCall {
  /** IAM service prefix of the client (`s3`, `route53`, `acm`, …). */
  readonly service: string;
  /** SDK command class name (`GetObjectCommand`). */
  readonly command: string;
  readonly region: string;
  /** The command input without bodies, keys or certificates. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly outcome: CallOutcome;
  /** For reads of an object: the `SSEKMSKeyId` it was written with (`undefined`: the bucket default key). */
  readonly objectKmsKeyId?: string;
  /** For calls on an existing ACM certificate: its tags when the call was made. */
  readonly resourceTags?: Readonly<Record<string, string>>;
}

/** The mapping of a call failed: the command is not in the table, or lacks the field IAM's resource comes from. */
function unmapped(message: string): AcmeAwsError {
  return new AcmeAwsError('iam-failed', message);
}

/** A policy a request is also judged by, besides the principal's identity policies. */
export type ResourcePolicyTarget =
  | { readonly kind: 's3-bucket'; readonly bucket: string }
  | { readonly kind: 'kms-key'; readonly keyArn: string }
  | { readonly kind: 'sqs-queue'; readonly queueArn: string }
  | { readonly kind: 'role-trust'; readonly roleArn: string };

/** One authorization IAM performs for a call: the call's own action, or one the service performs for it. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  readonly target?: ResourcePolicyTarget;
  /** Why this authorization happens although the call names another action. */
  readonly implied?: string;
}

/** What the mapping needs from the deployment the call belongs to. */
export interface MappingEnv {
  readonly account: string;
  /**
   * The KMS key ARN S3 uses for an object of `bucket` written with `SSEKMSKeyId` = `explicitKeyId`; `undefined`
   * when such an object is SSE-S3 (no explicit key and a bucket default of SSE-S3): S3 then asks KMS nothing.
   */
  kmsKeyFor(bucket: string, explicitKeyId: string | undefined): string | undefined;
}

/** How one SDK command is authorized. */
export interface CommandPermissions {
  /** Actions every call of the command is authorized for (the static check requires each of them). */
  readonly actions: readonly string[];
  /** Actions only some calls need, with when. */
  readonly sometimes?: Readonly<Record<string, string>>;
  /** The authorizations one recorded call needs. */
  requests(call: AwsCall, env: MappingEnv): IamRequest[];
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function required(call: AwsCall, field: string): string {
  const value = str(call.input[field]);
  if (value === undefined) {
    throw unmapped(`${call.command} without ${field} cannot be mapped to an IAM resource`);
  }
  return value;
}

// S3 ----------------------------------------------------------------------------------------------------------

const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

/** Context keys every S3 request over HTTPS carries (the CDK bucket policy denies the others). */
function s3Context(env: MappingEnv): Record<string, string> {
  return { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', 's3:ResourceAccount': env.account };
}

/**
 * The KMS authorization S3 performs with the caller's credentials for an SSE-KMS object (none for SSE-S3). With S3
 * Bucket Keys the encryption context is the bucket ARN.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html ("the bucket ARN is used as the encryption context")
 */
function s3Kms(
  action: 'kms:Decrypt' | 'kms:GenerateDataKey',
  call: AwsCall,
  env: MappingEnv,
  bucket: string,
  explicitKeyId: string | undefined,
): IamRequest[] {
  const keyArn = env.kmsKeyFor(bucket, explicitKeyId);
  if (keyArn === undefined) return [];
  return [
    {
      action,
      resource: keyArn,
      context: {
        'kms:EncryptionContext:aws:s3:arn': bucketArn(bucket),
        'kms:EncryptionContextKeys': ['aws:s3:arn'],
        'kms:ViaService': `s3.${call.region}.amazonaws.com`,
        'kms:CallerAccount': env.account,
        'aws:ViaAWSService': 'true',
      },
      target: { kind: 'kms-key', keyArn },
      implied: `S3 calls ${action} on the object's KMS key (SSE-KMS, bucket key) with the caller's credentials`,
    },
  ];
}

const isNotFound = (call: AwsCall) =>
  !call.outcome.ok &&
  (call.outcome.status === 404 || call.outcome.error === 'NoSuchKey' || call.outcome.error === 'NotFound');

/** GetObject and HeadObject: the object read, plus what S3 checks to answer 404 rather than 403. */
function objectRead(decrypts: boolean) {
  return (call: AwsCall, env: MappingEnv): IamRequest[] => {
    const bucket = required(call, 'Bucket');
    const key = required(call, 'Key');
    const versioned = str(call.input.VersionId) !== undefined;
    const requests: IamRequest[] = [
      {
        action: versioned ? 's3:GetObjectVersion' : 's3:GetObject',
        resource: objectArn(bucket, key),
        context: s3Context(env),
        target: { kind: 's3-bucket', bucket },
      },
    ];
    if (isNotFound(call)) {
      requests.push({
        action: 's3:ListBucket',
        resource: bucketArn(bucket),
        context: s3Context(env),
        target: { kind: 's3-bucket', bucket },
        implied:
          'S3 answers a missing key with 404 only to a caller allowed s3:ListBucket (else 403 AccessDenied)',
      });
    } else if (decrypts && call.outcome.ok) {
      requests.push(...s3Kms('kms:Decrypt', call, env, bucket, call.objectKmsKeyId));
    }
    return requests;
  };
}

const s3: Record<string, CommandPermissions> = {
  GetObjectCommand: {
    actions: ['s3:GetObject'],
    sometimes: {
      's3:ListBucket': 'when the key does not exist (404, not 403)',
      'kms:Decrypt': 'when the object is SSE-KMS (key material; everything under a state key)',
    },
    requests: objectRead(true),
  },
  HeadObjectCommand: {
    actions: ['s3:GetObject'],
    sometimes: { 's3:ListBucket': 'when the key does not exist (404, not 403)' },
    requests: objectRead(false),
  },
  PutObjectCommand: {
    actions: ['s3:PutObject'],
    sometimes: {
      'kms:GenerateDataKey': 'when the object is SSE-KMS (key material; everything under a state key)',
    },
    requests(call, env) {
      const bucket = required(call, 'Bucket');
      const key = required(call, 'Key');
      const explicitKey = str(call.input.SSEKMSKeyId);
      const context: Record<string, string> = { ...s3Context(env) };
      const sse = str(call.input.ServerSideEncryption);
      if (sse !== undefined) context['s3:x-amz-server-side-encryption'] = sse;
      const explicitArn = explicitKey === undefined ? undefined : env.kmsKeyFor(bucket, explicitKey);
      if (explicitArn !== undefined) context['s3:x-amz-server-side-encryption-aws-kms-key-id'] = explicitArn;
      if (str(call.input.IfNoneMatch) !== undefined)
        context['s3:if-none-match'] = str(call.input.IfNoneMatch)!;
      if (str(call.input.IfMatch) !== undefined) context['s3:if-match'] = str(call.input.IfMatch)!;
      const requests: IamRequest[] = [
        {
          action: 's3:PutObject',
          resource: objectArn(bucket, key),
          context,
          target: { kind: 's3-bucket', bucket },
        },
      ];
      // A write that lost its condition stored nothing, so S3 asked KMS for no data key.
      if (call.outcome.ok) requests.push(...s3Kms('kms:GenerateDataKey', call, env, bucket, explicitKey));
      return requests;
    },
  },
  DeleteObjectCommand: {
    actions: ['s3:DeleteObject'],
    sometimes: { 's3:DeleteObjectVersion': 'when a VersionId is given' },
    requests(call, env) {
      const bucket = required(call, 'Bucket');
      const versioned = str(call.input.VersionId) !== undefined;
      return [
        {
          action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: objectArn(bucket, required(call, 'Key')),
          context: s3Context(env),
          target: { kind: 's3-bucket', bucket },
        },
      ];
    },
  },
  ListObjectsV2Command: {
    actions: ['s3:ListBucket'],
    requests(call, env) {
      const bucket = required(call, 'Bucket');
      const context: Record<string, string> = {
        ...s3Context(env),
        's3:prefix': str(call.input.Prefix) ?? '',
      };
      if (str(call.input.Delimiter) !== undefined) context['s3:delimiter'] = str(call.input.Delimiter)!;
      if (typeof call.input.MaxKeys === 'number') context['s3:max-keys'] = String(call.input.MaxKeys);
      return [
        {
          action: 's3:ListBucket',
          resource: bucketArn(bucket),
          context,
          target: { kind: 's3-bucket', bucket },
        },
      ];
    },
  },
  ListObjectVersionsCommand: {
    actions: ['s3:ListBucketVersions'],
    requests(call, env) {
      const bucket = required(call, 'Bucket');
      return [
        {
          action: 's3:ListBucketVersions',
          resource: bucketArn(bucket),
          context: { ...s3Context(env), 's3:prefix': str(call.input.Prefix) ?? '' },
          target: { kind: 's3-bucket', bucket },
        },
      ];
    },
  },
  PutBucketPolicyCommand: {
    actions: ['s3:PutBucketPolicy'],
    requests(call, env) {
      const bucket = required(call, 'Bucket');
      return [
        {
          action: 's3:PutBucketPolicy',
          resource: bucketArn(bucket),
          context: s3Context(env),
          target: { kind: 's3-bucket', bucket },
        },
      ];
    },
  },
};

// Route 53 ----------------------------------------------------------------------------------------------------

const zoneArn = (id: string) => `arn:aws:route53:::hostedzone/${id.replace(/^\/hostedzone\//, '')}`;

/**
 * A record name as Route 53 puts it in `route53:ChangeResourceRecordSetsNormalizedRecordNames`: lower case, no
 * trailing dot, and every character other than a-z, 0-9, hyphen, underscore and the label dot as a `\ooo` escape.
 * @see https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
 */
export function normalizedRecordName(name: string): string {
  const decoded = name
    .replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
  return [...decoded]
    .map((c) => (/[a-z0-9\-_.]/.test(c) ? c : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))
    .join('');
}

interface Change {
  readonly Action?: string;
  readonly ResourceRecordSet?: { readonly Name?: string; readonly Type?: string };
}

const zoneOnly =
  (action: string, field: 'Id' | 'HostedZoneId') =>
  (call: AwsCall): IamRequest[] => [{ action, resource: zoneArn(required(call, field)), context: {} }];

const everything = (action: string) => (): IamRequest[] => [{ action, resource: '*', context: {} }];

const route53: Record<string, CommandPermissions> = {
  ChangeResourceRecordSetsCommand: {
    actions: ['route53:ChangeResourceRecordSets'],
    requests(call) {
      const changes = ((call.input.ChangeBatch as { Changes?: Change[] } | undefined)?.Changes ?? []).filter(
        (c) => c !== undefined,
      );
      const distinct = (values: (string | undefined)[]) => [
        ...new Set(values.filter((v): v is string => v !== undefined)),
      ];
      return [
        {
          action: 'route53:ChangeResourceRecordSets',
          resource: zoneArn(required(call, 'HostedZoneId')),
          context: {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(
              changes.map((c) =>
                c.ResourceRecordSet?.Name === undefined
                  ? undefined
                  : normalizedRecordName(c.ResourceRecordSet.Name),
              ),
            ),
            'route53:ChangeResourceRecordSetsRecordTypes': distinct(
              changes.map((c) => c.ResourceRecordSet?.Type?.toUpperCase()),
            ),
            'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => c.Action?.toUpperCase())),
          },
        },
      ];
    },
  },
  ListResourceRecordSetsCommand: {
    actions: ['route53:ListResourceRecordSets'],
    requests: zoneOnly('route53:ListResourceRecordSets', 'HostedZoneId'),
  },
  GetHostedZoneCommand: {
    actions: ['route53:GetHostedZone'],
    requests: zoneOnly('route53:GetHostedZone', 'Id'),
  },
  GetChangeCommand: {
    actions: ['route53:GetChange'],
    requests: (call) => [
      {
        action: 'route53:GetChange',
        resource: `arn:aws:route53:::change/${required(call, 'Id').replace(/^\/change\//, '')}`,
        context: {},
      },
    ],
  },
  ListHostedZonesCommand: {
    actions: ['route53:ListHostedZones'],
    requests: everything('route53:ListHostedZones'),
  },
  ListHostedZonesByNameCommand: {
    actions: ['route53:ListHostedZonesByName'],
    requests: everything('route53:ListHostedZonesByName'),
  },
};

// ACM ---------------------------------------------------------------------------------------------------------

const resourceTagContext = (call: AwsCall): Record<string, string> =>
  Object.fromEntries(Object.entries(call.resourceTags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));

function requestTagContext(
  tags: readonly { Key?: string; Value?: string }[],
): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const tag of tags) if (tag.Key !== undefined) context[`aws:RequestTag/${tag.Key}`] = tag.Value ?? '';
  context['aws:TagKeys'] = tags.flatMap((t) => (t.Key === undefined ? [] : [t.Key]));
  return context;
}

const onCertificate =
  (action: string) =>
  (call: AwsCall): IamRequest[] => [
    { action, resource: required(call, 'CertificateArn'), context: resourceTagContext(call) },
  ];

const acm: Record<string, CommandPermissions> = {
  ImportCertificateCommand: {
    actions: ['acm:ImportCertificate'],
    sometimes: { 'acm:AddTagsToCertificate': 'on a first import with Tags' },
    requests(call, env) {
      const arn = str(call.input.CertificateArn);
      if (arn !== undefined) {
        // A re-import names the certificate: IAM sees its current tags, and no request tags (ACM refuses Tags here).
        return [{ action: 'acm:ImportCertificate', resource: arn, context: resourceTagContext(call) }];
      }
      const tags = (call.input.Tags as { Key?: string; Value?: string }[] | undefined) ?? [];
      // A first import's ARN does not exist yet: IAM matches the certificate/* pattern of the region.
      const resource = `arn:aws:acm:${call.region}:${env.account}:certificate/*`;
      const context = tags.length === 0 ? {} : requestTagContext(tags);
      return [
        { action: 'acm:ImportCertificate', resource, context },
        ...(tags.length === 0
          ? []
          : [
              {
                action: 'acm:AddTagsToCertificate',
                resource,
                context,
                implied: 'ImportCertificate with Tags is also authorized as AddTagsToCertificate',
              },
            ]),
      ];
    },
  },
  DescribeCertificateCommand: {
    actions: ['acm:DescribeCertificate'],
    requests: onCertificate('acm:DescribeCertificate'),
  },
  ListTagsForCertificateCommand: {
    actions: ['acm:ListTagsForCertificate'],
    requests: onCertificate('acm:ListTagsForCertificate'),
  },
  ListCertificatesCommand: {
    actions: ['acm:ListCertificates'],
    requests: everything('acm:ListCertificates'),
  },
  AddTagsToCertificateCommand: {
    actions: ['acm:AddTagsToCertificate'],
    requests(call) {
      const tags = (call.input.Tags as { Key?: string; Value?: string }[] | undefined) ?? [];
      return [
        {
          action: 'acm:AddTagsToCertificate',
          resource: required(call, 'CertificateArn'),
          context: { ...resourceTagContext(call), ...requestTagContext(tags) },
        },
      ];
    },
  },
};

// SQS, EventBridge, Secrets Manager, STS, Lambda --------------------------------------------------------------

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` (or moto's `http://host/<account>/<name>`) as an ARN. */
export function queueArnOf(queueUrl: string, region: string): string {
  const [account, name] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  if (account === undefined || name === undefined) {
    throw unmapped(`${queueUrl} is not an SQS queue URL`);
  }
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

const sendMessage = (call: AwsCall): IamRequest[] => {
  const queueArn = queueArnOf(required(call, 'QueueUrl'), call.region);
  return [
    { action: 'sqs:SendMessage', resource: queueArn, context: {}, target: { kind: 'sqs-queue', queueArn } },
  ];
};

const sqs: Record<string, CommandPermissions> = {
  SendMessageCommand: { actions: ['sqs:SendMessage'], requests: sendMessage },
  SendMessageBatchCommand: { actions: ['sqs:SendMessage'], requests: sendMessage },
};

const events: Record<string, CommandPermissions> = {
  PutEventsCommand: {
    actions: ['events:PutEvents'],
    requests(call, env) {
      const entries =
        (call.input.Entries as
          | { Source?: string; DetailType?: string; EventBusName?: string }[]
          | undefined) ?? [];
      // One authorization per event bus the batch writes to; events:source and events:detail-type are multivalued
      // (ArrayOfString in the Service Authorization Reference): the set over the batch's entries.
      const buses = new Map<string, { sources: Set<string>; types: Set<string> }>();
      for (const entry of entries) {
        const bus = entry.EventBusName ?? 'default';
        const seen = buses.get(bus) ?? { sources: new Set<string>(), types: new Set<string>() };
        if (entry.Source !== undefined) seen.sources.add(entry.Source);
        if (entry.DetailType !== undefined) seen.types.add(entry.DetailType);
        buses.set(bus, seen);
      }
      return [...buses].map(([bus, { sources, types }]) => ({
        action: 'events:PutEvents',
        resource: bus.startsWith('arn:')
          ? bus
          : `arn:aws:events:${call.region}:${env.account}:event-bus/${bus}`,
        context: { 'events:source': [...sources], 'events:detail-type': [...types] },
      }));
    },
  },
};

const secretsmanager: Record<string, CommandPermissions> = {
  GetSecretValueCommand: {
    actions: ['secretsmanager:GetSecretValue'],
    requests(call, env) {
      const id = required(call, 'SecretId');
      return [
        {
          action: 'secretsmanager:GetSecretValue',
          resource: id.startsWith('arn:')
            ? id
            : `arn:aws:secretsmanager:${call.region}:${env.account}:secret:${id}`,
          context: {},
        },
      ];
    },
  },
};

const sts: Record<string, CommandPermissions> = {
  AssumeRoleCommand: {
    actions: ['sts:AssumeRole'],
    requests(call) {
      const roleArn = required(call, 'RoleArn');
      const context: Record<string, string> = {};
      if (str(call.input.ExternalId) !== undefined) context['sts:ExternalId'] = str(call.input.ExternalId)!;
      if (str(call.input.RoleSessionName) !== undefined) {
        context['sts:RoleSessionName'] = str(call.input.RoleSessionName)!;
      }
      return [
        { action: 'sts:AssumeRole', resource: roleArn, context, target: { kind: 'role-trust', roleArn } },
      ];
    },
  },
};

const lambda: Record<string, CommandPermissions> = {
  InvokeCommand: {
    actions: ['lambda:InvokeFunction'],
    requests(call, env) {
      const name = required(call, 'FunctionName');
      return [
        {
          action: 'lambda:InvokeFunction',
          resource: name.startsWith('arn:')
            ? name
            : `arn:aws:lambda:${call.region}:${env.account}:function:${name}`,
          context: {},
        },
      ];
    },
  },
};

/**
 * Every SDK command the functions send, by IAM service prefix and command class name: the IAM actions it is
 * authorized as, on which resources, with which request context. A command missing here cannot be judged, so
 * {@link iamRequestsFor} refuses it by name.
 */
export const COMMAND_PERMISSIONS: Readonly<Record<string, Readonly<Record<string, CommandPermissions>>>> = {
  s3,
  route53,
  acm,
  sqs,
  events,
  secretsmanager,
  sts,
  lambda,
};

/** The table entry of a command, or an error naming the command that must be added. */
export function permissionsOf(service: string, command: string): CommandPermissions {
  const entry = COMMAND_PERMISSIONS[service]?.[command];
  if (entry === undefined) {
    throw unmapped(
      `${service} ${command} is not in functions/core/iam/requests.ts: add the IAM action(s), resource and context keys it is authorized with, so the call can be judged`,
    );
  }
  return entry;
}

/** The authorizations IAM performs for one recorded call. */
export function iamRequestsFor(call: AwsCall, env: MappingEnv): IamRequest[] {
  return permissionsOf(call.service, call.command).requests(call, env);
}
