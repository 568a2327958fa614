import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../functions/adapters/eventbridge-publisher';
import { ConfigError, type Inventory } from '../../functions/core/config/inventory';
import {
  DEFAULT_ARI_CONCURRENCY,
  DEFAULT_NEAR_EXPIRY_DAYS,
  functionEnvironment,
} from '../../functions/core/contracts/environment';
import { EVENTS_PUBLISHED_BY } from '../../functions/core/contracts/events';
import { warnOnAcmQuotas } from './acm-quota-warning';
import { type AcmeAlarmThresholds, createAlarms, createAlarmTopic } from './acme-alarms';
import { AcmeCa } from './acme-ca';
import { addDashboard } from './acme-dashboard';
import { createAcmeFunction, SCHEDULER_MEMORY_MB, SCHEDULER_TIMEOUT } from './acme-function';
import { grantFirstImport, grantRenewer } from './function-grants';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import { createRenewalQueues, type RenewalQueues } from './renewal-queues';
import { putEventsStatement } from './renewer-permissions';
import { type InventoryInput, type ResolvedInventory, resolveInventory } from './resolve-inventory';
import { StateStore } from './state-store';

export type { AcmeAlarmThresholds } from './acme-alarms';
export { EVENT_SOURCE };

/** Metric namespace used when none is given. */
export const DEFAULT_METRICS_NAMESPACE = 'AcmeAri';

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
   * Renewals that may run at once: the SQS event source's maximum concurrency (at least 2), which keeps CA and
   * Route 53 rate limits and, unlike reserved concurrency, deploys on any account.
   * @default 2
   */
  readonly renewerConcurrency?: number;
  /**
   * ARI requests the scheduler sends at once (`ARI_CONCURRENCY`).
   * @default 50 (DEFAULT_ARI_CONCURRENCY)
   */
  readonly ariConcurrency?: number;
  /**
   * renewalInfo requests per second the scheduler sends to each CA (`ARI_REQUESTS_PER_SECOND`, a token bucket per
   * CA directory with a burst of 20). Let's Encrypt documents 1,000/s per IP address for renewal-info.
   * @default 200 (ARI_REQUESTS_PER_SECOND)
   */
  readonly ariRequestsPerSecond?: number;
  /**
   * Which certificates get their own `DaysToExpiry` metric (one CloudWatch custom metric each, the largest cost
   * at scale: see bench/results.md). `'near-expiry'` publishes it only for certificates with at most
   * `perCertificateMetricDays` left in lifetime-scaled days (as the `MinDaysToExpiry` alarm counts them: 14 days of
   * 90 is 7 of 45 and 0.93 of 6), `'none'` never; the value published is the real days left. The `MinDaysToExpiry`
   * alarm covers every certificate either way.
   * @default 'near-expiry'
   */
  readonly perCertificateMetrics?: 'all' | 'near-expiry' | 'none';
  /**
   * Days left, scaled to a 90-day lifetime (d × 90 / L for a lifetime L under 90 days), under which `'near-expiry'`
   * publishes a certificate's `DaysToExpiry`. Certificates renew well before the expiry alarm's threshold, so by
   * default a certificate of any lifetime gets its own metric only when its renewal is late.
   * @default - `alarmThresholds.minDaysToExpiry` (14)
   */
  readonly perCertificateMetricDays?: number;
  /**
   * Also publish the informational counts (`CertificatesDue`, `AriChecks`, `AriErrors`, `AriWindowMoved`,
   * `RenewalSucceeded`) as CloudWatch custom metrics, $0.30 a month each. They are always in the functions' log
   * lines (`scheduler_done`, `renewal_done`), which the dashboard counts with Logs Insights; no alarm needs them.
   * @default false - only `MinDaysToExpiry` and `RenewalFailed` (what the alarms watch) are metrics
   */
  readonly detailedMetrics?: boolean;
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
   * E-mail address subscribed to the alarm topic. Give this or `alarmTopic` (with your own subscribers), or set
   * `alarmsWithoutSubscriber`: otherwise synthesis fails, since every alarm would notify nobody.
   * @default - no subscription
   */
  readonly notificationEmail?: string;
  /**
   * Deploy even though neither `notificationEmail` nor `alarmTopic` is given, so the new alarm topic has no
   * subscriber until you add one (e.g. `aws sns subscribe`, docs/deploy.md): alarms still change state and show
   * on the dashboard, but nobody is told.
   * @default false - synthesis fails with a `ConfigError` naming `notificationEmail`
   */
  readonly alarmsWithoutSubscriber?: boolean;
  /**
   * Hosted zones the renewer may write `_acme-challenge` TXT records in.
   * @default - every zone id in the inventory's `hostedZones`
   */
  readonly hostedZoneIds?: readonly string[];
  /**
   * Record names (IAM wildcards allowed) where `_acme-challenge` CNAMEs delegate to, which synthesis cannot know;
   * the renewer may write TXT records there too.
   * @default - only the inventory's exact `_acme-challenge.<name>` names
   */
  readonly delegatedChallengeNames?: readonly string[];
  /**
   * `sts:ExternalId` the renewer sends when assuming a zone role in another account; require it in that role's
   * trust policy (docs/security.md).
   * @default - the service name
   */
  readonly zoneRoleExternalId?: string;
  /**
   * Principals (role or user ARNs) besides the scheduler that may send renewal requests to the queue; everyone
   * else in the account is denied by the queue policy.
   * @default - the scheduler only (operators renew with `acme-ari renew --now`)
   */
  readonly renewalRequesterArns?: readonly string[];
  /**
   * At most one forced order per certificate in this time, whoever asks; `Duration.seconds(0)` removes the limit.
   * @default Duration.hours(1)
   */
  readonly forcedRenewalInterval?: Duration;
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
   * How the state bucket encrypts what is not key material — the inventory, state documents, the schedule index,
   * leases, change markers and the certificates and chains, none of them secret: `'s3-managed'` (SSE-S3) or
   * `'kms'` (a customer-managed state key, $1 a month, which also encrypts the alarm topic). Private keys, pending
   * keys and ACME account keys are SSE-KMS under the key-material key either way (the scheduler is never granted it,
   * and the bucket policy refuses them under any other key). A deployment made before this prop existed has its
   * objects under the state key: keep `'kms'` there (docs/security.md).
   * @default 's3-managed'
   */
  readonly stateEncryption?: 'kms' | 's3-managed';
  /**
   * Bucket receiving the state bucket's server access logs.
   * @default - no access logs (enable CloudTrail data events for the bucket instead; docs/security.md)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
}

/**
 * Keeps ACME certificates issued and renewed inside an AWS account: an EventBridge Scheduler schedule runs the
 * scheduler function (ARI checks), due certificates go through an SQS queue to the renewer function (DNS-01
 * via Route 53, S3 state, ACM re-import), a first-import function creates new ACM certificates, and CloudWatch
 * alarms report failures and approaching expiry.
 */
