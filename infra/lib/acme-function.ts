import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { RENEWER_TIMEOUT_MS, SCHEDULER_TIMEOUT_MS } from '../../functions/core/time-budget';
import { BUNDLING, DEPS_LOCK_FILE, HANDLER_ENTRIES, LAMBDA_RUNTIME, PROJECT_ROOT } from './lambda-bundling';

/** The renewer's timeout, from the one time budget its lease and polling budget are sized from. */
export const RENEWER_TIMEOUT = Duration.millis(RENEWER_TIMEOUT_MS);
/** One scheduler pass, from the same time budget the pass budget is sized from. */
export const SCHEDULER_TIMEOUT = Duration.millis(SCHEDULER_TIMEOUT_MS);

/** How one of the construct's functions is built. */
export interface AcmeFunctionOptions {
  readonly handler: keyof typeof HANDLER_ENTRIES;
  /** @default RENEWER_TIMEOUT */
  readonly timeout?: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly description: string;
  /** Built with `functionEnvironment`, so it matches what the function parses. */
  readonly environment: Record<string, string>;
}

/**
 * A function of the construct: Node.js on ARM64, JSON logs into its own log group, and an own role instead of
 * AWSLambdaBasicExecutionRole, which may write to that log group only.
 */
export function createAcmeFunction(
  scope: Construct,
  name: string,
  options: AcmeFunctionOptions,
): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${name}Logs`, {
    retention: options.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, `${name}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `acme-ari ${name} function`,
  });
  logGroup.grantWrite(role);
  return new NodejsFunction(scope, name, {
    entry: `${PROJECT_ROOT}/${HANDLER_ENTRIES[options.handler]}`,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: DEPS_LOCK_FILE,
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    timeout: options.timeout ?? RENEWER_TIMEOUT,
    memorySize: options.memorySize,
    description: options.description,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: { ...options.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: BUNDLING,
  });
}
