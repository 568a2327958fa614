import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConfigError, type Inventory } from '../../functions/core/config/inventory';
import { AcmeCa } from './acme-ca';
import { addDashboard } from './acme-dashboard';
import { BUNDLING, DEPS_LOCK_FILE, HANDLER_ENTRIES, LAMBDA_RUNTIME, PROJECT_ROOT } from './lambda-bundling';
import {
  acknowledgeWildcardActions,
  acknowledgeWildcardResources,
  wildcardsOf,
} from './nag-acknowledgements';
import {
  acmStatements,
  assumeZoneRolesStatement,
  putEventsStatement,
  route53Statements,
} from './renewer-permissions';
import { type InventoryInput, resolveInventory } from './resolve-inventory';

/** S3 key of the inventory document the scheduler and renewer read (the `INVENTORY_KEY` environment value). */
export const INVENTORY_KEY = 'inventory.json';

/** EventBridge `source` of the events the renewer publishes. */
export const EVENT_SOURCE = 'acme-ari-aws';

/** Metric namespace used when none is given. */
export const DEFAULT_METRICS_NAMESPACE = 'AcmeAri';

/** Thresholds of the alarms the construct creates. */
export interface AcmeAlarmThresholds {
  /**
   * Alarm when the soonest-expiring certificate (scheduler metric `MinDaysToExpiry`) has fewer days left.
   * @default 14
   */
  readonly minDaysToExpiry?: number;
  /**
   * Alarm when ACM's own `DaysToExpiry` for a known certificate ARN is below this.
   * @default - the same as `minDaysToExpiry`
   */
  readonly acmDaysToExpiry?: number;
  /**
   * Alarm when at least this many renewals failed within five minutes.
   * @default 1
   */
  readonly renewalFailures?: number;
}

