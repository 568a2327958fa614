import { parseArgs } from 'node:util';
import type { Fetch } from '../core/http';
import { checkCommand } from './commands/check';
import { doctorCommand } from './commands/doctor';
import { migrateEncryptionCommand } from './commands/migrate-encryption';
import { renewCommand } from './commands/renew';
import { statusCommand } from './commands/status';
import { validateCommand } from './commands/validate';
import { type CliIo, describeFailure, EXIT, exitCodeFor, UsageError } from './failure';
import { awsLocation, awsTarget, stateBucketClient, type Target, targetFor } from './target';

/** The usage text `acme-ari --help` prints. */
export const USAGE = `acme-ari — operate ACME certificates renewed by acme-ari-aws

Usage:
  acme-ari status [--json] [--fail-under DAYS]   every certificate: expiry, ARI window, last result, ACM ARNs
  acme-ari check [ID] [--json]                   the scheduler's decision now (dry run: changes nothing)
  acme-ari renew ID [--force] [--now] [--json]   enqueue a renewal for the renewer (--now: run it here)
  acme-ari validate FILE [--json]                validate an inventory file, listing every problem
  acme-ari doctor [ID] [--json]                  pre-flight checks: CAA, _acme-challenge delegation, NS,
                                                 CloudFront rules, name limits, projected ACM quota use
    [--dns-server HOST[:PORT]]... [--caa-identity [CA=]DOMAIN]...
    [--acm-import-quota N] [--acm-certificate-quota N]
  acme-ari migrate-encryption [--dry-run] [--include-other] [--force] [--json]
                                                 re-encrypt the state bucket's SSE-KMS objects of known kinds
                                                 (never key material) to SSE-S3 in place, after upgrading to
                                                 stateEncryption 's3-managed' (the default); copies conditional on
                                                 each ETag. --include-other: also objects of no known kind (they
                                                 could be key material); --force: even if deployment.json says 'kms'

Target (not for validate):
  --bucket NAME       state bucket (env STATE_BUCKET)
  --queue-url URL     renewal queue, for renew (env RENEWAL_QUEUE_URL)
  --region REGION     AWS region (env AWS_REGION); credentials come from the usual AWS chain
  --bed               run against a fresh local test bed (Pebble + moto) with the demo inventory issued

  --debug             show stack traces
  -h, --help          this text

Exit codes: 0 ok, 1 the operation failed, 2 usage or validation error, 3 status --fail-under found a
certificate with fewer days left (or none issued). doctor exits 1 when a check failed, 0 with warnings only.`;

const globalOptions = {
  bucket: { type: 'string' },
  'queue-url': { type: 'string' },
  region: { type: 'string' },
  bed: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  json: { type: 'boolean', default: false },
} as const;

