import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { type AcmeAlarmThresholds, createAlarms } from '../../infra/lib/acme-alarms';

/** The expiry alarm `createAlarms` makes for `thresholds`, as CloudWatch gets it. */
function expiryAlarm(thresholds?: AcmeAlarmThresholds) {
  const stack = new Stack();
  const alarms = createAlarms(stack, {
    serviceName: 'acme-test',
    interval: Duration.hours(1),
    topic: new sns.Topic(stack, 'Topic'),
    deadLetterQueue: new sqs.Queue(stack, 'Dlq'),
    certificateIds: ['www'],
    ...(thresholds === undefined ? {} : { thresholds }),
    metric: (name, options) => new cloudwatch.Metric({ namespace: 'Test', metricName: name, ...options }),
  });
  const alarm = alarms.find((a) => a.node.id === 'MinDaysToExpiryAlarm')!;
  return alarm.node.defaultChild as cloudwatch.CfnAlarm;
}

// MinDaysToExpiry is lifetime-scaled (functions/core/renewal/expiry.ts): the alarm's text must say what its
// threshold means for a 6-day certificate, or an operator reads "fewer than 14 days" and expects it to fire always.
describe('the expiry alarm speaks of lifetime-scaled days', () => {
  it.each([
    [undefined, 14, '14 days of 90, 7 of 45, 0.93 of 6'],
    [{ minDaysToExpiry: 9 }, 9, '9 days of 90, 4.5 of 45, 0.6 of 6'],
  ])('thresholds %j → below %d', (thresholds, threshold, shares) => {
    const alarm = expiryAlarm(thresholds);
    expect(alarm.threshold).toBe(threshold);
    expect(alarm.comparisonOperator).toBe('LessThanThreshold');
    expect(alarm.alarmDescription).toContain(`lifetime-scaled share of ${threshold} days of expiry`);
    expect(alarm.alarmDescription).toContain(shares);
  });
});