export class AcmeCertificates extends Construct {
  /** The validated inventory that is uploaded to the state bucket. */
  readonly inventory: Inventory;
  /** Service name (metrics dimension, log service and `acme-ari:managed-by` tag value). */
  readonly serviceName: string;
  /** CloudWatch namespace of the functions' metrics. */
  readonly metricsNamespace: string;
  /** The bucket's default key under `stateEncryption: 'kms'` (inventory, state documents, certificates). */
  readonly key: kms.Key | undefined;
  /**
   * Private keys and ACME account keys; only the renewer and the first-import function may use it. Also the alarm
   * topic's key when there is no state key (CloudWatch may use it for that topic's messages only).
   */
  readonly keyMaterialKey: kms.Key;
  /** Versioned bucket with the inventory, certificates, keys (SSE-KMS) and state documents. */
  readonly bucket: s3.Bucket;
  /** Queue of due renewals (the renewal message contract). */
  readonly queue: sqs.Queue;
  /** Renewals that failed `maxReceiveCount` times. */
  readonly deadLetterQueue: sqs.Queue;
  /** Checks ARI and expiry, enqueues due certificates. */
  readonly schedulerFunction: lambda.Function;
  /** Renews one certificate per message. */
  readonly renewerFunction: lambda.Function;
  /** Creates new ACM certificates for the renewer (the only code allowed to tag them). */
  readonly firstImportFunction: lambda.Function;
  /** Topic the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /** Every alarm created. */
  readonly alarms: cloudwatch.Alarm[];
  /** Dashboard with days to expiry per certificate, renewals and ARI checks. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AcmeCertificatesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settings = settingsOf(props);
    this.serviceName =
      props.serviceName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }).toLowerCase();
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const resolved = resolveCheckedInventory(this, props, stack.region);
    this.inventory = resolved.inventory;

    const store = new StateStore(this, 'State', {
      serviceName: this.serviceName,
      encryption: props.stateEncryption ?? 's3-managed',
      noncurrentVersionRetention: props.noncurrentVersionRetention ?? Duration.days(30),
      ...(props.serverAccessLogsBucket ? { serverAccessLogsBucket: props.serverAccessLogsBucket } : {}),
    });
    this.key = store.stateKey;
    this.keyMaterialKey = store.keyMaterialKey;
    this.bucket = store.bucket;

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const fns = this.createFunctions(props, settings, eventBus);
    this.firstImportFunction = fns.firstImport;
    this.renewerFunction = fns.renewer;
    this.schedulerFunction = fns.scheduler;
    this.queue = fns.queues.queue;
    this.deadLetterQueue = fns.queues.deadLetterQueue;

    this.grantFunctions(store, fns.queues, props, { ...settings, resolved, eventBus, region: stack.region });
    this.uploadInventory(store, props, settings, stack.region);
    this.scheduleScheduler(stack, settings.interval);

    this.alarmTopic =
      props.alarmTopic ?? createAlarmTopic(this, this.key ?? this.keyMaterialKey, this.serviceName);
    if (props.notificationEmail) {
      this.alarmTopic.addSubscription(new EmailSubscription(props.notificationEmail));
    }
    this.alarms = this.createAlarms(props, settings.interval);
    this.dashboard = addDashboard(this, {
      namespace: this.metricsNamespace,
      serviceName: this.serviceName,
      certificateIds: this.inventory.certificates.map((c) => c.id),
      interval: settings.interval,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      functions: [this.schedulerFunction, this.renewerFunction, this.firstImportFunction],
      alarms: this.alarms,
      schedulerLogGroup: this.schedulerFunction.logGroup.logGroupName,
      renewerLogGroup: this.renewerFunction.logGroup.logGroupName,
      detailedMetrics: props.detailedMetrics === true,
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

  /** The three functions, each with the environment contract of its kind, and the queue between them. */
  private createFunctions(
    props: AcmeCertificatesProps,
    settings: Settings,
    eventBus: events.IEventBus,
  ): {
    firstImport: lambda.Function;
    renewer: lambda.Function;
    scheduler: lambda.Function;
    queues: RenewalQueues;
  } {
    const common = {
      STATE_BUCKET: this.bucket.bucketName,
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: this.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      SCHEDULE_INTERVAL_MINUTES: settings.interval.toMinutes(),
    };
    const detailed = props.detailedMetrics === true ? 'true' : undefined;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const firstImport = createAcmeFunction(this, 'FirstImport', {
      handler: 'firstImport',
      timeout: Duration.minutes(2),
      memorySize: 512,
      logRetention,
      description: 'Creates new ACM certificates from the stored ones, tagged as this deployment’s',
      environment: functionEnvironment('first-import', common),
    });
    const renewer = createAcmeFunction(this, 'Renewer', {
      handler: 'renewer',
      memorySize: 1024,
      logRetention,
      description: 'Renews one certificate: ACME order, DNS-01 in Route 53, S3 state, ACM re-import',
      environment: functionEnvironment('renewer', {
        ...common,
        EVENT_BUS_NAME: eventBus.eventBusName,
        KEY_MATERIAL_KMS_KEY_ID: this.keyMaterialKey.keyArn,
        FIRST_IMPORT_FUNCTION_NAME: firstImport.functionName,
        ZONE_ROLE_EXTERNAL_ID: props.zoneRoleExternalId ?? this.serviceName,
        FORCED_RENEWAL_MIN_INTERVAL_MINUTES: settings.forcedInterval.toMinutes(),
        DETAILED_METRICS: detailed,
      }),
    });
    const queues = createRenewalQueues(this, {
      maxReceiveCount: props.maxReceiveCount ?? 5,
      requesterArns: props.renewalRequesterArns ?? [],
    });
    const scheduler = createAcmeFunction(this, 'Scheduler', {
      handler: 'scheduler',
      timeout: SCHEDULER_TIMEOUT,
      memorySize: SCHEDULER_MEMORY_MB,
      logRetention,
      description: 'Checks ACME Renewal Information and expiry; enqueues due certificates',
      environment: functionEnvironment('scheduler', {
        ...common,
        RENEWAL_QUEUE_URL: queues.queue.queueUrl,
        EVENT_BUS_NAME: eventBus.eventBusName,
        ARI_CONCURRENCY: props.ariConcurrency ?? DEFAULT_ARI_CONCURRENCY,
        ARI_REQUESTS_PER_SECOND: props.ariRequestsPerSecond,
        PER_CERTIFICATE_METRICS: props.perCertificateMetrics ?? 'near-expiry',
        PER_CERTIFICATE_METRIC_DAYS:
          props.perCertificateMetricDays ??
          props.alarmThresholds?.minDaysToExpiry ??
          DEFAULT_NEAR_EXPIRY_DAYS,
        DETAILED_METRICS: detailed,
      }),
    });
    return { firstImport, renewer, scheduler, queues };
  }

