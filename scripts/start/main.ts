// `npm start`: deploy with `cdk deploy` when the AWS SDK's credential chain finds credentials (and the account is
// ready for it), otherwise the local demo. ACME_ARI_MODE=deploy|demo forces one. Arguments after `npm start --`
// go to `cdk deploy` (or the demo) unchanged.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { decideStart, type StartFacts } from './decide';
import {
  CREDENTIALS_TIMEOUT_MS,
  checkBootstrap,
  deployContext,
  inspectInventory,
  probeCredentials,
} from './facts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
// The SDK's own Node.js chain (what `fromNodeProviderChain` of @aws-sdk/credential-providers wraps), with short
// remote timeouts: an instance metadata service or container endpoint that is not there must not stall.
const credentials = defaultProvider({ timeout: 1_000, maxRetries: 0 });
const mode = process.env.ACME_ARI_MODE;

let facts: StartFacts = {
  ...(mode ? { mode } : {}),
  credentials: await probeCredentials(credentials, CREDENTIALS_TIMEOUT_MS),
  args,
};
if (mode === 'deploy' || (mode !== 'demo' && facts.credentials.found)) {
  const context = deployContext(root, args);
  const toolkitAt = args.indexOf('--toolkit-stack-name');
  const [inventory, bootstrap] = await Promise.all([
    inspectInventory(root, context.certificatesFile || 'certificates.json'),
    checkBootstrap(credentials, toolkitAt >= 0 ? args[toolkitAt + 1] : undefined),
  ]);
  const alarmsHeard = Boolean(context.notificationEmail) || context.alarmsWithoutSubscriber === 'true';
  facts = { ...facts, inventory, bootstrap, alarmsHeard };
}

const decision = decideStart(facts);
for (const line of decision.notes) process.stderr.write(`${line}\n`);
if (decision.action === 'stop') process.exit(decision.exitCode);
const [command, ...commandArgs] =
  decision.action === 'deploy' ? decision.command : ['npx', 'tsx', 'scripts/demo.ts', ...args];
const child = spawn(command!, commandArgs, { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
