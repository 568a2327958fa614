import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { STORE_KEY_PATTERNS } from '../../functions/adapters/s3-store';
import type { Inventory } from '../../functions/core/config/inventory';
import { DEPLOYMENT_KEY, type Deployment } from '../../functions/core/contracts/deployment';
import {
  acknowledgeWildcardActions,
  acknowledgeWildcardResources,
  wildcardsOf,
} from './nag-acknowledgements';

/** Properties of {@link StateStore}. */
export interface StateStoreProps {
  readonly serviceName: string;
  /** `kms`: a customer-managed state key for what is not key material; `s3-managed`: SSE-S3 for it. */
  readonly encryption: 'kms' | 's3-managed';
  readonly noncurrentVersionRetention: Duration;
  readonly serverAccessLogsBucket?: s3.IBucket;
}

/** Who reads and writes what in the state bucket; each function gets exactly its row. */
type Access = 'scheduler' | 'renewer' | 'first-import';

/**
 * The state: one versioned bucket and one or two KMS keys. The key-material key encrypts private keys, pending keys
 * and ACME account keys, and only the functions that use key material may use it — the scheduler can never decrypt
 * them, whatever its S3 permissions; the bucket policy refuses to store those objects under any other encryption.
 * The bucket default encrypts the rest — the inventory, state documents, the schedule index, change markers, leases
 * and the certificates and chains, none of them secret — with SSE-S3, or with a state key under `encryption: 'kms'`.
 * Only the deployment writes `inventory.json` and `deployment.json`.
 */
export class StateStore extends Construct {
  /** Bucket default key under `encryption: 'kms'` (and then the alarm topic's); absent with SSE-S3. */
  readonly stateKey: kms.Key | undefined;
  /** Private keys, pending keys and ACME account keys. */
  readonly keyMaterialKey: kms.Key;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StateStoreProps) {
    super(scope, id);
    this.stateKey =
      props.encryption === 'kms'
        ? new kms.Key(this, 'StateKey', {
            description: `acme-ari ${props.serviceName}: state documents, certificates and alarm notifications`,
            enableKeyRotation: true,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : undefined;
    this.keyMaterialKey = new kms.Key(this, 'KeyMaterialKey', {
      description: `acme-ari ${props.serviceName}: certificate private keys and ACME account keys`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...(this.stateKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.stateKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Private keys and ACME accounts live here: never delete them with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-replaced-versions',
          noncurrentVersionExpiration: props.noncurrentVersionRetention,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
      ],
      ...(props.serverAccessLogsBucket
        ? { serverAccessLogsBucket: props.serverAccessLogsBucket, serverAccessLogsPrefix: 'acme-ari-state/' }
        : {}),
    });
    // Key material only ever under the key-material key: a write without it (a missing KEY_MATERIAL_KMS_KEY_ID, a
    // bug, another principal) is refused instead of landing under the bucket default that more roles can read.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'KeyMaterialOnlyUnderItsKey',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: STORE_KEY_PATTERNS.keyMaterial.map((p) => this.bucket.arnForObjects(p)),
        conditions: {
          StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': this.keyMaterialKey.keyArn },
        },
      }),
    );
    if (!props.serverAccessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Object reads are recorded by CloudTrail data events when the account enables them for this bucket (docs/security.md shows how); pass serverAccessLogsBucket for S3 access logs.',
      });
    }
  }

  /**
   * Writes the validated inventory and the deployment document on every deploy. The upload function gets its own
   * role and log group, so what it may do is visible and acknowledged here.
   */
  upload(inventory: Inventory, deployment: Deployment): void {
    const logGroup = new logs.LogGroup(this, 'UploadLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'UploadRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Uploads the acme-ari inventory and deployment document',
    });
    logGroup.grantWrite(role);
    new s3deploy.BucketDeployment(this, 'Upload', {
      sources: [
        s3deploy.Source.jsonData(STORE_KEY_PATTERNS.inventory, inventory),
        s3deploy.Source.jsonData(DEPLOYMENT_KEY, deployment),
      ],
      destinationBucket: this.bucket,
      // The bucket also holds certificates, keys and state: pruning would delete them on every deploy.
      prune: false,
      retainOnDelete: true,
      role,
      logGroup,
    });
    const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (policy) {
      const { actions, resources } = wildcardsOf(this, policy.document);
      const reason =
        'CDK BucketDeployment grants: read of the CDK asset bucket (the inventory zip) and write to the state bucket; it runs only during deployments.';
      acknowledgeWildcardActions(role, actions, reason);
      for (const resource of resources) {
        Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
      }
    }
    // The deployment function is a stack-wide singleton that CDK owns; its Python runtime is CDK's choice.
    const handler = Stack.of(this)
      .node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'))
      ?.node.tryFindChild('Resource');
    if (handler) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-L1',
        reason: "CDK's BucketDeployment function; its runtime is pinned by aws-cdk-lib and updated with it.",
      });
    }
  }

  /** Grants one function exactly what it reads and writes; see the table in docs/security.md. */
  grant(role: iam.IRole, access: Access): void {
    const objects = (patterns: readonly string[]) => patterns.map((p) => this.bucket.arnForObjects(p));
    const P = STORE_KEY_PATTERNS;
    const rows: Record<Access, { read: string[]; write: string[]; remove: string[]; keyMaterial: boolean }> =
      {
        // The schedule index is the scheduler's alone; deleting a marker at a version also needs its read.
        scheduler: {
          read: [P.inventory, P.state, P.scheduleIndex, P.changes],
          write: [P.state, P.scheduleIndex],
          remove: [P.changes],
          keyMaterial: false,
        },
        renewer: {
          read: [P.inventory, 'certificates/*', 'accounts/*', P.leases],
          write: ['certificates/*', 'accounts/*', P.leases, P.changes],
          remove: [P.pendingKey, P.leases],
          keyMaterial: true,
        },
        'first-import': {
          read: [P.inventory, ...P.certificates, 'certificates/*/privkey.pem'],
          write: [],
          remove: [],
          keyMaterial: true,
        },
      };
    const row = rows[access];
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadState', actions: ['s3:GetObject'], resources: objects(row.read) }),
    );
    if (row.write.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteState',
          actions: ['s3:PutObject'],
          resources: objects(row.write),
        }),
      );
    }
    if (row.remove.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DeleteCheckpoints',
          actions: ['s3:DeleteObject'],
          resources: objects(row.remove),
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Without ListBucket a missing object answers 403 instead of 404, and "no state yet" looks like a denial.
        sid: 'StateListing',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.stateKey?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    if (row.keyMaterial) this.keyMaterialKey.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    const wildcards = [...new Set([...row.read, ...row.write, ...row.remove])].filter((p) => p.includes('*'));
    acknowledgeWildcardResources(
      role,
      objects(wildcards),
      'State bucket objects by kind (per-certificate keys are not known at deploy time); the patterns follow STORE_KEY_PATTERNS and the IAM simulation proves nothing else is reachable.',
    );
  }
}
