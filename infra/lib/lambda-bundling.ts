import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

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

/** The lock file NodejsFunction uses to find the project root (never used to install: all code is bundled). */
export const DEPS_LOCK_FILE = `${PROJECT_ROOT}/package-lock.json`;

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

/** The folder holding a handler's prebuilt `index.mjs` (and its source map), deployed as the function's code. */
export function prebuiltBundleDir(handler: keyof typeof HANDLER_ENTRIES): string {
  return `${PREBUILT_BUNDLES_DIR}/${bundleName(handler)}`;
}

/** The newest Node.js runtime this aws-cdk-lib knows, but never older than Node.js 22. */
export const LAMBDA_RUNTIME: Runtime =
  (Runtime as unknown as Record<string, Runtime | undefined>).NODEJS_24_X ?? Runtime.NODEJS_22_X;

/** esbuild target matching the runtime (e.g. `node24`), so syntax is never lowered needlessly. */
export const ESBUILD_TARGET = LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1');

/**
 * Some bundled dependencies still call `require` (AWS SDK internals); in an ES module bundle it must be
 * recreated, or the function fails at cold start with "Dynamic require of ... is not supported".
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __acmeCreateRequire } from 'node:module';const require = __acmeCreateRequire(import.meta.url);";

/**
 * How both functions are bundled: locally with esbuild (never Docker), ES modules, minified, with external
 * source maps and the AWS SDK bundled in, so the code that runs is exactly the code that was tested rather
 * than whatever SDK version the runtime happens to ship.
 */
export const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  target: ESBUILD_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
  bundleAwsSDK: true,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
};

/**
 * {@link BUNDLING} spelled as esbuild build options, for the tools that must bundle exactly as the construct
 * does: the package build that writes the prebuilt bundles, the infra test that compares the deployed asset,
 * and the benchmarks that measure it.
 */
export const ESBUILD_OPTIONS = {
  absWorkingDir: PROJECT_ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: BUNDLING.target!,
  minify: BUNDLING.minify!,
  sourcemap: BUNDLING.sourceMap!,
  sourcesContent: BUNDLING.sourcesContent!,
  mainFields: [...BUNDLING.mainFields!],
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: 'silent',
} as const satisfies BuildOptions;
