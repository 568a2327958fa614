import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  STSClient,
  type STSClientConfig,
} from '@aws-sdk/client-sts';

/** What one AssumeRole asks for: the role, the session name, and the external id its trust policy may require. */
export interface AssumeRoleInput {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly externalId?: string;
}

/**
 * Calls STS AssumeRole with the given client, or one built from `config`. A module of its own so the adapters that
 * reach zones in other accounts load the STS client with `import()` on first use: most renewers never do.
 */
export function assumeRole(
  sts: STSClient | undefined,
  config: STSClientConfig,
  input: AssumeRoleInput,
): { readonly client: STSClient; readonly output: Promise<AssumeRoleCommandOutput> } {
  const client = sts ?? new STSClient(config);
  const output = client.send(
    new AssumeRoleCommand({
      RoleArn: input.roleArn,
      RoleSessionName: input.sessionName,
      ...(input.externalId === undefined ? {} : { ExternalId: input.externalId }),
    }),
  );
  return { client, output };
}
