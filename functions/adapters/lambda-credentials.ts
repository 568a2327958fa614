import { AcmeAwsError } from '../core/errors';

// The Lambda bundles' stand-in for `@aws-sdk/credential-provider-node` (esbuild's alias, LAMBDA_ALIASES in
// infra/lib/lambda-bundling.ts): every SDK client's runtime config calls its `defaultProvider` when the client is
// given no `credentials`. The real chain tries the environment first and then SSO, shared ini files,
// credential_process, web identity and the metadata services, which bring the SDK's nested clients with them;
// Lambda always answers at the first link (the execution role's keys are in the function's environment), so
// the bundles keep that link alone. The CLI, the demo and the tests run with the real chain.

/** The identity an SDK client signs with (the shape of `@smithy/types`' AwsCredentialIdentity). */
export interface EnvironmentCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
  readonly accountId?: string;
}

/**
 * The credentials in `env`, read as the SDK's `fromEnv` reads them; an error naming the missing variables
 * (and why nothing else is tried) when there are none.
 */
export function credentialsFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): EnvironmentCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((name) => !env[name]);
    throw new AcmeAwsError(
      'config-invalid',
      `no AWS credentials: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. The acme-ari Lambda bundles read credentials from the environment only, where Lambda puts the execution role's; they do not try profiles, SSO, credential_process, web identity or the metadata services. Run the functions on Lambda, or set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for a local run.`,
    );
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
    ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}),
  };
}

/**
 * `@aws-sdk/credential-provider-node`'s entry, as the clients call it (`credentialDefaultProvider(init)`): a
 * provider reading the environment when the client first signs (a client built without them does not fail).
 */
export const defaultProvider =
  (_init?: unknown): (() => Promise<EnvironmentCredentials>) =>
  async () =>
    credentialsFromEnvironment(process.env);