  /** Each function's grants on the bucket, the queue, Route 53, ACM, EventBridge and secrets, and the event source. */
  private grantFunctions(
    store: StateStore,
    queues: RenewalQueues,
    props: AcmeCertificatesProps,
    context: Settings & { resolved: CheckedInventory; eventBus: events.IEventBus; region: string },
  ): void {
    queues.allowSender(this.schedulerFunction.role!);
    store.grant(this.schedulerFunction.role!, 'scheduler');
    // The scheduler publishes only `ARI Window Moved` (functions/core/contracts/events.ts), on the renewer's bus.
    this.schedulerFunction.role!.addToPrincipalPolicy(
      putEventsStatement(context.eventBus.eventBusArn, EVENT_SOURCE, EVENTS_PUBLISHED_BY.scheduler),
    );
    store.grant(this.renewerFunction.role!, 'renewer');
    store.grant(this.firstImportFunction.role!, 'first-import');
    this.queue.grantSendMessages(this.schedulerFunction);
    this.renewerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        // The poller's own concurrency limit (at least 2): throttled messages never count towards maxReceiveCount.
        maxConcurrency: context.concurrency,
      }),
    );
    const regions = [
      ...new Set(
        this.inventory.certificates.flatMap((c) =>
          c.acmRegions.length > 0 ? c.acmRegions : [context.region],
        ),
      ),
    ];
    grantRenewer(this, this.renewerFunction, {
      serviceName: this.serviceName,
      inventory: this.inventory,
      hostedZoneIds: context.resolved.hostedZoneIds,
      delegatedChallengeNames: props.delegatedChallengeNames ?? [],
      zoneRoleArns: context.resolved.zoneRoleArns,
      zoneRoleExternalId: props.zoneRoleExternalId ?? this.serviceName,
      regions,
      eventBus: context.eventBus,
      eabSecrets: [props.ca, ...(props.additionalCas ?? [])].flatMap((ca) =>
        ca?.options.eab ? [ca.options.eab.hmacSecret] : [],
      ),
      eabSecretArns: context.resolved.eabSecretArns,
      firstImportFunction: this.firstImportFunction,
    });
    grantFirstImport(this, this.firstImportFunction, {
      serviceName: this.serviceName,
      inventory: this.inventory,
      regions,
      hostedZoneIds: context.resolved.hostedZoneIds,
    });
  }

  /** The validated inventory and the deployment document, written to the bucket by the deployment only. */
  private uploadInventory(
    store: StateStore,
    props: AcmeCertificatesProps,
    settings: Settings,
    region: string,
  ): void {
    store.upload(this.inventory, {
      serviceName: this.serviceName,
      region,
      scheduleIntervalMinutes: settings.interval.toMinutes(),
      forcedRenewalIntervalMinutes: settings.forcedInterval.toMinutes(),
      keyMaterialKmsKeyId: this.keyMaterialKey.keyArn,
      // What `acme-ari doctor` judges the renewer role's live policy with (functions/core/iam/renewal-calls.ts).
      renewerRoleArn: this.renewerFunction.role!.roleArn,
      ...(this.key ? { stateKmsKeyArn: this.key.keyArn } : {}),
      stateEncryption: this.key ? 'kms' : 's3-managed',
      firstImportFunctionName: this.firstImportFunction.functionName,
      zoneRoleExternalId: props.zoneRoleExternalId ?? this.serviceName,
      ...(props.eventBus ? { eventBusName: props.eventBus.eventBusName } : {}),
      ...(props.renewalRequesterArns && props.renewalRequesterArns.length > 0
        ? { renewalQueueUrl: this.queue.queueUrl }
        : {}),
    });
  }

  /** The alarms on failures, dead letters, expiry and a silent scheduler, notifying {@link alarmTopic}. */
  private createAlarms(props: AcmeCertificatesProps, interval: Duration): cloudwatch.Alarm[] {
    return createAlarms(this, {
      serviceName: this.serviceName,
      interval,
      topic: this.alarmTopic,
      deadLetterQueue: this.deadLetterQueue,
      certificateIds: this.inventory.certificates.map((c) => c.id),
      ...(props.alarmThresholds ? { thresholds: props.alarmThresholds } : {}),
      ...(props.knownCertificateArns ? { knownCertificateArns: props.knownCertificateArns } : {}),
      metric: (name, options) => this.metric(name, options),
    });
  }

  /** The EventBridge Scheduler schedule, with its own role whose one permission is reviewed here. */
  private scheduleScheduler(stack: Stack, interval: Duration): void {
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
  }
}

