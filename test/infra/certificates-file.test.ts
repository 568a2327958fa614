import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseInventory } from '../../functions/core/config/inventory';
import { parseScheduleInterval, readAppSettings } from '../../infra/lib/app-settings';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { scratchDir } from '../support/scratch';

const BAD_INVENTORY = {
  certificates: [
    { id: 'good-one', domains: ['example.com'], hostedZones: { 'example.com': 'Z0123456789EXAMPLE' } },
    { id: 'bad-one', domains: ['exa mple.com', '*.example.net'], keyType: 'dsa-1024' },
  ],
};

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the example certificates.json', () => {
  it('is valid and holds two apex + wildcard certificates with a placeholder hosted zone', () => {
    const inventory = parseInventory(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'certificates.json'), 'utf8')),
      'certificates.json',
    );
    expect(inventory.certificates).toHaveLength(2);
    for (const cert of inventory.certificates) {
      const [apex, wildcard] = cert.domains;
      expect(wildcard).toBe(`*.${apex}`);
      expect(Object.values(cert.hostedZones)[0]).toMatch(/^Z[A-Z0-9]+$/);
    }
  });
});

describe('an invalid certificates file', () => {
  it('makes `cdk synth` (the app process) fail naming the file, every bad entry and field', () => {
    const dir = scratchDir('acme-bad-inventory-');
    const file = join(dir, 'certificates.json');
    writeFileSync(file, JSON.stringify(BAD_INVENTORY));
    const result = spawnSync(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['infra/bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: join(dir, 'cdk.out'),
        CDK_CONTEXT_JSON: JSON.stringify({ certificatesFile: file }),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toContain('certificates[1].domains[0]');
    expect(result.stderr).toContain('certificates[1].keyType');
    expect(result.stderr).not.toContain('certificates[0]');
    // A configuration problem is reported plainly, not as a crash.
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('is rejected in-process with every problem listed', () => {
    const dir = scratchDir('acme-bad-inventory-');
    writeFileSync(join(dir, 'certificates.json'), JSON.stringify(BAD_INVENTORY));
    const error = configErrorOf(() => readAppSettings(new App().node, dir));
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['certificates[1].domains[0]', 'certificates[1].keyType']),
    );
  });

  it.each([
    ['not JSON', '{ "certificates": [', 'is not valid JSON'],
    ['missing', undefined, 'cannot be read'],
  ])('reports a file that is %s', (_name, content, message) => {
    const dir = scratchDir('acme-bad-inventory-');
    if (content !== undefined) writeFileSync(join(dir, 'certificates.json'), content);
    const error = configErrorOf(() => readAppSettings(new App().node, dir));
    expect(error.message).toContain('certificates.json');
    expect(error.message).toContain(message);
  });
});

describe('context values', () => {
  it('reports every bad value at once', () => {
    const app = new App({
      context: { ca: 'http://insecure.example/directory', schedule: 'often', notificationEmail: 'nobody' },
    });
    const error = configErrorOf(() => readAppSettings(app.node, PROJECT_ROOT));
    expect(error.problems.map((p) => p.path).sort()).toEqual(['ca', 'notificationEmail', 'schedule']);
  });

  it('accepts a preset CA, a directory URL and an e-mail', () => {
    const preset = readAppSettings(
      new App({ context: { ca: 'letsencrypt-staging', notificationEmail: 'ops@example.com' } }).node,
      PROJECT_ROOT,
    );
    expect(preset.ca.name).toBe('letsencrypt-staging');
    expect(preset.notificationEmail).toBe('ops@example.com');
    const url = readAppSettings(
      new App({ context: { ca: 'https://ca.example/acme/directory' } }).node,
      PROJECT_ROOT,
    );
    expect(url.ca).toMatchObject({ name: 'default', directoryUrl: 'https://ca.example/acme/directory' });
  });

  it.each([
    ['rate(1 hour)', 60],
    ['rate(30 minutes)', 30],
    ['2 hours', 120],
    ['15 minutes', 15],
    ['rate(1 day)', 1440],
    ['hourly', undefined],
    ['rate(1 fortnight)', undefined],
    ['cron(0 * * * ? *)', undefined],
  ])('reads schedule %s as %s minutes', (value, minutes) => {
    expect(parseScheduleInterval(value)?.toMinutes()).toBe(minutes);
  });
});
