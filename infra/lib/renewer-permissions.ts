import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

import { CERTIFICATE_ID_TAG, MANAGED_BY_TAG } from '../../functions/adapters/acm-importer';
import { dnsPersistRecordName } from '../../functions/core/acme/dns-persist';
import { dns01RecordName } from '../../functions/core/acme/dns01';
import { EVENTS_PUBLISHED_BY, type EventDetailType } from '../../functions/core/contracts/events';

// One source of truth: the importer writes these tags, the policy here conditions on them.
export { CERTIFICATE_ID_TAG, MANAGED_BY_TAG };

/**
 * The exact `_acme-challenge` names of an inventory, as Route 53 normalizes them (lower case, no trailing dot):
 * a wildcard and its base domain share one name.
 * @see RFC 8555 §8.4 ("The client constructs the validation domain name by prepending the label
 * "_acme-challenge" to the domain name being validated")
 */
export function challengeRecordNames(domains: readonly string[]): string[] {
  const names = domains.map((d) => dns01RecordName(d.replace(/\.$/, '').toLowerCase()));
  return [...new Set(names)].sort();
}

/**
 * Route 53 permissions for dns-01: record changes only in the given zones, only TXT records at exactly the
 * inventory's `_acme-challenge` names (plus any delegation targets the operator names, which synthesis cannot
 * know), only create/upsert/delete; zone lookups for those zones.
 */
export function route53Statements(
  scope: IConstruct,
  hostedZoneIds: readonly string[],
  recordNames: readonly string[],
): PolicyStatement[] {
  const zoneArns = hostedZoneArns(scope, hostedZoneIds);
  const exact = recordNames.filter((n) => !n.includes('*'));
  const patterns = recordNames.filter((n) => n.includes('*'));
  const actions = ['CREATE', 'UPSERT', 'DELETE'];
  return [
    ...(exact.length > 0
      ? [txtChangeStatement('AcmeChallengeRecordsOnly', zoneArns, 'StringEquals', exact, actions)]
      : []),
    ...(patterns.length > 0
      ? [txtChangeStatement('DelegatedChallengeRecords', zoneArns, 'StringLike', patterns, actions)]
      : []),
    ...route53ReadStatements(scope, zoneArns),
  ];
}

/**
 * The exact `_validation-persist` names of some domains, as Route 53 normalizes them; a wildcard and its base
 * domain share one name.
 * @see draft-ietf-acme-dns-persist §3.1 (the `_validation-persist` label)
 */
export function persistRecordNames(domains: readonly string[]): string[] {
  return [...new Set(domains.map(dnsPersistRecordName))].sort();
}

/**
 * Route 53 permissions of the persist-record step (dns-persist-01): UPSERT of TXT records at exactly the given
 * `_validation-persist` names in the given zones, nothing else; zone lookups for those zones. The renewer never
 * holds this: it asks the first-import function to write.
 */
export function persistRecordStatements(
  scope: IConstruct,
  hostedZoneIds: readonly string[],
  recordNames: readonly string[],
): PolicyStatement[] {
  const zoneArns = hostedZoneArns(scope, hostedZoneIds);
  return [
    txtChangeStatement('PersistRecordsUpsertOnly', zoneArns, 'StringEquals', recordNames, ['UPSERT']),
    ...route53ReadStatements(scope, zoneArns),
  ];
}

/** ChangeResourceRecordSets on the zones, only TXT, only the given actions, only at the given names. */
function txtChangeStatement(
  sid: string,
  zoneArns: readonly string[],
  operator: 'StringEquals' | 'StringLike',
  names: readonly string[],
  actions: readonly string[],
): PolicyStatement {
  const typesAndActions = {
    'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
    'route53:ChangeResourceRecordSetsActions': [...actions],
  };
  const byName = { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...names] };
  // Both operators may be ForAllValues:StringEquals: build the condition block per operator, then merge keys.
  const conditions =
    operator === 'StringEquals'
      ? { 'ForAllValues:StringEquals': { ...byName, ...typesAndActions } }
      : { 'ForAllValues:StringLike': byName, 'ForAllValues:StringEquals': typesAndActions };
  return new PolicyStatement({
    sid,
    actions: ['route53:ChangeResourceRecordSets'],
    resources: [...zoneArns],
    conditions,
  });
}

/** Reading the zones' record sets, waiting for a change to be INSYNC, and finding the zone of a name. */
function route53ReadStatements(scope: IConstruct, zoneArns: readonly string[]): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ReadManagedZones',
      actions: ['route53:ListResourceRecordSets', 'route53:GetHostedZone'],
      resources: [...zoneArns],
    }),
    new PolicyStatement({
      sid: 'WaitForChangeInSync',
      actions: ['route53:GetChange'],
      resources: [route53ChangeArn(scope)],
    }),
    new PolicyStatement({
      sid: 'FindZoneForDomain',
      actions: ['route53:ListHostedZones'],
      resources: ['*'],
    }),
  ];
}

