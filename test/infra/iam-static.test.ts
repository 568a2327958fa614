import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { RENEWER_NAMES } from '../../functions/cli/doctor-permissions';
import { renewalCalls } from '../../functions/core/iam/renewal-calls';
import * as bundling from '../../infra/lib/lambda-bundling';
import { permissionsOf, SERVICE_PREFIX_BY_PACKAGE } from '../support/iam/actions';
import { bind, type PolicyDocument, synthesize } from '../support/iam/evaluate';
import type { FunctionRole } from '../support/iam/role';

// Every AWS SDK command each function's bundle can send must map (test/support/iam/actions.ts) to actions its
// role grants in the synthesized template. Conditions and resources are the IAM simulation's job; this catches
// a call the role can never make, including calls no test exercises.

const { PROJECT_ROOT, lambdaBuildOptions } = bundling;
const entries = bundling.HANDLER_ENTRIES as Readonly<Record<string, string>>;

/** The handler each role's function ships (the importer exists once first imports have their own function). */
const HANDLERS: Readonly<Record<FunctionRole, string | undefined>> = {
  scheduler: entries.scheduler,
  renewer: entries.renewer,
  importer: entries.firstImport ?? entries.importer,
};

/**
 * Commands a bundle contains but the function never sends, each with the reason; reviewed like a cdk-nag
 * acknowledgement. Keyed `role service:Command`.
 */
const NEVER_SENT: Readonly<Record<string, string>> = {
  'importer s3:PutObjectCommand':
    'S3Objects.put ships with the store; a first import only reads the stored certificate and key, the renewer records the ARN',
  'importer s3:DeleteObjectCommand': 'S3Objects.delete ships with the store; a first import deletes nothing',
  'importer sts:AssumeRoleCommand':
    'Route53DnsProvider ships with the persist-record step, which passes no zone roles (dns-persist-01 records in another account are refused)',
};

interface Shipped {
  readonly role: FunctionRole;
  readonly service: string;
  readonly command: string;
  readonly file: string;
}

/**
 * The project sources esbuild put into the function's bundle (tree-shaken files contribute no bytes): every
 * output, so the chunks loaded on first use (the Lambda client of first imports, Secrets Manager) count too.
 */
async function bundledSources(entry: string): Promise<string[]> {
  const result = await build({
    ...lambdaBuildOptions(entry),
    metafile: true,
  });
  return [
    ...new Set(
      Object.values(result.metafile.outputs)
        .flatMap((output) => Object.entries(output.inputs))
        .filter(([path, input]) => input.bytesInOutput > 0 && path.startsWith('functions/'))
        .map(([path]) => path),
    ),
  ];
}

