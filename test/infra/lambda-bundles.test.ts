import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { eagerOutputs } from '../../bench/lib/bundle';
import { ESBUILD_OPTIONS, HANDLER_ENTRIES, PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { bundleInMemory, type Handler } from './bundles';

// What the Lambda bundles hold and when they load it: the default credential chain replaced by the environment
// provider, and the rarely used clients (first imports, persist records, EAB) in chunks read on first use.

const handlers = Object.keys(HANDLER_ENTRIES) as Handler[];
const built = new Map<Handler, { metafile: Metafile; outdir: string }>();

beforeAll(async () => {
  for (const handler of handlers) built.set(handler, await bundleInMemory(handler));
});

/** Input paths (project sources and node_modules files) of the outputs `select` keeps. */
function inputsOf(
  handler: Handler,
  select: (output: string, eager: ReadonlySet<string>) => boolean,
): string[] {
  const { metafile, outdir } = built.get(handler)!;
  const index = Object.keys(metafile.outputs).find(
    (path) => join(PROJECT_ROOT, path) === join(outdir, 'index.mjs'),
  );
  expect(index, `${handler}: no index.mjs among the outputs`).toBeDefined();
  const eager = eagerOutputs(metafile, index!);
  return Object.entries(metafile.outputs)
    .filter(([path]) => select(path, eager))
    .flatMap(([, output]) => Object.entries(output.inputs))
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
}

const CREDENTIAL_CHAIN = [
  /node_modules\/@aws-sdk\/credential-provider-(node|sso|ini|process|web-identity|login|http)\//,
  /node_modules\/@aws-sdk\/nested-clients\//,
  /node_modules\/@aws-sdk\/token-providers\//,
  /node_modules\/@smithy\/credential-provider-imds\//,
];

describe('the Lambda bundles', () => {
  it.each(handlers)(
    '%s reads credentials from the environment only: no default chain, no nested clients',
    (handler) => {
      const inputs = inputsOf(handler, () => true);
      expect(inputs).toContain('functions/adapters/lambda-credentials.ts');
      expect(inputs.filter((path) => CREDENTIAL_CHAIN.some((pattern) => pattern.test(path)))).toEqual([]);
    },
  );

  it('loads the Lambda, Secrets Manager and STS clients of the renewer only on first use', () => {
    const lazyOnly =
      /node_modules\/@aws-sdk\/client-(lambda|secrets-manager|sts)\/|functions\/adapters\/(lambda-first-import|lambda-persist-record|lambda-invoke|secrets-reader|sts-assume-role)\.ts$/;
    const eager = inputsOf('renewer', (path, e) => e.has(path));
    const lazy = inputsOf('renewer', (path, e) => !e.has(path) && path.endsWith('.mjs'));
    expect(eager.filter((path) => lazyOnly.test(path))).toEqual([]);
    expect(lazy).toEqual(
      expect.arrayContaining([
        'functions/adapters/lambda-first-import.ts',
        'functions/adapters/lambda-persist-record.ts',
        'functions/adapters/secrets-reader.ts',
        'functions/adapters/sts-assume-role.ts',
        expect.stringMatching(/node_modules\/@aws-sdk\/client-sts\//),
      ]),
    );
  });

  it.each(handlers)(
    '%s bundles no X.509 library: CSRs are written and certificates read on der*.ts',
    (handler) => {
      const pkiLibrary = /node_modules\/(@peculiar\/|asn1js\/|tsyringe\/)/;
      expect(inputsOf(handler, () => true).filter((path) => pkiLibrary.test(path))).toEqual([]);
    },
  );
});

describe("zod's JIT in the deployed bundles (functions/composition/one-shot-parsing.ts)", () => {
  const root = join(PROJECT_ROOT, '.cache', 'jit-check');

  /** Imports the handler's bundle in a fresh process with `Function` watched: zod's JIT probes it as schemas build. */
  async function functionConstructsAtImport(handler: Handler): Promise<number> {
    const dir = join(root, handler);
    rmSync(dir, { recursive: true, force: true });
    for (const [path, text] of (await bundleInMemory(handler)).files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const script = `let made = 0;
globalThis.Function = new Proxy(globalThis.Function, { construct: (t, a) => { made += 1; return Reflect.construct(t, a); } });
await import(${JSON.stringify(join(dir, 'index.mjs'))});
process.stdout.write(String(made));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(out.status, out.stderr).toBe(0);
    return Number(out.stdout.trim().split('\n').pop());
  }

  it('the renewer and first-import bundles build every schema with the JIT off, whatever order esbuild chose', async () => {
    expect(await functionConstructsAtImport('renewer')).toBe(0);
    expect(await functionConstructsAtImport('firstImport')).toBe(0);
  });

  it('the scheduler bundle keeps it (zod probes new Function once when it builds the state schema)', async () => {
    expect(await functionConstructsAtImport('scheduler')).toBeGreaterThan(0);
  });
});

describe('the environment credential provider, bundled as the functions bundle it', () => {
  const dir = join(PROJECT_ROOT, '.cache', 'credentials-check');
  // An SDK call against a closed port: with credentials it fails to connect, without them before signing.
  const probe = `import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
try { await client.send(new ListBucketsCommand({})); } catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }`;

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await build({
      ...ESBUILD_OPTIONS,
      stdin: { contents: probe, resolveDir: PROJECT_ROOT, loader: 'ts', sourcefile: 'probe.ts' },
      entryNames: 'probe',
      outdir: dir,
      write: true,
    });
  });

  const run = (env: Record<string, string>) => {
    const out = spawnSync(process.execPath, [join(dir, 'probe.mjs')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    });
    expect(out.status, out.stderr).toBe(0);
    return JSON.parse(out.stdout.trim().split('\n').pop()!) as {
      name: string;
      code?: string;
      message: string;
    };
  };

  it('signs with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN', () => {
    const failure = run({
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });
    // Past signing: the request went out and found the port closed.
    expect(failure.message).toMatch(/ECONNREFUSED/);
  });

  it('names the missing variables instead of trying profiles, SSO or the metadata services', () => {
    const failure = run({ HOME: dir, AWS_ACCESS_KEY_ID: 'AKID' });
    expect(failure).toMatchObject({ name: 'AcmeAwsError', code: 'config-invalid' });
    expect(failure.message).toMatch(/^no AWS credentials: AWS_SECRET_ACCESS_KEY is not set\./);
    expect(failure.message).toContain('environment only');
  });
});
