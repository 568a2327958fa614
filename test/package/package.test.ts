import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleName, HANDLER_ENTRIES, LAMBDA_RUNTIME, PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { bundleInMemory, readCodeFolder } from '../infra/bundles';

// The package as a user gets it: `npm pack` (its prepack runs `npm run build`), the tarball installed into a
// scratch CDK app in a temporary folder, which is type checked, synthesized in plain JavaScript, and whose
// `acme-ari` bin is run. Offline on a fresh clone: npm's cache holds the tarballs `npm ci` fetched but not the
// registry metadata a range install needs, so the app links its dependencies and the peers (aws-cdk-lib,
// constructs) to this repository's installed copies; the acme-ari-aws tarball itself is installed by npm.

const REPO_MODULES = join(PROJECT_ROOT, 'node_modules');
const ZONE = 'Z0123456789ABCDEFGHIJ';
const ACM_ARN = (n: number) =>
  `arn:aws:acm:eu-west-1:123456789012:certificate/0000000${n}-1111-2222-3333-444444444444`;

/** The README's example, with the type checks that fail if an import silently resolved to `any`. */
const APP_TS = `import { App, Stack } from 'aws-cdk-lib';
import { AcmeCa, AcmeCertificates, type AcmeCertificatesProps, AcmeStack } from 'acme-ari-aws';

const app = new App();
const stack = new Stack(app, 'Certificates', { env: { account: '123456789012', region: 'eu-west-1' } });
const props: AcmeCertificatesProps = {
  ca: AcmeCa.letsEncryptStaging({ contact: ['mailto:ops@example.com'] }),
  notificationEmail: 'ops@example.com',
  inventory: {
    certificates: [
      { id: 'www', domains: ['example.com', 'www.example.com'], hostedZones: { 'example.com': '${ZONE}' } },
      { id: 'api', domains: ['api.example.com'], hostedZones: { 'example.com': '${ZONE}' } },
    ],
  },
};
const acme = new AcmeCertificates(stack, 'Acme', props);
acme.renewerFunction.addEnvironment('EXTRA', 'x');

type IsAny<T> = 0 extends 1 & T ? true : false;
export const typed: [IsAny<typeof AcmeCa>, IsAny<typeof AcmeCertificates>, IsAny<AcmeCertificatesProps>, IsAny<typeof AcmeStack>] =
  [false, false, false, false];
// @ts-expect-error renewerConcurrency is a number: the props are typed, not any
export const wrong: AcmeCertificatesProps = { ...props, renewerConcurrency: 'two' };
`;

/** The same app in plain JavaScript, run by Node.js: two certificates with known ACM ARNs for their alarms. */
const APP_MJS = `import { App, Stack } from 'aws-cdk-lib';
import { AcmeCa, AcmeCertificates } from 'acme-ari-aws';

const app = new App({ outdir: process.env.CDK_OUTDIR });
const stack = new Stack(app, 'Certificates', { env: { account: '123456789012', region: 'eu-west-1' } });
new AcmeCertificates(stack, 'Acme', {
  ca: AcmeCa.letsEncryptStaging({ contact: ['mailto:ops@example.com'] }),
  notificationEmail: 'ops@example.com',
  inventory: {
    certificates: [
      { id: 'www', domains: ['example.com', 'www.example.com'], hostedZones: { 'example.com': '${ZONE}' } },
      { id: 'api', domains: ['api.example.com'], hostedZones: { 'example.com': '${ZONE}' } },
    ],
  },
  knownCertificateArns: { www: '${ACM_ARN(1)}', api: '${ACM_ARN(2)}' },
});
app.synth();
`;

const tsconfig = (resolution: 'NodeNext' | 'Bundler') => ({
  compilerOptions: {
    target: 'ES2022',
    module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext',
    moduleResolution: resolution,
    strict: true,
    noEmit: true,
    types: ['node'],
    // A consumer's usual setting; the declarations' own specifiers are checked separately below.
    skipLibCheck: true,
  },
  files: ['app.ts'],
});

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    timeout: 180_000,
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
  };
}

