import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerReader } from '../../../functions/adapters/secrets-reader';
import { hasCode } from '../../../functions/core/errors';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const secretsClient = new SecretsManagerClient(config);
const secrets = mockClient(secretsClient);

beforeEach(() => {
  secrets.reset();
});

describe('SecretsManagerReader', () => {
  it('reads each ARN once and keeps the value for later calls', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'hmac-key' });
    const reader = new SecretsManagerReader({ client: secretsClient });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:eab-AbCdEf';
    expect(await reader.getSecret(arn)).toBe('hmac-key');
    expect(await reader.getSecret(arn)).toBe('hmac-key');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('does not cache a failure and never puts a value in the error', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
      .resolves({ SecretString: 'hmac-key' });
    const reader = new SecretsManagerReader({ client: secretsClient, retry: { maxAttempts: 1 } });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:eab-AbCdEf';
    await expect(reader.getSecret(arn)).rejects.toSatisfy(
      (e) => hasCode(e, 'secret-failed') && e.message.includes(arn),
    );
    expect(await reader.getSecret(arn)).toBe('hmac-key');
  });
});