/** The props with their defaults that more than one part of the construct reads. */
interface Settings {
  readonly interval: Duration;
  readonly concurrency: number;
  readonly forcedInterval: Duration;
}

/** The inventory as resolved for synthesis, with the hosted zones the renewer is granted. */
type CheckedInventory = ResolvedInventory & { readonly hostedZoneIds: readonly string[] };

/** The props' defaults applied and every prop problem checked at once. */
function settingsOf(props: AcmeCertificatesProps): Settings {
  const interval = props.scheduleInterval ?? Duration.hours(1);
  const concurrency = props.renewerConcurrency ?? 2;
  const forcedInterval = props.forcedRenewalInterval ?? Duration.hours(1);
  validateProps(interval, concurrency, forcedInterval, props);
  return { interval, concurrency, forcedInterval };
}

/** The inventory validated with the functions' schema; fails when the renewer would be granted no hosted zone. */
function resolveCheckedInventory(
  scope: Construct,
  props: AcmeCertificatesProps,
  region: string,
): CheckedInventory {
  const resolved = resolveInventory(props.inventory, {
    source: props.inventorySource ?? 'inventory',
    defaultCa: props.ca ?? AcmeCa.letsEncrypt(),
    cas: props.additionalCas ?? [],
    ...(props.acmRegions ? { acmRegions: props.acmRegions } : {}),
  });
  // The ACM quota projection of `acme-ari doctor`, as a synth warning (infra/lib/acm-quota-warning.ts).
  warnOnAcmQuotas(scope, resolved.inventory, region);
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
  return { ...resolved, hostedZoneIds };
}