function mustRun(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const { status, stdout, output } = run(command, args, cwd, env);
  if (status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${status}) in ${cwd}:\n${output}`);
  return stdout;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

type Resource = { Type: string; Properties: Record<string, unknown> };

let work: string;
let appDir: string;
let packed: string[];
let template: { Resources: Record<string, Resource> };
let outdir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'acme-package-'));
  // `npm pack` runs prepack (`npm run build`), whose lines come before the JSON report.
  const report = mustRun('npm', ['pack', '--json', '--pack-destination', work], PROJECT_ROOT);
  const [pack] = JSON.parse(report.slice(report.search(/^\[$/m))) as {
    filename: string;
    files: { path: string }[];
  }[];
  packed = pack!.files.map((f) => f.path);

  appDir = join(work, 'app');
  mkdirSync(appDir);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  const linked = (names: readonly string[]) =>
    Object.fromEntries(names.map((name) => [name, `file:${join(REPO_MODULES, name)}`]));
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({
      name: 'scratch-cdk-app',
      private: true,
      type: 'module',
      dependencies: {
        'acme-ari-aws': `file:${join(work, pack!.filename)}`,
        ...linked([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]),
      },
      devDependencies: linked(['typescript', '@types/node']),
    }),
  );
  // --ignore-scripts: the linked folders are this repository's own; npm must not run their lifecycle scripts.
  mustRun('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], appDir);
  writeFileSync(join(appDir, 'app.ts'), APP_TS);
  writeFileSync(join(appDir, 'app.mjs'), APP_MJS);
  for (const resolution of ['NodeNext', 'Bundler'] as const) {
    writeFileSync(join(appDir, `tsconfig.${resolution}.json`), JSON.stringify(tsconfig(resolution)));
  }

  outdir = join(appDir, 'cdk.out');
  mustRun(process.execPath, ['app.mjs'], appDir, { CDK_OUTDIR: outdir });
  template = JSON.parse(readFileSync(join(outdir, 'Certificates.template.json'), 'utf8')) as typeof template;
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const resourcesOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

const DESCRIPTIONS = {
  scheduler: /Checks ACME Renewal Information/,
  renewer: /Renews one certificate/,
  firstImport: /Creates new ACM certificates/,
} as const satisfies Record<keyof typeof HANDLER_ENTRIES, RegExp>;

const functionOf = (handler: keyof typeof HANDLER_ENTRIES): Resource => {
  const found = resourcesOf('AWS::Lambda::Function').find((r) =>
    DESCRIPTIONS[handler].test(String(r.Properties.Description)),
  );
  if (!found) throw new Error(`no ${handler} function in the consumer's template`);
  return found;
};

const assetDirOf = (handler: keyof typeof HANDLER_ENTRIES): string => {
  const code = functionOf(handler).Properties.Code as { S3Key: string };
  return join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
};

