import { describe, expect, it } from 'vitest';
import { credentialsFromEnvironment, defaultProvider } from '../../../functions/adapters/lambda-credentials';
import { AcmeAwsError } from '../../../functions/core/errors';

describe('the Lambda bundles’ credential provider (the environment only)', () => {
  it('reads the execution role’s keys and session token as Lambda sets them', () => {
    expect(
      credentialsFromEnvironment({
        AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_SESSION_TOKEN: 'token',
      }),
    ).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('keeps an expiry and an account id when the environment gives them, as the SDK’s fromEnv does', () => {
    const credentials = credentialsFromEnvironment({
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_CREDENTIAL_EXPIRATION: '2026-12-01T12:00:00Z',
      AWS_ACCOUNT_ID: '123456789012',
    });
    expect(credentials.expiration?.toISOString()).toBe('2026-12-01T12:00:00.000Z');
    expect(credentials.accountId).toBe('123456789012');
    expect(credentials.sessionToken).toBeUndefined();
  });

  it('names every missing variable and says nothing else is tried', () => {
    const missing = () => credentialsFromEnvironment({ AWS_SESSION_TOKEN: 'token' });
    expect(missing).toThrow(AcmeAwsError);
    expect(missing).toThrow(/^no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set\./);
    expect(missing).toThrow(
      /do not try profiles, SSO, credential_process, web identity or the metadata services/,
    );
    expect(() =>
      credentialsFromEnvironment({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: '' }),
    ).toThrow(/: AWS_SECRET_ACCESS_KEY is not set\./);
  });

  it('reads the environment when a client first signs, not when the client is built', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      const provider = defaultProvider({ profile: 'ignored' });
      process.env.AWS_ACCESS_KEY_ID = 'AKID';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKID', secretAccessKey: 'secret' });
      delete process.env.AWS_ACCESS_KEY_ID;
      await expect(provider()).rejects.toMatchObject({ code: 'config-invalid' });
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
