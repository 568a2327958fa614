import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions, OutputFile } from 'esbuild';

/**
 * The nearest folder above `from` holding a package.json: this module runs from `infra/lib/` in a checkout and
 * from `dist/` inside the installed npm package, and both find the package root this way.
 */
function packageRootAbove(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    // None at all (a copied-out file): the start folder, where the missing bundles are then reported by name.
    if (dirname(dir) === dir) return from;
  }
}

/**
 * Absolute path of the package root (the repository checkout, or the installed package), so entry points and
 * bundles resolve the same way from the CLI, from tests and from a consumer's CDK app.
 */
export const PROJECT_ROOT = packageRootAbove(dirname(fileURLToPath(import.meta.url)));

/** Lambda entry points, relative to the project root; each exports `handler`. */
export const HANDLER_ENTRIES = {
  scheduler: 'functions/handlers/scheduler.ts',
  renewer: 'functions/handlers/renewer.ts',
  firstImport: 'functions/handlers/first-import.ts',
} as const;

/** Where `npm run build` writes the prebuilt handler bundles the npm package ships, one folder per handler. */
export const PREBUILT_BUNDLES_DIR = `${PROJECT_ROOT}/dist/lambda`;

/** The folder name of a handler's prebuilt bundle: its entry's file name (`first-import` for `first-import.ts`). */
export function bundleName(handler: keyof typeof HANDLER_ENTRIES): string {
  return basename(HANDLER_ENTRIES[handler], '.ts');
}

/** The folder holding a handler's prebuilt `index.mjs`, its chunks and their source maps: the function's code. */
export function prebuiltBundleDir(handler: keyof typeof HANDLER_ENTRIES): string {
  return `${PREBUILT_BUNDLES_DIR}/${bundleName(handler)}`;
}

/**
 * NODE_OPTIONS of every function: stack traces name the TypeScript sources (Node.js 24 reads a map only when a
 * trace needs it, so this costs the cold start next to nothing; bench section 3).
 */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

/** The newest Node.js runtime this aws-cdk-lib knows, but never older than Node.js 22. */
export const LAMBDA_RUNTIME: Runtime =
  (Runtime as unknown as Record<string, Runtime | undefined>).NODEJS_24_X ?? Runtime.NODEJS_22_X;

/** esbuild target matching the runtime (e.g. `node24`), so syntax is never lowered needlessly. */
export const ESBUILD_TARGET = LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1');

/**
 * Some bundled dependencies still call `require` (AWS SDK internals); in an ES module bundle it must be
 * recreated, or the function fails at cold start with "Dynamic require of ... is not supported". esbuild writes
 * the banner at the top of every output file, so each chunk has its own.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __acmeCreateRequire } from 'node:module';const require = __acmeCreateRequire(import.meta.url);";

/** The folder, inside a bundle, of the chunks `index.mjs` imports (statically or on first use). */
export const CHUNKS_DIR = 'chunks';

/**
 * Packages the Lambda bundles replace, and only they (the CLI, the demo and the tests keep the real ones).
 *
 * `@aws-sdk/credential-provider-node` is the SDK's default credential chain: environment, SSO, shared ini files
 * (with their role assumption and `login` sessions), `credential_process`, web identity tokens, and the container
 * and EC2 metadata services. Every client's runtime config imports it, and its providers bring the SDK's nested
 * STS, SSO, SSO OIDC and sign-in clients. In Lambda the first link always answers: the runtime puts the
 * execution role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (so do this
 * project's moto runs, test/deploy). functions/adapters/lambda-credentials.ts is that first link alone, with an
 * error naming the variables when they are missing: about 100 kB less in every function's code (most of it was
 * already a chunk behind the chain's own `import()`, so a cold start loads about 10 kB less).
 */
export const LAMBDA_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './functions/adapters/lambda-credentials.ts',
};

/**
 * How the three functions are bundled, by the construct at synthesis (in a checkout), by the package build that
 * writes the prebuilt bundles, by the tests that compare the deployed asset and by the benchmarks that measure it:
 * locally with esbuild (never Docker), ES modules, minified, with external source maps (Lambda runs with
 * `--enable-source-maps`, so operators read stack traces in the TypeScript sources) and the AWS SDK bundled in,
 * so the code that runs is exactly the code that was tested rather than whatever SDK version the runtime ships.
 *
 * Split: each module loaded with `import()` (the Lambda client of first imports and persist records, Secrets
 * Manager for EAB, what the SDK itself loads on demand) is a chunk under {@link CHUNKS_DIR} that Node.js reads and
 * compiles only when it is first used; code shared by the entry and such a chunk is a chunk `index.mjs` imports
 * statically. Every output is `.mjs`: a Lambda code folder has no package.json saying `"type": "module"`.
 * Use {@link lambdaBuildOptions}, which adds the entry and the output folder.
 */
export const ESBUILD_OPTIONS = {
  absWorkingDir: PROJECT_ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ESBUILD_TARGET,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  splitting: true,
  chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
  outExtension: { '.js': '.mjs' },
  alias: LAMBDA_ALIASES,
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * The folder esbuild is told a bundle of `entry` goes to: `dist/lambda/<entry's file name>`, where `npm run build`
 * writes the prebuilt handlers. Source maps name the sources relative to it and chunk names hash the maps, so
 * every build of a handler (at synthesis, for the package, in the tests and the benchmarks) is told this same
 * folder, builds in memory, and writes the files where it needs them ({@link writeBundle}): the same bytes
 * whatever the checkout's path or the cloud assembly's.
 */
export function bundleOutdir(entry: string): string {
  return join(PREBUILT_BUNDLES_DIR, basename(entry, '.ts'));
}

/**
 * The complete esbuild options for one Lambda bundle: `entry` (relative to the project root) bundled in memory as
 * `index.mjs` (the `index.handler` of the function), its chunks under `chunks/`, each with its source map.
 */
export function lambdaBuildOptions(entry: string) {
  return {
    ...ESBUILD_OPTIONS,
    entryPoints: { index: join(PROJECT_ROOT, entry) },
    outdir: bundleOutdir(entry),
    write: false,
  } satisfies BuildOptions;
}

/** A bundle's files by their path inside the function's code folder (`index.mjs`, `chunks/…`), sorted. */
export type BundleFiles = ReadonlyMap<string, Uint8Array>;

/** The output files of a build made with {@link lambdaBuildOptions}`(entry)`, by path inside the code folder. */
export function bundleFiles(entry: string, outputFiles: readonly OutputFile[]): BundleFiles {
  const outdir = bundleOutdir(entry);
  return new Map(
    outputFiles
      .map((file) => [relative(outdir, file.path).split(sep).join('/'), file.contents] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** Writes a bundle's files into `dir` (created when missing). */
export function writeBundle(files: BundleFiles, dir: string): void {
  for (const [path, contents] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), contents);
  }
}

/**
 * Bundles a handler into `dir` synchronously (CDK's local bundling cannot wait for a promise). esbuild is a
 * development dependency: it is loaded only here, from a checkout's node_modules, and never by the installed
 * package, which deploys its prebuilt bundles instead (a `require` made at run time keeps it out of dist/index.js).
 */
export function bundleHandlerSync(handler: keyof typeof HANDLER_ENTRIES, dir: string): void {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const entry = HANDLER_ENTRIES[handler];
  const result = esbuild.buildSync({ ...lambdaBuildOptions(entry), logLevel: 'warning' });
  writeBundle(bundleFiles(entry, result.outputFiles), dir);
}