/** Every prop problem at once: CloudWatch evaluates at most one day of data, two intervals are needed. */
function validateProps(
  interval: Duration,
  concurrency: number,
  forcedInterval: Duration,
  props: AcmeCertificatesProps,
): void {
  const problems: { path: string; message: string }[] = [];
  // An alarm topic nobody subscribes to makes every alarm silent: a first deploy must be heard or opt out.
  if (!props.notificationEmail && !props.alarmTopic && props.alarmsWithoutSubscriber !== true) {
    problems.push({
      path: 'notificationEmail',
      message:
        'nobody would receive the alarms: set notificationEmail (this repository\'s app: "notificationEmail" in ' +
        "cdk.json's context, or -c notificationEmail=ops@example.com), or alarmTopic with your own subscribers, " +
        'or alarmsWithoutSubscriber: true (-c alarmsWithoutSubscriber=true) to deploy alarms nobody hears on purpose',
    });
  }
  const minutes = interval.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 12 * 60) {
    problems.push({
      path: 'scheduleInterval',
      message: 'must be a whole number of minutes between 5 minutes and 12 hours',
    });
  }
  if (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 1000) {
    problems.push({
      path: 'renewerConcurrency',
      message:
        "must be a whole number from 2 to 1000 (the SQS event source's maximum concurrency; the lease already keeps one renewal per certificate)",
    });
  }
  if (!Number.isInteger(forcedInterval.toMinutes({ integral: false }))) {
    problems.push({
      path: 'forcedRenewalInterval',
      message: 'must be a whole number of minutes (0 for no limit)',
    });
  }
  if (problems.length > 0) throw new ConfigError('AcmeCertificates props', problems);
}
