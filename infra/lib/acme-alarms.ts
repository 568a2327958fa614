import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ConfigError } from '../../functions/core/config/inventory';
import { DEFAULT_NEAR_EXPIRY_DAYS } from '../../functions/core/contracts/environment';
import { REFERENCE_LIFETIME_DAYS } from '../../functions/core/renewal/expiry';

/** Thresholds of the alarms the construct creates. */
export interface AcmeAlarmThresholds {
  /**
   * Alarm when the soonest-expiring certificate (scheduler metric `MinDaysToExpiry`) has fewer days left, in days
   * scaled to a 90-day lifetime: a certificate of lifetime L < 90 days with d days left counts d × 90 / L, one of 90
   * days or longer its days left. So one threshold fits every profile: 14 days of 90 is 7 of 45 and 0.93 of 6. Also
   * the default of `perCertificateMetricDays`.
   * @default 14 (DEFAULT_NEAR_EXPIRY_DAYS)
   */
  readonly minDaysToExpiry?: number;
  /**
   * Alarm when ACM's own `DaysToExpiry` for a known certificate ARN is below this. ACM's metric is real days left,
   * and the lifetime is not known at synth time: for a short-lived profile set it below the lifetime (e.g. 1 for
   * 6-day certificates, which renew with about 2 left), or the alarm never clears.
   * @default - the same as `minDaysToExpiry`
   */
  readonly acmDaysToExpiry?: number;
  /**
   * Alarm when at least this many renewals failed within five minutes.
   * @default 1
   */
  readonly renewalFailures?: number;
}

/**
 * A KMS-encrypted topic CloudWatch alarms can publish to. CloudWatch may use the key only with an SNS topic of this
 * account and region as the encryption context, so a key that also protects S3 objects (encryption context: the
 * bucket) stays closed to it.
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
 */
export function createAlarmTopic(scope: Construct, key: kms.Key, serviceName: string): sns.Topic {
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: `acme-ari alarms (${serviceName})`,
    masterKey: key,
    enforceSSL: true,
  });
  // CloudWatch publishes alarm notifications itself, so it must be able to use the topic's key.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
        StringLike: {
          'kms:EncryptionContext:aws:sns:topicArn': Stack.of(scope).formatArn({
            service: 'sns',
            resource: '*',
            arnFormat: ArnFormat.NO_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return topic;
}

/** What the alarms watch. */
export interface AlarmSources {
  readonly serviceName: string;
  readonly interval: Duration;
  readonly topic: sns.ITopic;
  readonly deadLetterQueue: sqs.IQueue;
  readonly certificateIds: readonly string[];
  readonly thresholds?: AcmeAlarmThresholds;
  readonly knownCertificateArns?: Readonly<Record<string, string>>;
  /** One metric of the functions, with this deployment's `service` dimension. */
  readonly metric: (name: string, options: { statistic: string; period: Duration }) => cloudwatch.IMetric;
}

/**
 * The alarms that make failure loud: a failed renewal, a dead-lettered message, a certificate close to expiry
 * (missing data counts: no report means nobody is watching), a scheduler that stopped, and ACM's own expiry
 * metric for certificates whose ARN is known. Each notifies the topic on alarm and on recovery.
 *
 * Two custom metrics serve them all: `RenewalFailed`, and `MinDaysToExpiry` (the lifetime-scaled days to expiry,
 * so one threshold fits 6-, 45- and 90-day certificates; see `functions/core/renewal/expiry.ts`), which every
 * completed pass that knows an expiry publishes once, so its sample count is the scheduler's heartbeat (no metric
 * of its own: $0.30 a month).
 * The dead-letter alarm watches AWS/SQS. A pass that knows no expiry (no certificate issued yet) publishes none:
 * the first pass after a first deploy, which the two-interval evaluation tolerates.
 */
export function createAlarms(scope: Construct, sources: AlarmSources): cloudwatch.Alarm[] {
  const { serviceName, interval } = sources;
  const thresholds = sources.thresholds ?? {};
  const minDays = thresholds.minDaysToExpiry ?? DEFAULT_NEAR_EXPIRY_DAYS;
  const action = new SnsAction(sources.topic);
  const alarms: cloudwatch.Alarm[] = [];
  const add = (id: string, alarmProps: cloudwatch.AlarmProps): void => {
    const alarm = new cloudwatch.Alarm(scope, id, alarmProps);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    alarms.push(alarm);
  };

  add('RenewalFailedAlarm', {
    alarmDescription: `A certificate renewal failed (${serviceName}). See the renewer logs and the state document's last problem; the renewal is retried.`,
    metric: sources.metric('RenewalFailed', { statistic: 'Sum', period: Duration.minutes(5) }),
    threshold: thresholds.renewalFailures ?? 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  add('DeadLetterAlarm', {
    alarmDescription: `A renewal message reached the dead-letter queue (${serviceName}) after every retry failed. Fix the cause, then redrive it.`,
    metric: sources.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(5),
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  add('MinDaysToExpiryAlarm', {
    alarmDescription: `A certificate is within its lifetime-scaled share of ${minDays} days of expiry (${serviceName}; ${scaledShares(minDays)}) and has not been renewed. Missing data counts: no report means no one is watching.`,
    metric: sources.metric('MinDaysToExpiry', { statistic: 'Minimum', period: interval }),
    threshold: minDays,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  add('SchedulerHeartbeatAlarm', {
    alarmDescription: `No scheduler pass has reported for two intervals (${serviceName}): the scheduler stopped or fails, or no certificate has been issued yet. See the schedule, the scheduler logs and the renewer logs.`,
    // Each completed pass publishes MinDaysToExpiry once: its sample count is the number of passes that reported.
    metric: sources.metric('MinDaysToExpiry', { statistic: 'SampleCount', period: interval }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });

  const known = sources.knownCertificateArns ?? {};
  checkKnownArns(scope, known, new Set(sources.certificateIds));
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
  return alarms;
}

/**
 * What a `MinDaysToExpiry` threshold means for each lifetime, for the alarm's text: "14 days of 90, 7 of 45, 0.93
 * of 6".
 */
function scaledShares(days: number): string {
  if (Token.isUnresolved(days))
    return `${days} days of a 90-day lifetime, proportionally less of a shorter one`;
  const of = (lifetime: number) => Number(((days * lifetime) / REFERENCE_LIFETIME_DAYS).toFixed(2));
  return `${days} days of ${REFERENCE_LIFETIME_DAYS}, ${of(45)} of 45, ${of(6)} of 6`;
}

/** Known ARNs must name inventory entries and sit in the stack's region (alarms watch their own region only). */
function checkKnownArns(scope: Construct, known: Readonly<Record<string, string>>, ids: Set<string>): void {
  const region = Stack.of(scope).region;
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
}
