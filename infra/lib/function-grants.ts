import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../functions/adapters/eventbridge-publisher';
import { challengeOf, type Inventory, usesDns01 } from '../../functions/core/config/inventory';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import {
  acmCertificateArns,
  acmFirstImportStatements,
  acmRenewerStatements,
  assumeZoneRolesStatement,
  challengeRecordNames,
  persistRecordNames,
  persistRecordStatements,
  putEventsStatement,
  route53ChangeArn,
  route53Statements,
} from './renewer-permissions';

/** What the renewer's grants are computed from. */
export interface RenewerGrants {
  readonly serviceName: string;
  readonly inventory: Inventory;
  readonly hostedZoneIds: readonly string[];
  readonly delegatedChallengeNames: readonly string[];
  readonly zoneRoleArns: readonly string[];
  readonly zoneRoleExternalId: string;
  readonly regions: readonly string[];
  readonly eventBus: events.IEventBus;
  readonly eabSecrets: readonly ISecret[];
  readonly eabSecretArns: readonly string[];
  readonly firstImportFunction: lambda.Function;
}

const GET_CHANGE_ACK =
  'route53:GetChange: change ids are generated per change batch; a change id grants no access to records.';

const ACM_ACK =
  'ACM ARNs are unknown before import; every statement on them is conditioned on the acme-ari:managed-by tag (request tag for first imports, resource tag otherwise).';

/** The renewer's AWS permissions beyond the state bucket (see the table in docs/security.md). */
export function grantRenewer(scope: Construct, fn: lambda.Function, grants: RenewerGrants): void {
  const role = fn.role!;
  // dns-01 writes only for the certificates that may answer dns-01: with every certificate on dns-persist-01
  // (dns01Fallback false) the renewer holds no Route 53 permission at all.
  const dns01Domains = grants.inventory.certificates
    .filter((c) => usesDns01(grants.inventory, c))
    .flatMap((c) => c.domains);
  if (
    grants.hostedZoneIds.length > 0 &&
    (dns01Domains.length > 0 || grants.delegatedChallengeNames.length > 0)
  ) {
    const names = [...challengeRecordNames(dns01Domains), ...grants.delegatedChallengeNames];
    for (const statement of route53Statements(scope, grants.hostedZoneIds, names))
      role.addToPrincipalPolicy(statement);
    acknowledgeWildcardResources(role, [route53ChangeArn(scope)], GET_CHANGE_ACK);
  }
  for (const statement of acmRenewerStatements(scope, grants.regions, grants.serviceName))
    role.addToPrincipalPolicy(statement);
  role.addToPrincipalPolicy(putEventsStatement(grants.eventBus.eventBusArn, EVENT_SOURCE));
  if (grants.zoneRoleArns.length > 0)
    role.addToPrincipalPolicy(assumeZoneRolesStatement(grants.zoneRoleArns, grants.zoneRoleExternalId));
  const secrets = [
    ...grants.eabSecrets,
    ...grants.eabSecretArns.map((arn, index) =>
      // A complete ARN ends in the 6-character suffix Secrets Manager adds; a partial one needs a wildcard.
      /-[A-Za-z0-9]{6}$/.test(arn)
        ? secretsmanager.Secret.fromSecretCompleteArn(scope, `EabSecret${index}`, arn)
        : secretsmanager.Secret.fromSecretPartialArn(scope, `EabSecret${index}`, arn),
    ),
  ];
  for (const secret of secrets) secret.grantRead(role);
  grants.firstImportFunction.grantInvoke(role);

  acknowledgeWildcardResources(
    role,
    ['*'],
    'route53:ListHostedZones and acm:ListCertificates support no resource-level permissions (Service Authorization Reference); they only list names.',
  );
  acknowledgeWildcardResources(role, acmCertificateArns(scope, grants.regions), ACM_ACK);
  acknowledgeWildcardResources(
    role,
    [`${grants.firstImportFunction.functionArn}:*`],
    'grantInvoke covers the first-import function and its versions; the renewer invokes only that function.',
  );
}

/**
 * The first-import function's permissions beyond the state bucket: tagged first imports only, and UPSERT of the
 * `_validation-persist` records of the certificates that use dns-persist-01 (the persist-record step runs here).
 */
export function grantFirstImport(
  scope: Construct,
  fn: lambda.Function,
  grants: {
    readonly serviceName: string;
    readonly inventory: Inventory;
    readonly regions: readonly string[];
    /** The inventory's hosted zones; the persistent records are written only there. @default none */
    readonly hostedZoneIds?: readonly string[];
  },
): void {
  const role = fn.role!;
  const persistDomains = grants.inventory.certificates
    .filter((c) => challengeOf(grants.inventory, c) === 'dns-persist-01')
    .flatMap((c) => c.domains);
  const zones = grants.hostedZoneIds ?? [];
  if (persistDomains.length > 0 && zones.length > 0) {
    for (const statement of persistRecordStatements(scope, zones, persistRecordNames(persistDomains)))
      role.addToPrincipalPolicy(statement);
    acknowledgeWildcardResources(role, [route53ChangeArn(scope)], GET_CHANGE_ACK);
  }
  const tagKeys = [...new Set(grants.inventory.certificates.flatMap((c) => Object.keys(c.tags)))];
  for (const statement of acmFirstImportStatements(scope, grants.regions, grants.serviceName, tagKeys))
    role.addToPrincipalPolicy(statement);
  acknowledgeWildcardResources(role, ['*'], 'acm:ListCertificates supports no resource-level permissions.');
  acknowledgeWildcardResources(role, acmCertificateArns(scope, grants.regions), ACM_ACK);
}