describe('the npm package', () => {
  it('ships the built library, its declarations, the prebuilt handlers and the CLI, and no TypeScript source', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/acme-ari.mjs',
        'dist/index.js',
        'dist/types/infra/index.d.ts',
        'dist/cli/main.mjs',
        ...Object.keys(HANDLER_ENTRIES).flatMap((h) => {
          const name = bundleName(h as keyof typeof HANDLER_ENTRIES);
          return [`dist/lambda/${name}/index.mjs`, `dist/lambda/${name}/index.mjs.map`];
        }),
      ]),
    );
    // Each handler's chunks ship beside its index.mjs, every one with its map.
    for (const h of Object.keys(HANDLER_ENTRIES) as (keyof typeof HANDLER_ENTRIES)[]) {
      const chunks = packed.filter((path) => path.startsWith(`dist/lambda/${bundleName(h)}/chunks/`));
      expect(chunks.length, `${h}: no chunks packed`).toBeGreaterThan(0);
      expect(chunks.filter((path) => path.endsWith('.mjs')).map((path) => `${path}.map`)).toEqual(
        chunks.filter((path) => path.endsWith('.mjs.map')),
      );
    }
    expect(packed.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(packed.filter((path) => /^(functions|infra|test|scripts|bench)\//.test(path))).toEqual([]);
  });

  it('has declarations whose relative imports resolve under NodeNext (explicit .js, to a shipped .d.ts)', () => {
    const types = join(appDir, 'node_modules', 'acme-ari-aws', 'dist', 'types');
    const unresolved = filesUnder(types)
      .filter((file) => file.endsWith('.d.ts'))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\(\s*)'(\.{1,2}\/[^']*)'/g)]
          .map((match) => match[1]!)
          .filter((specifier) => {
            const target = resolve(dirname(file), specifier);
            return !specifier.endsWith('.js') || !existsSync(target.replace(/\.js$/, '.d.ts'));
          })
          .map((specifier) => `${relative(types, file)}: ${specifier}`),
      );
    expect(unresolved).toEqual([]);
  });

  it.each(['NodeNext', 'Bundler'] as const)(
    'type checks a TypeScript CDK app under %s resolution',
    (resolution) => {
      const tsc = join(appDir, 'node_modules', 'typescript', 'bin', 'tsc');
      const { status, output } = run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], appDir);
      expect(output).toBe('');
      expect(status).toBe(0);
    },
  );

  it('synthesizes the three functions, on the Lambda runtime, arm64, from the bundles the package ships', () => {
    const tree = readFileSync(join(outdir, 'tree.json'), 'utf8');
    // Deployed as they are: no esbuild, Docker or lock file in the consumer's app.
    expect(tree).not.toContain('aws_lambda_nodejs.NodejsFunction');
    for (const handler of Object.keys(HANDLER_ENTRIES) as (keyof typeof HANDLER_ENTRIES)[]) {
      expect(functionOf(handler).Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: LAMBDA_RUNTIME.name,
        Architectures: ['arm64'],
      });
      expect(readdirSync(assetDirOf(handler)).sort()).toEqual(['chunks', 'index.mjs', 'index.mjs.map']);
    }
    expect(LAMBDA_RUNTIME.name).toBe('nodejs24.x');
  });

  it.each(Object.keys(HANDLER_ENTRIES) as (keyof typeof HANDLER_ENTRIES)[])(
    'deploys as the %s function byte for byte what esbuild makes of this repository’s source',
    async (handler) => {
      // index.mjs, every chunk and every source map: the same folder esbuild makes, byte for byte.
      const expected = await bundleInMemory(handler);
      expect(Object.fromEntries(readCodeFolder(assetDirOf(handler)))).toEqual(
        Object.fromEntries(expected.files),
      );
    },
  );

  it('keeps both certificates: in the uploaded inventory, each with its ACM expiry alarm, every alarm heard', () => {
    const inventoryAsset = readdirSync(outdir)
      .map((name) => join(outdir, name, 'inventory.json'))
      .find((path) => existsSync(path));
    const inventory = JSON.parse(readFileSync(inventoryAsset!, 'utf8')) as { certificates: { id: string }[] };
    expect(inventory.certificates.map((c) => c.id)).toEqual(['www', 'api']);

    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map((r) => r.Properties);
    expect(alarms.map((a) => a.MetricName)).toEqual(
      expect.arrayContaining(['RenewalFailed', 'MinDaysToExpiry', 'DaysToExpiry']),
    );
    const acmAlarms = alarms.filter((a) => a.Namespace === 'AWS/CertificateManager');
    expect(acmAlarms.map((a) => a.Dimensions)).toEqual([
      [{ Name: 'CertificateArn', Value: ACM_ARN(1) }],
      [{ Name: 'CertificateArn', Value: ACM_ARN(2) }],
    ]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
    expect(resourcesOf('AWS::SNS::Subscription').map((r) => r.Properties)).toEqual([
      expect.objectContaining({ Protocol: 'email', Endpoint: 'ops@example.com' }),
    ]);
  });

  it('loads with require() too, as a CommonJS CDK app (cdk init’s default) does on Node.js 20.19 and newer', () => {
    const script =
      "const { AcmeCa } = require('acme-ari-aws'); console.log(AcmeCa.letsEncrypt().directoryUrl);";
    const { status, stdout, output } = run(process.execPath, ['-e', script], appDir);
    expect(status, output).toBe(0);
    expect(stdout.trim()).toBe('https://acme-v02.api.letsencrypt.org/directory');
  });

  it('runs `npx acme-ari` from the installed package without tsx: validate lists every problem', () => {
    expect(existsSync(join(appDir, 'node_modules', 'tsx'))).toBe(false);
    writeFileSync(
      join(appDir, 'good.json'),
      JSON.stringify({ certificates: [{ id: 'www', domains: ['www.example.com'] }] }),
    );
    writeFileSync(
      join(appDir, 'bad.json'),
      JSON.stringify({
        certificates: [
          { id: 'a', domains: ['bad domain'] },
          { id: 'a', domains: [] },
        ],
      }),
    );
    const good = run('npx', ['--offline', '--no-install', 'acme-ari', 'validate', 'good.json'], appDir);
    expect(good.status, good.output).toBe(0);
    const bad = run('npx', ['--offline', '--no-install', 'acme-ari', 'validate', 'bad.json'], appDir);
    expect(bad.status, bad.output).toBe(2);
    expect(bad.output).toContain('certificates[0].domains[0]');
    expect(bad.output).toContain('certificates[1]');
  });
});
