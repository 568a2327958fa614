import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

import { CERTIFICATE_ID_TAG, MANAGED_BY_TAG } from '../../functions/adapters/acm-importer';

// One source of truth: the importer writes these tags, the policy here conditions on them.
export { CERTIFICATE_ID_TAG, MANAGED_BY_TAG };

/** The only record names the renewer may touch: RFC 8555 §8.4 "_acme-challenge" TXT records. */
export const ACME_CHALLENGE_RECORD_PATTERN = '_acme-challenge.*';

/**
 * Route 53 permissions for dns-01: record changes only in the given zones, only TXT records under
 * `_acme-challenge.`, only create/upsert/delete.
 * @see RFC 8555 §8.4 ("The client constructs the validation domain name by prepending the label
 * "_acme-challenge" to the domain name being validated")
 */
export function route53Statements(scope: IConstruct, hostedZoneIds: readonly string[]): PolicyStatement[] {
  const stack = Stack.of(scope);
  const zoneArns = hostedZoneIds.map((id) =>
    stack.formatArn({
      service: 'route53',
      region: '',
      account: '',
      resource: 'hostedzone',
      resourceName: id,
    }),
  );
  return [
    new PolicyStatement({
      sid: 'AcmeChallengeRecordsOnly',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: zoneArns,
      conditions: {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [ACME_CHALLENGE_RECORD_PATTERN],
        },
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
          'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
        },
      },
    }),
    new PolicyStatement({
      sid: 'ReadManagedZones',
      actions: ['route53:ListResourceRecordSets'],
      resources: zoneArns,
    }),
    new PolicyStatement({
      sid: 'WaitForChangeInSync',
      actions: ['route53:GetChange'],
      resources: [
        stack.formatArn({
          service: 'route53',
          region: '',
          account: '',
          resource: 'change',
          resourceName: '*',
        }),
      ],
    }),
    new PolicyStatement({
      sid: 'FindZoneForDomain',
      actions: ['route53:ListHostedZones', 'route53:ListHostedZonesByName'],
      resources: ['*'],
    }),
  ];
}

/**
 * ACM permissions: a first import must tag the certificate as ours; re-import, describe and tag reads are
 * limited to certificates that already carry that tag, so the renewer cannot overwrite a certificate someone
 * else imported or requested.
 */
export function acmStatements(
  scope: IConstruct,
  regions: readonly string[],
  serviceName: string,
): PolicyStatement[] {
  const stack = Stack.of(scope);
  const certificateArns = regions.map((region) =>
    stack.formatArn({
      service: 'acm',
      region,
      resource: 'certificate',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  );
  return [
    new PolicyStatement({
      sid: 'FirstImportMustBeTagged',
      // ImportCertificate with Tags is also authorized as AddTagsToCertificate.
      actions: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      resources: certificateArns,
      conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG}`]: serviceName } },
    }),
    new PolicyStatement({
      sid: 'ReimportAndReadOwnCertificates',
      actions: ['acm:ImportCertificate', 'acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      resources: certificateArns,
      conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: serviceName } },
    }),
    new PolicyStatement({
      sid: 'FindOwnCertificates',
      actions: ['acm:ListCertificates'],
      resources: ['*'],
    }),
  ];
}

/** PutEvents on one bus, and only events whose source is this system's. */
export function putEventsStatement(eventBusArn: string, source: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'PublishRenewalEvents',
    actions: ['events:PutEvents'],
    resources: [eventBusArn],
    conditions: { StringEquals: { 'events:source': source } },
  });
}

/** sts:AssumeRole on exactly the cross-account zone roles named in the inventory. */
export function assumeZoneRolesStatement(roleArns: readonly string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'AssumeZoneRoles',
    effect: Effect.ALLOW,
    actions: ['sts:AssumeRole'],
    resources: [...roleArns],
  });
}