const commandOptions = {
  status: { 'fail-under': { type: 'string' } },
  check: {},
  renew: { force: { type: 'boolean', default: false }, now: { type: 'boolean', default: false } },
  validate: {},
  doctor: {
    'dns-server': { type: 'string', multiple: true },
    'caa-identity': { type: 'string', multiple: true },
    'acm-import-quota': { type: 'string' },
    'acm-certificate-quota': { type: 'string' },
  },
  'migrate-encryption': {
    'dry-run': { type: 'boolean', default: false },
    'include-other': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
} as const;

type CommandName = keyof typeof commandOptions;

const allOptions = {
  ...globalOptions,
  ...commandOptions.status,
  ...commandOptions.renew,
  ...commandOptions.doctor,
  ...commandOptions['migrate-encryption'],
} as const;

/** Seams for tests and embedding; the installed CLI uses the process's own. */
export interface CliOptions {
  readonly io?: CliIo;
  readonly env?: NodeJS.ProcessEnv;
  /** The HTTP client for the CA (tests pass one trusting the local Pebble). */
  readonly fetch?: Fetch;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(commandOptions, name);
}

/** The command line parsed against every option of every command; an unknown option is a usage error. */
function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: allOptions,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}; try acme-ari --help`);
  }
}

type ParsedCommandLine = ReturnType<typeof parseCommandLine>;
type Values = ParsedCommandLine['values'];

/** Rejects an option that belongs to another command, and more arguments than the command takes. */
function checkCommandLine(
  name: CommandName,
  tokens: ParsedCommandLine['tokens'],
  positionals: string[],
): void {
  const allowed: Record<string, unknown> = { ...globalOptions, ...commandOptions[name] };
  for (const token of tokens) {
    if (token.kind === 'option' && !Object.hasOwn(allowed, token.name))
      throw new UsageError(`${token.rawName} is not an option of ${name}; try acme-ari --help`);
  }
  const maxPositionals = name === 'status' || name === 'migrate-encryption' ? 0 : 1;
  if (positionals.length > maxPositionals)
    throw new UsageError(
      `${name} takes ${maxPositionals ? 'one argument' : 'no arguments'}, not "${positionals.join(' ')}"`,
    );
}

/**
 * Runs one CLI invocation and returns its exit code; never throws. Errors become one line (plus the CA's
 * problem document), with the stack only under `--debug`.
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const env = options.env ?? process.env;
  const debug = argv.includes('--debug');
  try {
    const parsed = parseCommandLine(argv);
    const { values, tokens } = parsed;
    const [name, ...positionals] = parsed.positionals;
    if (!isCommand(name)) {
      if (values.help || argv.length === 0) {
        io.out(USAGE);
        return argv.length === 0 ? EXIT.usage : EXIT.ok;
      }
      throw new UsageError(`unknown command "${name ?? argv[0]}"; try acme-ari --help`);
    }
    if (values.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    checkCommandLine(name, tokens, positionals);
    const json = values.json === true;
    if (name === 'validate') return await validateCommand({ file: positionals[0], json }, io);
    if (name === 'migrate-encryption') return await migrateEncryption(values, json, env, io);

    const run = (target: Target) => runCommand(name, target, { values, positionals, json }, io);
    if (values.bed) return await onBed(run, io);
    // Fail on the arguments before reading the deployment: a usage error needs no AWS call.
    if (name === 'renew' && !positionals[0])
      throw new UsageError('renew needs a certificate id: acme-ari renew <id> [--force]');
    return await run(
      await awsTarget(
        { bucket: values.bucket, queueUrl: values['queue-url'], region: values.region },
        env,
        options.fetch,
      ),
    );
  } catch (error) {
    for (const line of describeFailure(error, debug)) io.err(line);
    return exitCodeFor(error);
  }
}

/** `migrate-encryption` needs only the bucket and the operator's credentials (it reads deployment.json itself), no runtime. */
async function migrateEncryption(values: Values, json: boolean, env: NodeJS.ProcessEnv, io: CliIo) {
  if (values.bed)
    throw new UsageError(
      "migrate-encryption runs against a deployment's state bucket, not --bed; pass --bucket",
    );
  const { bucket, region, endpoint } = awsLocation({ bucket: values.bucket, region: values.region }, env);
  const s3 = stateBucketClient(region, endpoint);
  try {
    return await migrateEncryptionCommand(
      s3,
      {
        bucket,
        dryRun: values['dry-run'],
        json,
        includeOther: values['include-other'],
        force: values.force,
      },
      io,
    );
  } finally {
    s3.destroy();
  }
}

/** One command that needs a deployment (or the bed) against its target, with its own options. */
function runCommand(
  name: Exclude<CommandName, 'validate' | 'migrate-encryption'>,
  target: Target,
  args: { readonly values: Values; readonly positionals: string[]; readonly json: boolean },
  io: CliIo,
): Promise<number> {
  const { values, positionals, json } = args;
  switch (name) {
    case 'status':
      return statusCommand(target, { json, failUnder: values['fail-under'] }, io);
    case 'check':
      return checkCommand(target, { id: positionals[0], json }, io);
    case 'renew':
      return renewCommand(
        target,
        {
          id: positionals[0],
          force: values.force, // The bed has no renewer Lambda: a renewal there always runs in this process.
          now: values.now || values.bed,
          json,
        },
        io,
      );
    case 'doctor':
      return doctorCommand(
        target,
        {
          id: positionals[0],
          json,
          dnsServers: values['dns-server'],
          caaIdentities: values['caa-identity'],
          acmImportQuota: values['acm-import-quota'],
          acmCertificateQuota: values['acm-certificate-quota'],
        },
        io,
      );
  }
}

/**
 * Starts a local test bed, issues the demo inventory so there is something to look at, runs the command against
 * it in-process, and stops the bed whatever happens. Progress goes to stderr, so `--json` output stays parseable.
 */
async function onBed(run: (target: Target) => Promise<number>, io: CliIo): Promise<number> {
  // The handlers' Powertools logger and metrics are configured when first imported: quiet them first.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { issueDemoInventory, startDemoBed } = await import('./demo-bed');
  const progress = (line: string) => io.err(`[bed] ${line}`);
  const demo = await startDemoBed({ progress });
  try {
    await issueDemoInventory(demo, progress);
    // No queue on the bed target: renew runs in-process, as the renewer would.
    return await run({
      ...targetFor({ ...demo.config, queueUrl: undefined }, 'the local test bed'),
      // doctor asks the bed's DNS responder, which serves moto's Route 53 as the CA sees it.
      dnsServers: [demo.bed.dns.address],
    });
  } finally {
    await demo.stop();
    progress('stopped');
  }
}