/** Properties of {@link AcmeCertificates}. */
export interface AcmeCertificatesProps {
  /**
   * The certificates to keep issued (and optional named CAs), in the `certificates.json` format; validated with
   * the same schema the functions use, so a bad entry fails synthesis naming the entry and field.
   */
  readonly inventory: InventoryInput;
  /**
   * Name of the inventory's source, used in validation errors.
   * @default 'inventory'
   */
  readonly inventorySource?: string;
  /**
   * CA for every certificate that names none.
   * @default AcmeCa.letsEncrypt()
   */
  readonly ca?: AcmeCa;
  /**
   * Further CAs certificates may name in their `ca` field (e.g. a ZeroSSL CA with EAB taken from Secrets Manager).
   * @default - only `ca`, the presets and the inventory's own `cas`
   */
  readonly additionalCas?: readonly AcmeCa[];
  /**
   * How often the scheduler checks ARI and expiry; the heartbeat alarm fires after two missed runs.
   * Between 5 minutes and 12 hours.
   * @default Duration.hours(1)
   */
  readonly scheduleInterval?: Duration;
  /**
   * Renewals that may run at once (reserved concurrency of the renewer); keeps CA and Route 53 rate limits.
   * @default 2
   */
  readonly renewerConcurrency?: number;
  /**
   * ARI requests the scheduler sends at once (`ARI_CONCURRENCY`).
   * @default 10
   */
  readonly ariConcurrency?: number;
  /**
   * Which certificates get their own `DaysToExpiry` metric (one CloudWatch custom metric each, the largest cost
   * at scale: see bench/results.md). `'near-expiry'` publishes it only for certificates with at most
   * `perCertificateMetricDays` left, so the dashboard shows the ones that need attention; the
   * `MinDaysToExpiry` alarm covers every certificate either way.
   * @default 'all'
   */
  readonly perCertificateMetrics?: 'all' | 'near-expiry';
  /**
   * Days left under which `'near-expiry'` publishes a certificate's `DaysToExpiry`.
   * @default 30
   */
  readonly perCertificateMetricDays?: number;
  /**
   * Regions to import into for certificates whose inventory entry lists none.
   * @default - the stack's region
   */
  readonly acmRegions?: readonly string[];
  /**
   * Alarm thresholds.
   * @default - see {@link AcmeAlarmThresholds}
   */
  readonly alarmThresholds?: AcmeAlarmThresholds;
  /**
   * Existing topic for the alarms.
   * @default - a new KMS-encrypted topic
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly notificationEmail?: string;
  /**
   * Hosted zones the renewer may write `_acme-challenge` TXT records in.
   * @default - every zone id in the inventory's `hostedZones`
   */
  readonly hostedZoneIds?: readonly string[];
  /**
   * ACM certificate ARNs already known, by inventory id, to alarm on ACM's own `DaysToExpiry` (same region).
   * @default - no ACM alarms
   */
  readonly knownCertificateArns?: Readonly<Record<string, string>>;
  /**
   * Bus the renewer publishes `Certificate Renewed` / `Certificate Renewal Failed` events to.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Service name of the functions (`POWERTOOLS_SERVICE_NAME`), the metrics' `service` dimension and the value
   * of the `acme-ari:managed-by` tag on imported certificates. Must be unique per construct instance.
   * @default - derived from the construct path
   */
  readonly serviceName?: string;
  /**
   * CloudWatch namespace of the functions' metrics.
   * @default 'AcmeAri'
   */
  readonly metricsNamespace?: string;
  /**
   * Log level of the functions (`POWERTOOLS_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How many times a renewal message is received before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long replaced versions of state objects (certificates, keys, state documents) are kept.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * Bucket receiving the state bucket's server access logs.
   * @default - no access logs (API access is in CloudTrail)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
}

const RENEWER_TIMEOUT = Duration.minutes(15);
const SCHEDULER_TIMEOUT = Duration.minutes(5);

/**
 * Keeps ACME certificates issued and renewed inside an AWS account: an EventBridge Scheduler schedule runs the
 * scheduler function (ARI checks), due certificates go through an SQS queue to the renewer function (DNS-01
 * via Route 53, S3 state, ACM import), and CloudWatch alarms report failures and approaching expiry.
 */
export class AcmeCertificates extends Construct {
  /** The validated inventory that is uploaded to the state bucket. */
  readonly inventory: Inventory;
  /** Service name (metrics dimension, log service and `acme-ari:managed-by` tag value). */
  readonly serviceName: string;
  /** CloudWatch namespace of the functions' metrics. */
  readonly metricsNamespace: string;
  /** KMS key of the state bucket and the alarm topic. */
  readonly key: kms.Key;
  /** Versioned, KMS-encrypted bucket with the inventory, certificates, keys and state documents. */
  readonly bucket: s3.Bucket;
  /** Queue of due renewals (`{ id, reason }` JSON messages). */
  readonly queue: sqs.Queue;
  /** Renewals that failed `maxReceiveCount` times. */
  readonly deadLetterQueue: sqs.Queue;
  /** Checks ARI and expiry, enqueues due certificates. */
  readonly schedulerFunction: NodejsFunction;
  /** Renews one certificate per message. */
  readonly renewerFunction: NodejsFunction;
  /** Topic the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /** Every alarm created. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Dashboard with days to expiry per certificate, renewals and ARI checks. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AcmeCertificatesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const interval = props.scheduleInterval ?? Duration.hours(1);
    validateInterval(interval);
    const concurrency = props.renewerConcurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigError('AcmeCertificates props', [
        { path: 'renewerConcurrency', message: 'must be a whole number of at least 1' },
      ]);
    }
    this.serviceName =
      props.serviceName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }).toLowerCase();
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const namespace = this.metricsNamespace;

    const resolved = resolveInventory(props.inventory, {
      source: props.inventorySource ?? 'inventory',
      defaultCa: props.ca ?? AcmeCa.letsEncrypt(),
      cas: props.additionalCas ?? [],
      ...(props.acmRegions ? { acmRegions: props.acmRegions } : {}),
    });
    this.inventory = resolved.inventory;
    const hostedZoneIds = props.hostedZoneIds ?? resolved.hostedZoneIds;
    if (hostedZoneIds.length === 0 && resolved.zoneRoleArns.length === 0) {
      throw new ConfigError(props.inventorySource ?? 'inventory', [
        {
          path: 'certificates',
          message:
            'no hosted zone to grant: set "hostedZones" on the certificates or the hostedZoneIds prop, so the renewer may write only there',
        },
      ]);
    }

    this.key = new kms.Key(this, 'Key', {
      description: `acme-ari ${this.serviceName}: certificate state and alarm notifications`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'StateBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
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
          noncurrentVersionExpiration: props.noncurrentVersionRetention ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
      ],
      ...(props.serverAccessLogsBucket
        ? { serverAccessLogsBucket: props.serverAccessLogsBucket, serverAccessLogsPrefix: 'acme-ari-state/' }
        : {}),
    });
    if (!props.serverAccessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Only the two functions of this construct use the bucket and every API call is in CloudTrail; pass serverAccessLogsBucket to add S3 access logs.',
      });
    }

    this.uploadInventory();

    this.deadLetterQueue = new sqs.Queue(this, 'RenewalDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the renewal queue.',
    });
    this.queue = new sqs.Queue(this, 'RenewalQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda event sources: at least six times the function timeout, so a throttled or
      // retried batch never becomes visible while a renewal is still working on it.
      visibilityTimeout: Duration.minutes(RENEWER_TIMEOUT.toMinutes() * 6 + 5),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const commonEnv = {
      STATE_BUCKET: this.bucket.bucketName,
      INVENTORY_KEY,
      KMS_KEY_ID: this.key.keyArn,
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: namespace,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;

    this.schedulerFunction = this.createFunction('Scheduler', {
      entry: HANDLER_ENTRIES.scheduler,
      timeout: SCHEDULER_TIMEOUT,
      memorySize: 512,
      logRetention,
      description: 'Checks ACME Renewal Information and expiry; enqueues due certificates',
      environment: {
        ...commonEnv,
        RENEWAL_QUEUE_URL: this.queue.queueUrl,
        ARI_CONCURRENCY: String(props.ariConcurrency ?? 10),
        PER_CERTIFICATE_METRICS: props.perCertificateMetrics ?? 'all',
        PER_CERTIFICATE_METRIC_DAYS: String(props.perCertificateMetricDays ?? 30),
        SCHEDULE_INTERVAL_MINUTES: String(interval.toMinutes()),
      },
    });
    this.renewerFunction = this.createFunction('Renewer', {
      entry: HANDLER_ENTRIES.renewer,
      timeout: RENEWER_TIMEOUT,
      memorySize: 1024,
      logRetention,
      reservedConcurrentExecutions: concurrency,
      description: 'Renews one certificate: ACME order, DNS-01 in Route 53, S3 state, ACM import',
      environment: { ...commonEnv, EVENT_BUS_NAME: eventBus.eventBusName },
    });

    this.grantStateAccess(this.schedulerFunction);
    this.grantStateAccess(this.renewerFunction);
    this.queue.grantSendMessages(this.schedulerFunction);
    this.renewerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        // Lambda's SQS poller otherwise scales past the reserved concurrency and throttled messages count
        // towards maxReceiveCount; the poller's own limit must be at least 2.
        ...(concurrency >= 2 ? { maxConcurrency: concurrency } : {}),
      }),
    );
    this.grantRenewer(stack, props, resolved, hostedZoneIds, eventBus);

    // An own role instead of the stack-wide singleton, so its one permission is reviewed here.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `EventBridge Scheduler: invokes the acme-ari scheduler (${this.serviceName})`,
    });
    new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.rate(interval),
      description: `Runs the acme-ari scheduler (${this.serviceName})`,
      target: new LambdaInvoke(this.schedulerFunction, {
        role: scheduleRole,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(Math.max(1, Math.min(interval.toMinutes(), 60))),
      }),
    });
    acknowledgeWildcardResources(
      scheduleRole,
      [`${this.schedulerFunction.functionArn}:*`],
      'LambdaInvoke grants the function and its versions/aliases; the schedule invokes only this one function.',
    );

    this.alarmTopic = props.alarmTopic ?? this.createTopic();
    if (props.notificationEmail) {
      this.alarmTopic.addSubscription(new EmailSubscription(props.notificationEmail));
    }
    this.createAlarms(props, interval);
    this.dashboard = addDashboard(this, {
      namespace,
      serviceName: this.serviceName,
      certificateIds: this.inventory.certificates.map((c) => c.id),
      interval,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      functions: [this.schedulerFunction, this.renewerFunction],
      alarms: this.alarms,
    });
  }

  /** One metric the functions publish, with the `service` dimension of this instance. */
  metric(
    metricName: string,
    options: { statistic: string; period: Duration; dimensions?: Record<string, string> },
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      statistic: options.statistic,
      period: options.period,
      dimensionsMap: { service: this.serviceName, ...(options.dimensions ?? {}) },
    });
  }

  private createFunction(
    name: string,
    options: {
      entry: string;
      timeout: Duration;
      memorySize: number;
      logRetention: logs.RetentionDays;
      description: string;
      environment: Record<string, string>;
      reservedConcurrentExecutions?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${name}Logs`, {
      retention: options.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    const role = new iam.Role(this, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `acme-ari ${name.toLowerCase()} function (${this.serviceName})`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, name, {
      entry: `${PROJECT_ROOT}/${options.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: DEPS_LOCK_FILE,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: options.timeout,
      memorySize: options.memorySize,
      description: options.description,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: options.environment,
      bundling: BUNDLING,
      ...(options.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: options.reservedConcurrentExecutions }
        : {}),
    });
    return fn;
  }

  /**
   * Uploads the validated inventory to `s3://<bucket>/inventory.json` on every deploy. The deployment function
   * gets its own role and log group, so what it may do is visible and acknowledged here.
   */
  private uploadInventory(): void {
    const logGroup = new logs.LogGroup(this, 'InventoryUploadLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'InventoryUploadRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Uploads the acme-ari inventory (${this.serviceName})`,
    });
    logGroup.grantWrite(role);
    new s3deploy.BucketDeployment(this, 'InventoryUpload', {
      sources: [s3deploy.Source.jsonData(INVENTORY_KEY, this.inventory)],
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

  /** Object read/write on the state bucket and use of its key; nothing else in S3 or KMS. */
  private grantStateAccess(fn: NodejsFunction): void {
    const role = fn.role!;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StateObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Without ListBucket a missing object answers 403 instead of 404, and "no state yet" looks like a denial.
        sid: 'StateListing',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.key.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledgeWildcardResources(
      role,
      [this.bucket.arnForObjects('*')],
      'Objects of the state bucket only; keys are per certificate and not known at deploy time.',
    );
  }

  private grantRenewer(
    stack: Stack,
    props: AcmeCertificatesProps,
    resolved: ReturnType<typeof resolveInventory>,
    hostedZoneIds: readonly string[],
    eventBus: events.IEventBus,
  ): void {
    const role = this.renewerFunction.role!;
    if (hostedZoneIds.length > 0) {
      for (const statement of route53Statements(this, hostedZoneIds)) role.addToPrincipalPolicy(statement);
    }
    const regions = [
      ...new Set(
        this.inventory.certificates.flatMap((c) => (c.acmRegions.length > 0 ? c.acmRegions : [stack.region])),
      ),
    ];
    for (const statement of acmStatements(this, regions, this.serviceName))
      role.addToPrincipalPolicy(statement);
    role.addToPrincipalPolicy(putEventsStatement(eventBus.eventBusArn, EVENT_SOURCE));
    if (resolved.zoneRoleArns.length > 0)
      role.addToPrincipalPolicy(assumeZoneRolesStatement(resolved.zoneRoleArns));

    const secrets = [
      ...[props.ca, ...(props.additionalCas ?? [])].flatMap((ca) =>
        ca?.options.eab ? [ca.options.eab.hmacSecret] : [],
      ),
      ...resolved.eabSecretArns.map((arn, index) =>
        // A complete ARN ends in the 6-character suffix Secrets Manager adds; a partial one needs a wildcard.
        /-[A-Za-z0-9]{6}$/.test(arn)
          ? secretsmanager.Secret.fromSecretCompleteArn(this, `EabSecret${index}`, arn)
          : secretsmanager.Secret.fromSecretPartialArn(this, `EabSecret${index}`, arn),
      ),
    ];
    for (const secret of secrets) secret.grantRead(role);

    acknowledgeWildcardResources(
      role,
      [
        stack.formatArn({
          service: 'route53',
          region: '',
          account: '',
          resource: 'change',
          resourceName: '*',
        }),
      ],
      'route53:GetChange: change ids are generated per change batch; a change id grants no access to records.',
    );
    acknowledgeWildcardResources(
      role,
      ['*'],
      'route53:ListHostedZones/ListHostedZonesByName and acm:ListCertificates support no resource-level permissions (Service Authorization Reference); they only list names.',
    );
    acknowledgeWildcardResources(
      role,
      regions.map((region) =>
        stack.formatArn({ service: 'acm', region, resource: 'certificate', resourceName: '*' }),
      ),
      'ACM ARNs of new imports are unknown before import: a first import must carry the acme-ari:managed-by tag of this service, and re-import/describe need that tag on the certificate.',
    );
  }

  private createTopic(): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `acme-ari alarms (${this.serviceName})`,
      masterKey: this.key,
      enforceSSL: true,
    });
    // CloudWatch publishes alarm notifications itself, so it must be able to use the topic's key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return topic;
  }

  private createAlarms(props: AcmeCertificatesProps, interval: Duration): void {
    const thresholds = props.alarmThresholds ?? {};
    const minDays = thresholds.minDaysToExpiry ?? 14;
    const action = new SnsAction(this.alarmTopic);
    const add = (id: string, alarmProps: cloudwatch.AlarmProps): void => {
      const alarm = new cloudwatch.Alarm(this, id, alarmProps);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };

    add('RenewalFailedAlarm', {
      alarmDescription: `A certificate renewal failed (${this.serviceName}). See the renewer logs and the state document's last problem; the renewal is retried.`,
      metric: this.metric('RenewalFailed', { statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: thresholds.renewalFailures ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('DeadLetterAlarm', {
      alarmDescription: `A renewal message reached the dead-letter queue (${this.serviceName}) after every retry failed. Fix the cause, then redrive it.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('MinDaysToExpiryAlarm', {
      alarmDescription: `A certificate expires in fewer than ${minDays} days (${this.serviceName}) and has not been renewed. Missing data counts: no report means no one is watching.`,
      metric: this.metric('MinDaysToExpiry', { statistic: 'Minimum', period: interval }),
      threshold: minDays,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    add('SchedulerHeartbeatAlarm', {
      alarmDescription: `The scheduler has not run for two intervals (${this.serviceName}): no certificate is being checked. See the scheduler logs and the schedule.`,
      metric: this.metric('SchedulerHeartbeat', { statistic: 'Sum', period: interval }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const known = props.knownCertificateArns ?? {};
    const ids = new Set(this.inventory.certificates.map((c) => c.id));
    const region = Stack.of(this).region;
    const problems = Object.entries(known).flatMap(([id, arn]) => {
      const found: { path: string; message: string }[] = [];
      if (!ids.has(id)) found.push({ path: `knownCertificateArns.${id}`, message: 'is not an inventory id' });
      const arnRegion = Token.isUnresolved(arn) ? undefined : /^arn:[^:]+:acm:([^:]+):/.exec(arn)?.[1];
      if (!Token.isUnresolved(arn) && arnRegion === undefined) {
        found.push({ path: `knownCertificateArns.${id}`, message: 'must be an ACM certificate ARN' });
      } else if (arnRegion !== undefined && !Token.isUnresolved(region) && arnRegion !== region) {
        found.push({
          path: `knownCertificateArns.${id}`,
          message: `is in ${arnRegion}; CloudWatch alarms only watch metrics of their own region (${region})`,
        });
      }
      return found;
    });
    if (problems.length > 0) throw new ConfigError('AcmeCertificates props', problems);
    const acmDays = thresholds.acmDaysToExpiry ?? minDays;
    for (const [id, arn] of Object.entries(known)) {
      add(`AcmDaysToExpiry-${id}`, {
        alarmDescription: `ACM reports certificate "${id}" expires in fewer than ${acmDays} days (${arn}).`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/CertificateManager',
          metricName: 'DaysToExpiry',
          dimensionsMap: { CertificateArn: arn },
          statistic: 'Minimum',
          period: Duration.days(1),
        }),
        threshold: acmDays,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // ACM stops publishing for a deleted certificate: that is worth an alarm too.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
  }
}

/** CloudWatch evaluates at most one day of data (periods × evaluation periods), and two intervals are needed. */
function validateInterval(interval: Duration): void {
  const minutes = interval.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 12 * 60) {
    throw new ConfigError('AcmeCertificates props', [
      {
        path: 'scheduleInterval',
        message: 'must be a whole number of minutes between 5 minutes and 12 hours',
      },
    ]);
  }
}
