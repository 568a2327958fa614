import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { bundleFiles, HANDLER_ENTRIES, lambdaBuildOptions } from '../../infra/lib/lambda-bundling';

export type Handler = keyof typeof HANDLER_ENTRIES;

/** A function's code folder as a map from each file's path inside it (`index.mjs`, `chunks/…`) to its text. */
export type CodeFolder = ReadonlyMap<string, string>;

/** Every file under `dir`, by its path relative to `dir` (with `/`), sorted. */
export function readCodeFolder(dir: string): CodeFolder {
  const walk = (at: string): string[] =>
    readdirSync(at).flatMap((name) => {
      const path = join(at, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return new Map(
    walk(dir)
      .map((path) => relative(dir, path).split('\\').join('/'))
      .sort()
      .map((path) => [path, readFileSync(join(dir, path), 'utf8')] as const),
  );
}

/**
 * What esbuild makes of a handler with the construct's options (lambdaBuildOptions), in memory: the files a
 * deployed code folder must hold, byte for byte, and the metafile (`outdir` is where its output paths point).
 */
export async function bundleInMemory(
  handler: Handler,
): Promise<{ files: CodeFolder; metafile: Metafile; outdir: string }> {
  const entry = HANDLER_ENTRIES[handler];
  const options = lambdaBuildOptions(entry);
  const result = await build({ ...options, metafile: true });
  const decoder = new TextDecoder();
  const files = new Map(
    [...bundleFiles(entry, result.outputFiles)].map(
      ([path, bytes]) => [path, decoder.decode(bytes)] as const,
    ),
  );
  return { files, metafile: result.metafile, outdir: options.outdir };
}

/** The `.mjs` files of a code folder (the code, without the source maps). */
export function codeOf(folder: CodeFolder): Record<string, string> {
  return Object.fromEntries([...folder].filter(([path]) => path.endsWith('.mjs')));
}
