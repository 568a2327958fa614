import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config/inventory';
import { AcmeCertificates, type AcmeCertificatesProps } from '../../infra/lib/acme-certificates';
import { readAppSettings } from '../../infra/lib/app-settings';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { scratchDir } from '../support/scratch';
import { cdkJsonContext } from './synth';

const INVENTORY = {
  certificates: [
    { id: 'www', domains: ['example.com'], hostedZones: { 'example.com': 'Z0123456789EXAMPLE' } },
  ],
};

/** Builds the construct without bundling; returns its template, or throws what synthesis throws. */
function construct(props: (stack: Stack) => Partial<AcmeCertificatesProps>): Template {
  // Without an outdir, CDK synthesizes into a folder of its own under os.tmpdir() and leaves it there.
  const app = new App({
    outdir: scratchDir('acme-alarms-'),
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'Alarms');
  new AcmeCertificates(stack, 'Certificates', { inventory: INVENTORY, ...props(stack) });
  return Template.fromStack(stack);
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('alarms someone hears', () => {
  it('fails synthesis when nobody would receive the alarms, naming the prop and every way out', () => {
    const error = configErrorOf(() => construct(() => ({})));
    expect(error.problems.map((p) => p.path)).toEqual(['notificationEmail']);
    expect(error.message).toContain('nobody would receive the alarms');
    expect(error.message).toContain('-c notificationEmail=');
    expect(error.message).toContain('alarmTopic');
    expect(error.message).toContain('alarmsWithoutSubscriber: true');
  });

  it('subscribes the e-mail to the new alarm topic', () => {
    const template = construct(() => ({ notificationEmail: 'ops@example.com' }));
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('accepts an existing topic as the subscriber (its owner subscribes to it)', () => {
    const template = construct((stack) => ({
      alarmTopic: new sns.Topic(stack, 'Mine', { enforceSSL: true }),
    }));
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('deploys silent alarms only when the user opts out explicitly', () => {
    const template = construct(() => ({ alarmsWithoutSubscriber: true }));
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(4);
    expect(() => construct(() => ({ alarmsWithoutSubscriber: false }))).toThrow(ConfigError);
  });
});

describe('the app (cdk.json context)', () => {
  it('reads the opt-out from context and rejects a value that is not true or false', () => {
    const settings = readAppSettings(
      new App({ context: { alarmsWithoutSubscriber: 'true' } }).node,
      PROJECT_ROOT,
    );
    expect(settings.alarmsWithoutSubscriber).toBe(true);
    const error = configErrorOf(() =>
      readAppSettings(new App({ context: { alarmsWithoutSubscriber: 'yes' } }).node, PROJECT_ROOT),
    );
    expect(error.problems.map((p) => p.path)).toEqual(['alarmsWithoutSubscriber']);
  });

  it('makes `cdk synth` without notificationEmail fail plainly, saying what to set', () => {
    const dir = scratchDir('acme-no-subscriber-');
    const result = spawnSync(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['infra/bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: join(dir, 'cdk.out'),
        // No bundling: the check runs before any asset is built, and esbuild would only slow this down.
        CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] }),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('notificationEmail: nobody would receive the alarms');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
