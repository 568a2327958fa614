import { describe, expect, it } from 'vitest';
import { RENEWER_NAMES } from '../../../functions/cli/doctor-permissions';
import {
  type RenewalSubject,
  type RenewerDeployment,
  renewalCalls,
  renewalRequests,
} from '../../../functions/core/iam/renewal-calls';

const ACCOUNT = '123456789012';
const STATE_KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/state`;
const SECRET_KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/secret`;

const deployment: RenewerDeployment = {
  account: ACCOUNT,
  region: 'eu-west-1',
  bucket: 'certs-state',
  serviceName: 'acme-ari-prod',
  stateKmsKeyArn: STATE_KEY,
  keyMaterialKmsKeyArn: SECRET_KEY,
  eventBusName: 'ops',
  firstImportFunctionName: 'acme-first-import',
  zoneRoleExternalId: 'acme-ari-prod',
};

const subject: RenewalSubject = {
  id: 'web',
  acmRegions: ['eu-west-1', 'us-east-1'],
  directoryUrl: 'https://acme.example/directory',
  eabSecretArn: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:eab-AbCdEf`,
  challenges: [
    { name: '_acme-challenge.example.com', zoneId: 'Z1' },
    // Delegated by CNAME into another zone: the record is written where the chain ends.
    { name: 'example-com.acme.example.net', zoneId: 'Z2' },
    { name: '_acme-challenge.partner.example', roleArn: 'arn:aws:iam::210987654321:role/acme-dns' },
  ],
  acmArns: { 'eu-west-1': `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/known` },
};

const requests = renewalRequests(renewalCalls(subject, deployment, RENEWER_NAMES), deployment);
const find = (action: string, resource: string) =>
  requests.filter((r) => r.request.action === action && r.request.resource === resource);

describe('the AWS calls one renewal makes, as IAM authorizes them', () => {
  it('reads and writes private key material under the key-material key, the rest under the bucket key', () => {
    const privkey = 'arn:aws:s3:::certs-state/certificates/web/privkey.pem';
    expect(find('s3:PutObject', privkey)[0]!.request.context).toMatchObject({
      's3:x-amz-server-side-encryption': 'aws:kms',
      's3:x-amz-server-side-encryption-aws-kms-key-id': SECRET_KEY,
    });
    const kmsFor = (key: string, action: string) =>
      requests.find((r) => r.call.input.Key === key && r.request.action === action)?.request.resource;
    expect(kmsFor('certificates/web/privkey.pem', 'kms:GenerateDataKey')).toBe(SECRET_KEY);
    expect(kmsFor('certificates/web/privkey.pem', 'kms:Decrypt')).toBe(SECRET_KEY);
    expect(kmsFor('certificates/web/state.json', 'kms:Decrypt')).toBe(STATE_KEY);
    expect(kmsFor('certificates/web/fullchain.pem', 'kms:GenerateDataKey')).toBe(STATE_KEY);
  });

  it('asks KMS only about key material when the state bucket is SSE-S3 (no state key)', () => {
    const { stateKmsKeyArn: _, ...sseS3 } = deployment;
    const planned = renewalRequests(renewalCalls(subject, sseS3, RENEWER_NAMES), sseS3);
    const kms = planned.filter((r) => r.request.action.startsWith('kms:'));
    expect(kms.length).toBeGreaterThan(0);
    expect(new Set(kms.map((r) => r.request.resource))).toEqual(new Set([SECRET_KEY]));
    expect(kms.map((r) => String(r.call.input.Key).split('/').at(-1))).not.toContain('state.json');
  });

  it('asks for s3:ListBucket where a missing object must read as 404, not 403', () => {
    const listed = find('s3:ListBucket', 'arn:aws:s3:::certs-state').map((r) => r.call.input.Key);
    expect(listed).toEqual(
      expect.arrayContaining(['certificates/web/state.json', 'certificates/web/pending-key.pem']),
    );
  });

  it('writes TXT records only at the challenge names of each zone, and assumes the cross-account role', () => {
    const z1 = find('route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z1');
    expect(z1.map((r) => r.request.context)).toEqual([
      {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.example.com'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        'route53:ChangeResourceRecordSetsActions': ['CREATE'],
      },
      {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.example.com'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        'route53:ChangeResourceRecordSetsActions': ['DELETE'],
      },
    ]);
    expect(
      find('route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z2')[0]!.request.context[
        'route53:ChangeResourceRecordSetsNormalizedRecordNames'
      ],
    ).toEqual(['example-com.acme.example.net']);
    expect(
      find('sts:AssumeRole', 'arn:aws:iam::210987654321:role/acme-dns')[0]!.request.context,
    ).toMatchObject({ 'sts:ExternalId': 'acme-ari-prod' });
    // The partner zone is written with the assumed role's credentials, not judged as the renewer's.
    expect(requests.some((r) => r.request.resource.includes('partner'))).toBe(false);
  });

  it('re-imports a known certificate in place, and has a region without one imported first', () => {
    const known = find('acm:ImportCertificate', `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/known`);
    expect(known[0]!.request.context).toEqual({
      'aws:ResourceTag/acme-ari:managed-by': 'acme-ari-prod',
      'aws:ResourceTag/acme-ari:certificate-id': 'web',
    });
    const invokes = find(
      'lambda:InvokeFunction',
      `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:acme-first-import`,
    );
    expect(invokes.map((r) => r.call.purpose)).toEqual([
      'ask the first-import function to create the certificate in us-east-1',
    ]);
  });

  it('asks the first-import function for the _validation-persist record of a dns-persist-01 certificate', () => {
    const persist = renewalRequests(
      renewalCalls({ ...subject, challenges: [], persistRecord: true }, deployment, RENEWER_NAMES),
      deployment,
    );
    expect(
      persist
        .filter((r) => r.request.action === 'lambda:InvokeFunction')
        .map((r) => [r.request.resource, r.call.purpose]),
    ).toEqual([
      [
        `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:acme-first-import`,
        'ask the first-import function to write the _validation-persist record',
      ],
      [
        `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:acme-first-import`,
        'ask the first-import function to create the certificate in us-east-1',
      ],
    ]);
    expect(persist.some((r) => r.request.action.startsWith('route53:Change'))).toBe(false);
  });

  it('reads the EAB secret and publishes the outcome on the deployment bus with the system source', () => {
    expect(find('secretsmanager:GetSecretValue', subject.eabSecretArn!)).toHaveLength(1);
    expect(
      find('events:PutEvents', `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/ops`)[0]!.request.context,
    ).toEqual({
      'events:source': ['acme-ari-aws'],
      'events:detail-type': ['Certificate Renewed', 'Certificate Renewal Failed'],
    });
  });
});
