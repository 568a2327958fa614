// Builds what the npm package ships (`npm run build`, run by `prepack`), into dist/:
//   dist/index.js              the construct library (infra/index.ts) as one ES module; packages stay imports
//   dist/types/**/*.d.ts       its declarations, with relative specifiers that resolve under NodeNext too
//   dist/lambda/<name>/        each handler prebuilt with the construct's own esbuild options (lambdaBuildOptions):
//                              index.mjs, the chunks/ it loads, and their source maps
//   dist/cli/main.mjs          the `acme-ari` CLI, so the installed bin needs no tsx
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import {
  bundleFiles,
  ESM_REQUIRE_BANNER,
  HANDLER_ENTRIES,
  lambdaBuildOptions,
  PROJECT_ROOT,
  prebuiltBundleDir,
  writeBundle,
} from '../infra/lib/lambda-bundling';

const DIST = join(PROJECT_ROOT, 'dist');

/** The packages the built library and CLI import at run time: the package's own dependencies and peers. */
function runtimePackages(): string[] {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
}

/**
 * Never bundled although not dependencies: `doctor`'s IAM policy evaluator (AGPL-3.0, about 19 MB with its IAM
 * data) is loaded only when the operator installed it (functions/cli/doctor-permissions.ts).
 */
const OPTIONAL_PACKAGES: readonly string[] = ['@cloud-copilot/iam-simulate'];

/**
 * Dependencies and peers stay imports, resolved from the consumer's node_modules; anything else shipped code
 * reaches (a development dependency) is bundled in.
 */
function externalsFor(packages: readonly string[]): string[] {
  return packages.flatMap((name) => [name, `${name}/*`]);
}

/** The handlers, exactly as the construct bundles them from source, so the package deploys the tested code. */
async function buildHandlers(): Promise<void> {
  for (const [handler, entry] of Object.entries(HANDLER_ENTRIES) as [
    keyof typeof HANDLER_ENTRIES,
    string,
  ][]) {
    const result = await build({ ...lambdaBuildOptions(entry), logLevel: 'warning' });
    writeBundle(bundleFiles(entry, result.outputFiles), prebuiltBundleDir(handler));
  }
}

/** The construct library and the CLI: readable (not minified) ES modules for Node.js 20.19 and newer. */
async function buildLibraryAndCli(): Promise<void> {
  const common = {
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // As the handlers: the ES module builds of bundled packages, and `require` for their CommonJS parts.
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: externalsFor([...runtimePackages(), ...OPTIONAL_PACKAGES]),
    logLevel: 'warning',
  } satisfies BuildOptions;
  await build({
    ...common,
    entryPoints: [join(PROJECT_ROOT, 'infra/index.ts')],
    outfile: join(DIST, 'index.js'),
  });
  // Split, so the test bed behind `--bed` (a checkout's tool) is loaded only when asked for.
  await build({
    ...common,
    entryPoints: { main: join(PROJECT_ROOT, 'functions/cli/main.ts') },
    outdir: join(DIST, 'cli'),
    outExtension: { '.js': '.mjs' },
    splitting: true,
  });
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarationFiles(path);
    return path.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The sources import relative modules without an extension (Bundler resolution); under NodeNext a declaration
 * file's `./x` resolves only as `./x.js` (or `./x/index.js`), so each relative specifier gets the one that exists.
 */
function withNodeNextSpecifiers(file: string): string {
  const text = readFileSync(file, 'utf8');
  const rewrite = (specifier: string): string => {
    if (!specifier.startsWith('.') || /\.(m?js|json)$/.test(specifier)) return specifier;
    const target = resolve(dirname(file), specifier);
    if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
    if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.js`;
    throw new Error(`${file}: no declaration for ${specifier}`);
  };
  return text
    .replace(/(\bfrom\s*')([^']+)(')/g, (_, a: string, s: string, b: string) => `${a}${rewrite(s)}${b}`)
    .replace(/(\bimport\(\s*')([^']+)(')/g, (_, a: string, s: string, b: string) => `${a}${rewrite(s)}${b}`);
}

function buildDeclarations(): void {
  const tsc = spawnSync(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed with exit code ${tsc.status}`);
  for (const file of declarationFiles(join(DIST, 'types'))) writeFileSync(file, withNodeNextSpecifiers(file));
}

rmSync(DIST, { recursive: true, force: true });
await buildHandlers();
await buildLibraryAndCli();
buildDeclarations();
