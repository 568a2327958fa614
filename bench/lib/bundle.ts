import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { bundleFiles, lambdaBuildOptions, PROJECT_ROOT, writeBundle } from '../../infra/lib/lambda-bundling';

/** Where bench bundles go (git-ignored). */
export const BENCH_CACHE = join(PROJECT_ROOT, '.cache', 'bench');

/** Bytes by package (`@scope/name`, `name`) or by top-level folder for our own code, largest first. */
export type Inputs = ReadonlyArray<{ readonly name: string; readonly bytes: number }>;

/** A bundle written to disk: `index.mjs` and its chunks, as the function's code folder holds them. */
export interface Bundle {
  /** `index.mjs`, the module Lambda imports. */
  readonly path: string;
  /** `index.mjs` alone. */
  readonly bytes: number;
  /** Its source map. */
  readonly mapBytes: number;
  /** `index.mjs` and every chunk it imports statically: what a cold start reads and compiles. */
  readonly eagerBytes: number;
  readonly eagerFiles: number;
  /** Chunks reached only through `import()`: read when first used (a first import, EAB, an SDK fallback). */
  readonly lazyBytes: number;
  readonly lazyFiles: number;
  /** The source maps of all of them. */
  readonly allMapBytes: number;
  /** What fills the eagerly loaded files. */
  readonly topInputs: Inputs;
  /** What fills the lazy chunks. */
  readonly lazyInputs: Inputs;
}

/** Groups an input path by npm package (`@scope/name`, `name`) or by top-level folder for our own code. */
function owner(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match ? match[1]! : path.split('/')[0]!;
}

function byOwner(outputs: readonly Metafile['outputs'][string][], top: number): Inputs {
  const bytes = new Map<string, number>();
  for (const output of outputs) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      bytes.set(owner(path), (bytes.get(owner(path)) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes.entries()]
    .map(([name, n]) => ({ name, bytes: n }))
    .filter((i) => i.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

/**
 * The outputs a fresh `import()` of the entry loads: the entry and, transitively, every chunk it imports with an
 * import statement (`import()` edges are left for later). Keys are the metafile's output paths.
 */
export function eagerOutputs(metafile: Metafile, entryOutput: string): Set<string> {
  const eager = new Set<string>();
  const visit = (path: string) => {
    if (eager.has(path)) return;
    eager.add(path);
    for (const edge of metafile.outputs[path]?.imports ?? []) {
      if (!edge.external && edge.kind === 'import-statement') visit(edge.path);
    }
  };
  visit(entryOutput);
  return eager;
}

/**
 * Bundles one entry with the options the CDK construct uses for the Lambda functions (infra/lib/lambda-bundling.ts:
 * ESM, minified, split into `index.mjs` and chunks, external source maps, the `require` banner, the runtime's Node
 * target, module-first main fields, the Lambda-only credential provider), so what is measured is what is deployed.
 * The infra test checks those options produce the deployed asset.
 */
export async function bundleLikeLambda(entry: string, name: string): Promise<Bundle> {
  const outdir = join(BENCH_CACHE, name);
  // Chunk names carry content hashes: stale chunks of an earlier build must not be counted.
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const options = lambdaBuildOptions(entry);
  const result = await build({ ...options, metafile: true });
  writeBundle(bundleFiles(entry, result.outputFiles), outdir);
  const outputs = result.metafile.outputs;
  // Not "the output with an entryPoint": every chunk loaded with import() has one too.
  const index = join(options.outdir, 'index.mjs');
  const entryOutput = Object.keys(outputs).find((path) => resolve(options.absWorkingDir, path) === index)!;
  const eager = eagerOutputs(result.metafile, entryOutput);
  const code = Object.keys(outputs).filter((path) => path.endsWith('.mjs'));
  const lazy = code.filter((path) => !eager.has(path));
  const sum = (paths: readonly string[]) => paths.reduce((total, path) => total + outputs[path]!.bytes, 0);
  return {
    path: join(outdir, 'index.mjs'),
    bytes: outputs[entryOutput]!.bytes,
    mapBytes: outputs[`${entryOutput}.map`]?.bytes ?? 0,
    eagerBytes: sum([...eager]),
    eagerFiles: eager.size,
    lazyBytes: sum(lazy),
    lazyFiles: lazy.length,
    allMapBytes: sum(Object.keys(outputs).filter((path) => path.endsWith('.map'))),
    topInputs: byOwner(
      [...eager].map((path) => outputs[path]!),
      8,
    ),
    lazyInputs: byOwner(
      lazy.map((path) => outputs[path]!),
      5,
    ),
  };
}
