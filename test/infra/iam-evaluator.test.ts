import { describe, expect, it } from 'vitest';
import {
  type IamRequest,
  iamRequestsFor,
  type MappingEnv,
  normalizedRecordName,
} from '../support/iam/actions';
import {
  ACCOUNT,
  type BoundStack,
  evaluateRequest,
  type PolicyDocument,
  REGION,
} from '../support/iam/evaluate';

// The evaluator judges Resource, Condition and resource policies as IAM does; if it did not, the denial table
// and the recorded runs would prove nothing. Each row is a policy and two requests that differ in one detail.

const ROLE = `arn:aws:iam::${ACCOUNT}:role/Fn`;
const BUCKET = 'bkt';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/k1`;
const doc = (...Statement: Record<string, unknown>[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: Statement as PolicyDocument['Statement'],
});

/** A stack of nothing but the resource policies a row needs. */
function stackWith(resourcePolicies: { bucket?: PolicyDocument; key?: PolicyDocument }): BoundStack {
  const env: MappingEnv = { account: ACCOUNT, kmsKeyFor: () => KEY };
  return {
    stack: {
      template: { Resources: {} },
      roles: {},
      serviceName: 'test',
      refused: { problems: [], droppedIds: [] },
    },
    identityPolicies: () => undefined,
    roleArn: () => undefined,
    environment: () => ({}),
    stateKeyArn: KEY,
    keyMaterialKeyArn: KEY,
    bucketName: BUCKET,
    queueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:q`,
    resourcePolicy: (target) =>
      target.kind === 's3-bucket'
        ? resourcePolicies.bucket
        : target.kind === 'kms-key'
          ? resourcePolicies.key
          : undefined,
    mappingEnv: () => env,
  };
}

async function verdict(
  identity: PolicyDocument | undefined,
  request: IamRequest,
  resourcePolicies: { bucket?: PolicyDocument; key?: PolicyDocument } = {},
) {
  const bound = stackWith(resourcePolicies);
  const principal = {
    arn: ROLE,
    identityPolicies: identity === undefined ? [] : [{ name: 'p', policy: identity }],
  };
  return (await evaluateRequest(bound, principal, request)).result;
}

const change = (names: string[], types: string[] = ['TXT']) =>
  iamRequestsFor(
    {
      role: 'renewer',
      service: 'route53',
      command: 'ChangeResourceRecordSetsCommand',
      region: REGION,
      input: {
        HostedZoneId: '/hostedzone/Z1',
        ChangeBatch: {
          Changes: names.map((Name, i) => ({
            Action: 'UPSERT',
            ResourceRecordSet: { Name, Type: types[i] ?? 'TXT' },
          })),
        },
      },
      outcome: { ok: true },
      context: { bucket: BUCKET, region: REGION },
    },
    stackWith({}).mappingEnv('renewer'),
  )[0]!;

describe('the IAM evaluator', () => {
  it('normalizes record names as Route 53 does: lower case, no trailing dot, \\ooo escapes', () => {
    expect(normalizedRecordName('_ACME-Challenge.Example.COM.')).toBe('_acme-challenge.example.com');
    expect(normalizedRecordName('*.example.com')).toBe('\\052.example.com');
    expect(normalizedRecordName('\\052.example.com')).toBe('\\052.example.com');
  });

  it('applies ForAllValues:StringLike to every record name of a change batch', async () => {
    const policy = doc({
      Effect: 'Allow',
      Action: 'route53:ChangeResourceRecordSets',
      Resource: 'arn:aws:route53:::hostedzone/Z1',
      Condition: {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    });
    expect(await verdict(policy, change(['_acme-challenge.Example.com.']))).toBe('Allowed');
    expect(await verdict(policy, change(['_acme-challenge.example.com', 'www.example.com']))).toBe(
      'ImplicitlyDenied',
    );
    expect(
      await verdict(
        policy,
        change(['_acme-challenge.example.com', '_acme-challenge.example.com'], ['TXT', 'A']),
      ),
    ).toBe('ImplicitlyDenied');
  });

  it('matches aws:ResourceTag against the tags the certificate has', async () => {
    const policy = doc({
      Effect: 'Allow',
      Action: 'acm:ImportCertificate',
      Resource: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/*`,
      Condition: { StringEquals: { 'aws:ResourceTag/acme-ari:managed-by': 'ours' } },
    });
    const reimport = (tags: Record<string, string>): IamRequest => ({
      action: 'acm:ImportCertificate',
      resource: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/abc`,
      context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
    });
    expect(await verdict(policy, reimport({ 'acme-ari:managed-by': 'ours' }))).toBe('Allowed');
    expect(await verdict(policy, reimport({ 'acme-ari:managed-by': 'theirs' }))).toBe('ImplicitlyDenied');
    expect(await verdict(policy, reimport({}))).toBe('ImplicitlyDenied');
  });

  it('lets a same-account bucket policy allow alone, and its Deny override an identity Allow', async () => {
    const get = (key: string): IamRequest => ({
      action: 's3:GetObject',
      resource: `arn:aws:s3:::${BUCKET}/${key}`,
      context: { 'aws:SecureTransport': 'true' },
      target: { kind: 's3-bucket', bucket: BUCKET },
    });
    const bucket = doc(
      {
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/public/*`,
      },
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/secret/*`,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/Other` } },
      },
    );
    const everything = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` });
    expect(await verdict(undefined, get('public/a'), { bucket })).toBe('Allowed');
    expect(await verdict(undefined, get('private/a'), { bucket })).toBe('ImplicitlyDenied');
    expect(await verdict(everything, get('secret/a'), { bucket })).toBe('ExplicitlyDenied');
  });

  it('requires the key policy for KMS and evaluates kms:EncryptionContext conditions', async () => {
    const decrypt = (bucket: string): IamRequest => ({
      action: 'kms:Decrypt',
      resource: KEY,
      context: {
        'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucket}`,
        'kms:ViaService': `s3.${REGION}.amazonaws.com`,
      },
      target: { kind: 'kms-key', keyArn: KEY },
    });
    const identity = doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY });
    const trustsAccount = doc({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    });
    const trustsOther = doc({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Other` },
      Action: 'kms:*',
      Resource: '*',
    });
    const onlyForBucket = doc({
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${BUCKET}` } },
    });
    expect(await verdict(identity, decrypt(BUCKET), { key: trustsAccount })).toBe('Allowed');
    expect(await verdict(identity, decrypt(BUCKET), { key: trustsOther })).toBe('ImplicitlyDenied');
    expect(await verdict(undefined, decrypt(BUCKET), { key: onlyForBucket })).toBe('Allowed');
    expect(await verdict(undefined, decrypt('other-bucket'), { key: onlyForBucket })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('treats events:source as the multivalued key the Service Authorization Reference declares', async () => {
    const put: IamRequest = {
      action: 'events:PutEvents',
      resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
      context: { 'events:source': 'acme-ari-aws' },
    };
    const statement = (operator: string) =>
      doc({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: put.resource,
        Condition: { [operator]: { 'events:source': 'acme-ari-aws' } },
      });
    expect(await verdict(statement('ForAnyValue:StringEquals'), put)).toBe('Allowed');
    expect(await verdict(statement('StringEquals'), put)).toBe('ImplicitlyDenied');
  });
});
