import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { MANUAL_RENEWAL_EXAMPLE } from '../../functions/core/contracts/renewal-message';
import { AcmeCertificates, type AcmeCertificatesProps } from './acme-certificates';

/** Properties of {@link AcmeStack}: a stack's own plus every property of the construct. */
export interface AcmeStackProps extends StackProps {
  /** The construct's configuration. */
  readonly certificates: AcmeCertificatesProps;
}

/** One stack that ships the whole system: `cdk deploy` and every certificate in the inventory is kept alive. */
export class AcmeStack extends Stack {
  /** The system's resources. */
  readonly acme: AcmeCertificates;

  constructor(scope: Construct, id: string, props: AcmeStackProps) {
    super(scope, id, props);
    this.acme = new AcmeCertificates(this, 'Certificates', props.certificates);

    new CfnOutput(this, 'StateBucketName', { value: this.acme.bucket.bucketName });
    new CfnOutput(this, 'RenewalQueueUrl', {
      value: this.acme.queue.queueUrl,
      description: `Send ${MANUAL_RENEWAL_EXAMPLE} here to renew a certificate now (senders: the scheduler and renewalRequesterArns)`,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.acme.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.acme.alarmTopic.topicArn });
    new CfnOutput(this, 'SchedulerFunctionName', { value: this.acme.schedulerFunction.functionName });
    new CfnOutput(this, 'RenewerFunctionName', { value: this.acme.renewerFunction.functionName });
    new CfnOutput(this, 'RenewerRoleArn', {
      value: this.acme.renewerFunction.role!.roleArn,
      description: 'Trust this role (with the external id ServiceName) in zone roles of other accounts',
    });
    new CfnOutput(this, 'ServiceName', { value: this.acme.serviceName });
    new CfnOutput(this, 'DashboardName', { value: this.acme.dashboard.dashboardName });
  }
}
