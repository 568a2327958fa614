import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { validateCommand } from '../../functions/cli/commands/validate';
import {
  type BootstrapFact,
  type CredentialsFact,
  credentialSourceOf,
  findPlaceholders,
  type InventoryFact,
} from './decide';

/** How long the credential chain may take: IMDS and container endpoints that do not answer must not stall. */
export const CREDENTIALS_TIMEOUT_MS = 5_000;

/**
 * Asks a credential provider (the SDK's `fromNodeProviderChain` in `npm start`) with a deadline, so a machine
 * without an instance metadata service falls back to the demo within seconds.
 */
export async function probeCredentials(
  provider: AwsCredentialIdentityProvider,
  timeoutMs: number = CREDENTIALS_TIMEOUT_MS,
): Promise<CredentialsFact> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    const result = await Promise.race([provider(), deadline]);
    if (result === 'timeout') {
      return { found: false, why: 'timeout', detail: `no answer within ${timeoutMs / 1000} s` };
    }
    const features = (result as AwsCredentialIdentity & { $source?: Record<string, unknown> }).$source;
    return { found: true, source: credentialSourceOf(features) };
  } catch (error) {
    return { found: false, why: 'none', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** The CDK context `npm start` needs: cdk.json's `context`, overridden by `-c key=value` arguments. */
export function deployContext(root: string, args: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  try {
    const json = JSON.parse(readFileSync(resolve(root, 'cdk.json'), 'utf8')) as {
      context?: Record<string, unknown>;
    };
    for (const [key, value] of Object.entries(json.context ?? {})) {
      if (typeof value === 'string' || typeof value === 'boolean') context[key] = String(value);
    }
  } catch {
    // No readable cdk.json: cdk deploy reports that itself.
  }
  args.forEach((arg, i) => {
    const pair = arg === '-c' || arg === '--context' ? args[i + 1] : /^--context=(.*)$/.exec(arg)?.[1];
    const match = pair === undefined ? null : /^([^=]+)=(.*)$/.exec(pair);
    if (match) context[match[1]!] = match[2]!;
  });
  return context;
}

/** Runs `acme-ari validate` on the inventory and looks for the example's placeholders. */
export async function inspectInventory(root: string, file: string): Promise<InventoryFact> {
  const problems: string[] = [];
  const path = resolve(root, file);
  const code = await validateCommand(
    { file: path, json: false },
    { out: () => undefined, err: (line) => problems.push(line) },
  ).catch((error: unknown) => {
    problems.push(error instanceof Error ? error.message : String(error));
    return 2;
  });
  if (code !== 0) return { file, problems: problems.length > 0 ? problems : ['invalid'], placeholders: [] };
  return { file, problems: [], placeholders: findPlaceholders(JSON.parse(readFileSync(path, 'utf8'))) };
}

/** Looks for the CDK bootstrap stack (`CDKToolkit`, or `--toolkit-stack-name`) in the credentials' account. */
export async function checkBootstrap(
  credentials: AwsCredentialIdentityProvider,
  toolkitStackName = 'CDKToolkit',
): Promise<BootstrapFact> {
  const cloudformation = new CloudFormationClient({ credentials, maxAttempts: 2 });
  const sts = new STSClient({ credentials, maxAttempts: 2 });
  try {
    const region = await cloudformation.config.region();
    const { Account: account } = await sts.send(new GetCallerIdentityCommand({}));
    try {
      await cloudformation.send(new DescribeStacksCommand({ StackName: toolkitStackName }));
      return { state: 'present' };
    } catch (error) {
      if (error instanceof Error && /does not exist/.test(error.message)) {
        return { state: 'missing', account: account ?? 'ACCOUNT', region };
      }
      throw error;
    }
  } catch (error) {
    return { state: 'unknown', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    cloudformation.destroy();
    sts.destroy();
  }
}
