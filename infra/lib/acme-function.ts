import { existsSync } from 'node:fs';
import { AssetHashType, DockerImage, Duration, type ILocalBundling, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AcmeAwsError } from '../../functions/core/errors';
import { RENEWER_TIMEOUT_MS, SCHEDULER_TIMEOUT_MS } from '../../functions/core/time-budget';
import {
  bundleHandlerSync,
  HANDLER_ENTRIES,
  LAMBDA_NODE_OPTIONS,
  LAMBDA_RUNTIME,
  PROJECT_ROOT,
  prebuiltBundleDir,
} from './lambda-bundling';

/** The renewer's timeout, from the one time budget its lease and polling budget are sized from. */
export const RENEWER_TIMEOUT = Duration.millis(RENEWER_TIMEOUT_MS);
/** One scheduler pass, from the same time budget the pass budget is sized from. */
export const SCHEDULER_TIMEOUT = Duration.millis(SCHEDULER_TIMEOUT_MS);

/**
 * The scheduler's memory, sized from its measured CPU rather than its footprint (bench/results.md, section 2):
 * Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB. The 10,000-certificate ARI
 * refresh pass measured 58 s of CPU (5.8 ms per certificate: request signing, TLS, JSON and schema parsing, one log
 * line each), so finishing it within 60 s needs about 1,730 MB; at the old 512 MB that CPU alone would take
 * 200 s. More than one vCPU buys nothing: the pass runs on Node's single JavaScript thread. A pass with nothing
 * due takes well under a second at 10,000 certificates, so the size costs cents a month.
 */
export const SCHEDULER_MEMORY_MB = 1769;

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
 *
 * Its code is the handler bundled with the options of `lambda-bundling.ts` (ESBUILD_OPTIONS): in a checkout of this
 * repository, where the TypeScript entry exists, esbuild bundles it at synthesis (so the deployed code is always
 * the current source); in the installed npm package, which ships no sources, the prebuilt bundle `npm run build`
 * made with the same options is deployed as it is, so a consumer's app needs no esbuild, no Docker and no lock
 * file. Either way the code folder is `index.mjs`, the chunks it loads (`chunks/`) and their source maps.
 */
export function createAcmeFunction(
  scope: Construct,
  name: string,
  options: AcmeFunctionOptions,
): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${name}Logs`, {
    retention: options.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, `${name}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `acme-ari ${name} function`,
  });
  logGroup.grantWrite(role);
  const entry = `${PROJECT_ROOT}/${HANDLER_ENTRIES[options.handler]}`;
  return new lambda.Function(scope, name, {
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    timeout: options.timeout ?? RENEWER_TIMEOUT,
    memorySize: options.memorySize,
    description: options.description,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: { ...options.environment, NODE_OPTIONS: LAMBDA_NODE_OPTIONS },
    code: existsSync(entry)
      ? bundledFromSource(options.handler)
      : lambda.Code.fromAsset(prebuiltBundle(options.handler)),
    handler: 'index.handler',
  });
}

/**
 * esbuild run in this process at synthesis. NodejsFunction cannot do it: it always bundles into one `--outfile`,
 * and chunks need an output folder. Hashed by output, as NodejsFunction's assets are (the source folder is the
 * whole checkout); `handler` is a field, so the asset cache tells the three functions apart.
 */
class LocalHandlerBundling implements ILocalBundling {
  constructor(readonly handler: AcmeFunctionOptions['handler']) {}

  tryBundle(outputDir: string): boolean {
    bundleHandlerSync(this.handler, outputDir);
    return true;
  }
}

function bundledFromSource(handler: AcmeFunctionOptions['handler']): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling either succeeds or throws esbuild's error, so Docker is not a fallback.
      image: DockerImage.fromRegistry('acme-ari-bundles-locally'),
      local: new LocalHandlerBundling(handler),
    },
  });
}

/** The folder of a handler's prebuilt bundle, or an error naming what is missing and how to get it back. */
function prebuiltBundle(handler: AcmeFunctionOptions['handler']): string {
  const dir = prebuiltBundleDir(handler);
  if (!existsSync(`${dir}/index.mjs`)) {
    throw new AcmeAwsError(
      'bundle-missing',
      `acme-ari-aws has neither the ${handler} handler's source (${HANDLER_ENTRIES[handler]}) nor its prebuilt bundle (${dir}/index.mjs): the installed package is incomplete; reinstall acme-ari-aws (a tarball made with \`npm pack\` builds dist/ first)`,
    );
  }
  return dir;
}
