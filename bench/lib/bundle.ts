import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS, PROJECT_ROOT } from '../../infra/lib/lambda-bundling';

/** Where bench bundles go (git-ignored). */
export const BENCH_CACHE = join(PROJECT_ROOT, '.cache', 'bench');

/** A bundle written to disk. */
export interface Bundle {
  readonly path: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** The packages (or `functions/`) contributing most bytes to the output, largest first. */
  readonly topInputs: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

/** Groups an input path by npm package (`@scope/name`, `name`) or by top-level folder for our own code. */
function owner(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match ? match[1]! : path.split('/')[0]!;
}

/**
 * Bundles one entry with the options the CDK construct uses for the Lambda functions (infra/lib/lambda-bundling.ts:
 * ESM, minified, external source map, the `require` banner, the runtime's Node target, module-first main fields),
 * so what is measured is what is deployed. The infra test checks those options produce the deployed asset.
 */
export async function bundleLikeLambda(entry: string, name: string): Promise<Bundle> {
  const outdir = join(BENCH_CACHE, name);
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  const result = await build({
    ...ESBUILD_OPTIONS,
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile,
    metafile: true,
  });
  const byOwner = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      byOwner.set(owner(path), (byOwner.get(owner(path)) ?? 0) + bytesInOutput);
    }
  }
  const topInputs = [...byOwner.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
  return {
    path: outfile,
    bytes: statSync(outfile).size,
    mapBytes: statSync(`${outfile}.map`).size,
    topInputs,
  };
}
