import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../../infra/lib/lambda-bundling';
import { type CredentialSource, decideStart, type StartFacts } from '../../../scripts/start/decide';
import {
  checkBootstrap,
  deployContext,
  inspectInventory,
  probeCredentials,
} from '../../../scripts/start/facts';
import { scratchDir } from '../../support/scratch';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const READY: Omit<StartFacts, 'credentials'> = {
  bootstrap: { state: 'present' },
  inventory: { file: 'certificates.json', problems: [], placeholders: [] },
  alarmsHeard: true,
  args: [],
};

/** A provider that answers as the SDK's chain does, with the `$source` feature ids of the provider that won. */
const providerWith =
  (...features: string[]): AwsCredentialIdentityProvider =>
  async () =>
    ({ ...KEYS, $source: Object.fromEntries(features.map((f) => [f, 'x'])) }) as never;

describe('npm start: deploy or demo, by where the credential chain found credentials', () => {
  it.each<[string, string[], CredentialSource, RegExp]>([
    ['environment variables', ['CREDENTIALS_ENV_VARS'], 'environment', /environment variables/],
    ['~/.aws/credentials', ['CREDENTIALS_PROFILE'], 'profile', /a profile/],
    ['an SSO profile in ~/.aws/config', ['CREDENTIALS_PROFILE', 'CREDENTIALS_PROFILE_SSO'], 'sso', /SSO/],
    [
      'a credential_process profile',
      ['CREDENTIALS_PROFILE', 'CREDENTIALS_PROFILE_PROCESS'],
      'process',
      /process/,
    ],
    [
      'a role_arn profile',
      ['CREDENTIALS_PROFILE_SOURCE_PROFILE', 'CREDENTIALS_STS_ASSUME_ROLE'],
      'assume-role',
      /role_arn/,
    ],
    ['a web identity token', ['CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN'], 'web-identity', /web identity/],
    ['ECS or CodeBuild container credentials', ['CREDENTIALS_HTTP'], 'container', /ECS, CodeBuild/],
    ['an EC2 instance profile', ['CREDENTIALS_IMDS'], 'instance-profile', /instance profile/],
  ])('deploys with credentials from %s', async (_name, features, source, note) => {
    const credentials = await probeCredentials(providerWith(...features), 1_000);
    expect(credentials).toEqual({ found: true, source });
    const decision = decideStart({ ...READY, credentials });
    expect(decision.action).toBe('deploy');
    expect(decision.notes[0]).toMatch(note);
  });

  it('runs the demo when the chain finds nothing', async () => {
    const credentials = await probeCredentials(async () => {
      throw new Error('Could not load credentials from any providers');
    });
    expect(credentials).toMatchObject({ found: false, why: 'none' });
    const decision = decideStart({ credentials, args: [] });
    expect(decision.action).toBe('demo');
    expect(decision.notes.join('\n')).toContain('no AWS credentials');
  });

  it('runs the demo when the chain does not answer in time (no metadata service)', async () => {
    const started = Date.now();
    const credentials = await probeCredentials(() => new Promise(() => undefined), 200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(credentials).toMatchObject({ found: false, why: 'timeout' });
    expect(decideStart({ credentials, args: [] }).action).toBe('demo');
  });

  it('follows ACME_ARI_MODE over the credentials, and rejects any other value', () => {
    const found = { found: true, source: 'environment' } as const;
    expect(decideStart({ ...READY, mode: 'demo', credentials: found }).action).toBe('demo');
    const none = { found: false, why: 'none', detail: 'nothing' } as const;
    expect(decideStart({ ...READY, mode: 'deploy', credentials: none }).action).toBe('deploy');
    expect(decideStart({ ...READY, mode: 'prod', credentials: found })).toMatchObject({
      action: 'stop',
      exitCode: 2,
    });
  });
});

describe("the SDK's own chain (no AWS: the sources are local)", () => {
  let dir: string;
  beforeEach(() => {
    dir = scratchDir('acme-start-');
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials-none'));
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config-none'));
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(() => vi.unstubAllEnvs());

  it('counts a credential_process profile in ~/.aws/config, which the old shell check missed', async () => {
    const script = join(dir, 'creds.sh');
    writeFileSync(
      script,
      `#!/bin/sh\necho '{"Version":1,"AccessKeyId":"AKIDPROCESS","SecretAccessKey":"s"}'\n`,
    );
    chmodSync(script, 0o755);
    writeFileSync(join(dir, 'config'), `[profile ops]\ncredential_process = ${script}\nregion = eu-west-1\n`);
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
    vi.stubEnv('AWS_PROFILE', 'ops');
    const fact = await probeCredentials(defaultProvider({ timeout: 500, maxRetries: 0 }), 5_000);
    expect(fact).toEqual({ found: true, source: 'process' });
  });

  it('counts container credentials (ECS, CodeBuild)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const expiration = new Date(Date.now() + 3_600_000).toISOString();
      res.end(
        JSON.stringify({
          AccessKeyId: 'AKIDCONTAINER',
          SecretAccessKey: 's',
          Token: 't',
          Expiration: expiration,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${port}/creds`);
      const fact = await probeCredentials(defaultProvider({ timeout: 500, maxRetries: 0 }), 5_000);
      expect(fact).toEqual({ found: true, source: 'container' });
    } finally {
      server.close();
    }
  });

  it('finds nothing, quickly, when there is no source at all', async () => {
    const fact = await probeCredentials(defaultProvider({ timeout: 500, maxRetries: 0 }), 5_000);
    expect(fact).toMatchObject({ found: false });
  });
});

describe('npm start with credentials: what it refuses, and the one command to run', () => {
  const found = { found: true, source: 'profile' } as const;

  it("refuses the repository's example certificates.json, naming each placeholder and what to edit", async () => {
    const inventory = await inspectInventory(PROJECT_ROOT, 'certificates.json');
    expect(inventory.problems).toEqual([]);
    expect(inventory.placeholders).toEqual(
      expect.arrayContaining([
        'certificates[0].hostedZones["example.com"]: Z0123456789EXAMPLE is a placeholder zone id',
        'certificates[1].hostedZones["example.org"]: Z0987654321EXAMPLE is a placeholder zone id',
      ]),
    );
    const decision = decideStart({ ...READY, credentials: found, inventory });
    expect(decision).toMatchObject({ action: 'stop', exitCode: 2 });
    const text = decision.notes.join('\n');
    expect(text).toContain('certificates.json is still the example inventory');
    expect(text).toContain('Z0123456789EXAMPLE');
    expect(text).toContain('aws route53 list-hosted-zones');
  });

  it('refuses an invalid inventory with the lines `acme-ari validate` prints', async () => {
    const dir = scratchDir('acme-start-');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ certificates: [{ id: 'Bad Id', domains: [] }] }));
    const inventory = await inspectInventory(dir, 'bad.json');
    expect(inventory.problems.join('\n')).toMatch(/certificates\[0\]\.id/);
    const decision = decideStart({ ...READY, credentials: found, inventory });
    expect(decision).toMatchObject({ action: 'stop', exitCode: 2 });
    expect(decision.notes.join('\n')).toContain('acme-ari validate bad.json');
  });

  it('prints the bootstrap command for the account and region when CDKToolkit is missing', () => {
    const decision = decideStart({
      ...READY,
      credentials: found,
      bootstrap: { state: 'missing', account: '111122223333', region: 'eu-west-1' },
    });
    expect(decision).toMatchObject({ action: 'stop', exitCode: 1 });
    expect(decision.notes).toContain('  npx cdk bootstrap aws://111122223333/eu-west-1');
  });

  it('stops when nobody would hear the alarms, saying how to give an e-mail', () => {
    const decision = decideStart({ ...READY, credentials: found, alarmsHeard: false });
    expect(decision).toMatchObject({ action: 'stop' });
    expect(decision.notes.join('\n')).toContain('-c notificationEmail=ops@example.com');
  });

  it('never adds --require-approval never; passes the user arguments to cdk deploy unchanged', () => {
    const plain = decideStart({ ...READY, credentials: found });
    expect(plain).toMatchObject({ action: 'deploy', command: ['npx', 'cdk', 'deploy'] });
    const given = ['-c', 'notificationEmail=ops@example.com', '--require-approval', 'never'];
    expect(decideStart({ ...READY, credentials: found, args: given })).toMatchObject({
      command: ['npx', 'cdk', 'deploy', ...given],
    });
  });

  it('reads cdk.json context with -c overrides, as cdk does', () => {
    const context = deployContext(PROJECT_ROOT, [
      '-c',
      'notificationEmail=ops@example.com',
      '--context=ca=zerossl',
    ]);
    expect(context).toMatchObject({
      notificationEmail: 'ops@example.com',
      ca: 'zerossl',
      certificatesFile: 'certificates.json',
    });
  });
});

describe('the bootstrap check (CloudFormation DescribeStacks CDKToolkit)', () => {
  const cloudformation = mockClient(CloudFormationClient);
  const sts = mockClient(STSClient);
  beforeEach(() => {
    cloudformation.reset();
    sts.reset();
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
  });
  afterEach(() => vi.unstubAllEnvs());
  const credentials = async () => KEYS;

  it('sees a bootstrapped environment', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [] });
    expect(await checkBootstrap(credentials)).toEqual({ state: 'present' });
  });

  it('reports a missing toolkit stack with the account and region to bootstrap', async () => {
    cloudformation.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: 'Stack with id CDKToolkit does not exist',
      }),
    );
    expect(await checkBootstrap(credentials)).toEqual({
      state: 'missing',
      account: '111122223333',
      region: 'eu-west-1',
    });
  });

  it('leaves any other failure to cdk deploy, saying why it could not check', async () => {
    cloudformation.on(DescribeStacksCommand).rejects(new Error('AccessDenied'));
    const fact = await checkBootstrap(credentials);
    expect(fact).toMatchObject({ state: 'unknown', detail: 'AccessDenied' });
    expect(
      decideStart({ ...READY, credentials: { found: true, source: 'sso' }, bootstrap: fact }).action,
    ).toBe('deploy');
  });
});
