import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** Absolute path of the repository root, so entry points resolve the same way from the CLI and from tests. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** The lock file NodejsFunction uses to find the project root (never used to install: all code is bundled). */
export const DEPS_LOCK_FILE = `${PROJECT_ROOT}/package-lock.json`;

/** Lambda entry points, relative to the project root; each exports `handler`. */
export const HANDLER_ENTRIES = {
  scheduler: 'functions/handlers/scheduler.ts',
  renewer: 'functions/handlers/renewer.ts',
  firstImport: 'functions/handlers/first-import.ts',
} as const;

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
 * does: the infra test that compares the deployed asset, and the benchmarks that measure it.
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