/** `new XxxCommand(` in one source file, with the `@aws-sdk/client-*` package each was imported from. */
function commandsIn(file: string): { service: string; command: string }[] {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const imported = new Map<string, { command: string; pkg: string }>();
  for (const match of text.matchAll(
    /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g,
  )) {
    for (const binding of match[1]!.split(',')) {
      const parts = binding
        .replace(/^\s*type\s+/, '')
        .trim()
        .split(/\s+as\s+/);
      if (parts[0]) imported.set((parts[1] ?? parts[0]).trim(), { command: parts[0].trim(), pkg: match[2]! });
    }
  }
  return [...text.matchAll(/new\s+([A-Za-z0-9_$]+Command)\s*\(/g)].map((match) => {
    const origin = imported.get(match[1]!);
    if (origin === undefined)
      return { service: '?', command: `${match[1]} (not imported from an @aws-sdk client)` };
    return { service: SERVICE_PREFIX_BY_PACKAGE[origin.pkg] ?? origin.pkg, command: origin.command };
  });
}

const shipped: Shipped[] = [];
for (const [role, entry] of Object.entries(HANDLERS) as [FunctionRole, string | undefined][]) {
  if (entry === undefined || !existsSync(join(PROJECT_ROOT, entry))) continue;
  for (const file of await bundledSources(entry)) {
    for (const { service, command } of commandsIn(file)) shipped.push({ role, service, command, file });
  }
}
const rows = [
  ...new Map(shipped.map((s) => [`${s.role} ${s.service}:${s.command}`, s] as const)).values(),
].sort((a, b) => `${a.role}${a.command}`.localeCompare(`${b.role}${b.command}`));

// An inventory that needs every grant the construct can give: a zone in another account (sts:AssumeRole) and
// a CA with External Account Binding (secretsmanager:GetSecretValue).
const stack = await synthesize({
  inventory: {
    cas: {
      zerossl: {
        directoryUrl: 'https://acme.zerossl.com/v2/DV90',
        eab: {
          keyId: 'kid',
          hmacSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:zerossl-eab-AbCdEf',
        },
      },
    },
    certificates: [
      { id: 'a', domains: ['example.com', '*.example.com'], hostedZones: { 'example.com': 'Z1' } },
      {
        id: 'b',
        ca: 'zerossl',
        domains: ['api.example.org'],
        hostedZones: { 'api.example.org': 'Z2' },
        zoneRoleArns: { 'api.example.org': 'arn:aws:iam::210987654321:role/acme-dns' },
      },
      // dns-persist-01: the first-import function writes the _validation-persist records (Route 53).
      {
        id: 'c',
        challenge: 'dns-persist-01',
        domains: ['persist.example.net'],
        hostedZones: { 'persist.example.net': 'Z3' },
      },
    ],
  },
  serviceName: 'acme-ari-static',
});
const bound = bind(stack);

/** Whether an IAM action pattern (`s3:Get*`) covers an action, case-insensitively as IAM compares them. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** Whether any Allow statement names the action (Resource and Condition ignored) and no unconditional Deny does. */
function grants(policies: readonly { policy: PolicyDocument }[], action: string): boolean {
  const statements = policies.flatMap((p) => p.policy.Statement);
  const names = (s: (typeof statements)[number], field: 'Action' | 'NotAction') =>
    s[field] === undefined ? undefined : [s[field]].flat().map(String);
  const matches = (s: (typeof statements)[number]) => {
    const actions = names(s, 'Action');
    const notActions = names(s, 'NotAction');
    return actions !== undefined
      ? actions.some((a) => covers(a, action))
      : !notActions!.some((a) => covers(a, action));
  };
  const denied = statements.some(
    (s) =>
      s.Effect === 'Deny' && s.Condition === undefined && [s.Resource].flat().includes('*') && matches(s),
  );
  return !denied && statements.some((s) => s.Effect === 'Allow' && matches(s));
}

describe('IAM: every command a function ships is granted to its role', () => {
  it('finds the commands of every function in its bundle', () => {
    const roles = new Set(rows.map((r) => r.role));
    expect([...roles].sort()).toEqual(
      (Object.keys(HANDLERS) as FunctionRole[]).filter((r) => stack.roles[r] !== undefined).sort(),
    );
  });

  it('sees the commands of the chunks loaded on first use (first imports, persist records, EAB)', () => {
    const renewer = rows.filter((r) => r.role === 'renewer').map((r) => `${r.service}:${r.command}`);
    expect(renewer).toEqual(
      expect.arrayContaining(['lambda:InvokeCommand', 'secretsmanager:GetSecretValueCommand']),
    );
  });

  it('acknowledges only commands the bundles really contain', () => {
    const shippedKeys = new Set(rows.map((r) => `${r.role} ${r.service}:${r.command}`));
    expect(Object.keys(NEVER_SENT).filter((key) => !shippedKeys.has(key))).toEqual([]);
  });

  it.each(rows)('$role ships $service:$command', ({ role, service, command, file }) => {
    const policies = bound.identityPolicies(role);
    expect(policies, `the stack has no ${role} role`).toBeDefined();
    const { actions } = permissionsOf(service, command);
    const missing = actions.filter((action) => !grants(policies!, action));
    const neverSent = NEVER_SENT[`${role} ${service}:${command}`];
    if (neverSent !== undefined) {
      expect(
        missing,
        `NEVER_SENT["${role} ${service}:${command}"] is stale: the role grants it now`,
      ).not.toEqual([]);
      return;
    }
    expect(
      missing,
      `${role} sends ${command} (${file}) but its role grants no ${missing.join(', ')}`,
    ).toEqual([]);
  });
});

// `acme-ari doctor` judges the calls it plans for a renewal (functions/core/iam/renewal-calls.ts) against the live
// policy: a command the renewer ships but the plan leaves out would go unjudged there.

/** Renewer commands the doctor's plan leaves out, each with the reason; keyed `service:Command`. */
const NOT_PLANNED: Readonly<Record<string, string>> = {
  's3:ListObjectsV2Command':
    'S3ScheduleIndex ships with the renewer for markChanged; listing the change markers is the scheduler’s (listChanged)',
};

describe('doctor: the renewal plan covers every command the renewer ships', () => {
  const planned = new Set(
    renewalCalls(
      {
        id: 'a',
        acmRegions: ['us-east-1', 'eu-west-1'],
        directoryUrl: 'https://acme.example/dir',
        eabSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:eab-AbCdEf',
        challenges: [
          { name: '_acme-challenge.example.com', zoneId: 'Z1' },
          { name: '_acme-challenge.api.example.org', roleArn: 'arn:aws:iam::210987654321:role/acme-dns' },
        ],
        acmArns: { 'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/x' },
      },
      {
        account: '123456789012',
        region: 'us-east-1',
        bucket: 'state',
        serviceName: 'acme-ari-static',
        stateKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/state',
        firstImportFunctionName: 'first-import',
      },
      RENEWER_NAMES,
    ).map((c) => `${c.service}:${c.command}`),
  );
  const shippedByRenewer = rows
    .filter((r) => r.role === 'renewer' && NEVER_SENT[`renewer ${r.service}:${r.command}`] === undefined)
    .map((r) => `${r.service}:${r.command}`);

  it('plans each command, or says why doctor leaves it out', () => {
    const missing = shippedByRenewer.filter((key) => !planned.has(key) && NOT_PLANNED[key] === undefined);
    expect(
      missing,
      'add these to functions/core/iam/renewal-calls.ts, or to NOT_PLANNED with the reason',
    ).toEqual([]);
    expect(Object.keys(NOT_PLANNED).filter((key) => !shippedByRenewer.includes(key))).toEqual([]);
  });
});