function hostedZoneArns(scope: IConstruct, hostedZoneIds: readonly string[]): string[] {
  const stack = Stack.of(scope);
  return hostedZoneIds.map((id) =>
    stack.formatArn({
      service: 'route53',
      region: '',
      account: '',
      resource: 'hostedzone',
      resourceName: id,
    }),
  );
}

/**
 * Every Route 53 change (`arn:aws:route53:::change/*`): change ids are generated per batch, so GetChange cannot be
 * scoped further. One definition for the statement and its cdk-nag acknowledgement.
 */
export function route53ChangeArn(scope: IConstruct): string {
  return Stack.of(scope).formatArn({
    service: 'route53',
    region: '',
    account: '',
    resource: 'change',
    resourceName: '*',
  });
}

/**
 * Every ACM certificate of this account in the given regions (`…:certificate/*`): ARNs are unknown before import.
 * One definition for the statements and their cdk-nag acknowledgements.
 */
export function acmCertificateArns(scope: IConstruct, regions: readonly string[]): string[] {
  const stack = Stack.of(scope);
  return regions.map((region) =>
    stack.formatArn({
      service: 'acm',
      region,
      resource: 'certificate',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  );
}

/**
 * The renewer's ACM permissions: re-import, describe and tag reads only of certificates that carry this
 * deployment's managed-by tag, and no tagging at all — so it can neither re-import over a certificate it did not
 * create nor make one look like its own. New certificates come from the first-import function.
 */
export function acmRenewerStatements(
  scope: IConstruct,
  regions: readonly string[],
  serviceName: string,
): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ReimportAndReadOwnCertificates',
      actions: ['acm:ImportCertificate', 'acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      resources: acmCertificateArns(scope, regions),
      conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: serviceName } },
    }),
    new PolicyStatement({
      sid: 'FindOwnCertificates',
      actions: ['acm:ListCertificates'],
      resources: ['*'],
    }),
  ];
}

/**
 * The first-import function's ACM permissions: import only with this deployment's managed-by tag in the request
 * (ImportCertificate with tags is also authorized as AddTagsToCertificate) and only the tag keys the inventory
 * uses. IAM cannot tell a new certificate from someone else's here, which is why this runs in a function of its
 * own whose code only ever creates (docs/security.md).
 */
export function acmFirstImportStatements(
  scope: IConstruct,
  regions: readonly string[],
  serviceName: string,
  tagKeys: readonly string[],
): PolicyStatement[] {
  const arns = acmCertificateArns(scope, regions);
  return [
    new PolicyStatement({
      sid: 'FirstImportMustBeTagged',
      actions: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      resources: arns,
      conditions: {
        StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG}`]: serviceName },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': [...new Set([MANAGED_BY_TAG, CERTIFICATE_ID_TAG, ...tagKeys])].sort(),
        },
      },
    }),
    new PolicyStatement({
      sid: 'FindOwnCertificates',
      actions: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      resources: arns,
      conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: serviceName } },
    }),
    new PolicyStatement({ sid: 'ListCertificates', actions: ['acm:ListCertificates'], resources: ['*'] }),
  ];
}

/**
 * PutEvents on one bus, and only events whose source is this system's and whose detail type is one the
 * function publishes (functions/core/contracts/events.ts).
 * @see Service Authorization Reference, Amazon EventBridge: `events:source` and `events:detail-type` are
 *   ArrayOfString keys
 */
export function putEventsStatement(
  eventBusArn: string,
  source: string,
  detailTypes: readonly EventDetailType[] = EVENTS_PUBLISHED_BY.renewer,
): PolicyStatement {
  return new PolicyStatement({
    sid: 'PublishRenewalEvents',
    actions: ['events:PutEvents'],
    resources: [eventBusArn],
    // events:source is multivalued (one value per entry of the batch): every entry must carry our source, and
    // ForAnyValue keeps the empty set (which ForAllValues alone would allow) out.
    conditions: {
      'ForAllValues:StringEquals': { 'events:source': [source], 'events:detail-type': [...detailTypes] },
      'ForAnyValue:StringEquals': { 'events:source': [source] },
    },
  });
}

/**
 * sts:AssumeRole on exactly the cross-account zone roles named in the inventory, and only with this deployment's
 * external id (the target role's trust policy should require it; docs/security.md).
 */
export function assumeZoneRolesStatement(roleArns: readonly string[], externalId: string): PolicyStatement {
  return new PolicyStatement({
    sid: 'AssumeZoneRoles',
    effect: Effect.ALLOW,
    actions: ['sts:AssumeRole'],
    resources: [...roleArns],
    conditions: { StringEquals: { 'sts:ExternalId': externalId } },
  });
}
