import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { hasCode } from '../../../functions/core/errors';
import { policyEvaluator, type Verdict } from '../../../functions/core/iam/evaluate-policies';
import { type IamRequest, iamRequestsFor, type MappingEnv, queueArnOf, type RecordedCall } from './actions';
import { IamEvaluationError } from './errors';
import type { FunctionRole } from './role';

/** The account and region every evaluated stack is synthesized in (moto's default account). */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
}

/** An IAM policy document as the template has it, with every intrinsic resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly JsonObject[];
}

/** What synthesis needs besides the inventory. */
export interface SynthesisProps {
  readonly inventory: unknown;
  /** Passed as the construct's `hostedZoneIds` when the inventory leaves zones to discovery. */
  readonly hostedZoneIds?: readonly string[];
  /** The construct's `serviceName`: the `acme-ari:managed-by` value the runtime writes. */
  readonly serviceName?: string;
}

/** A synthesized `AcmeCertificates` stack and where its parts are in the template. */
export interface SynthesizedStack {
  readonly template: { readonly Resources: Readonly<Record<string, CfnResource>> };
  /** Logical ids of the function roles (the `SchedulerRole`, `RenewerRole`, `ImporterRole` constructs). */
  readonly roles: Readonly<Partial<Record<FunctionRole, string>>>;
  readonly serviceName: string;
  /** Inventory problems the construct refused, and the entries left out so the rest could synthesize. */
  readonly refused: { readonly problems: readonly string[]; readonly droppedIds: readonly string[] };
}

/**
 * Where each function's role is in the construct: the role construct, else the function whose role it is (the
 * first-import function's role is the target design's "importer").
 */
const ROLE_CONSTRUCT_IDS: Readonly<Record<FunctionRole, readonly string[]>> = {
  scheduler: ['SchedulerRole', 'Scheduler'],
  renewer: ['RenewerRole', 'Renewer'],
  importer: ['ImporterRole', 'FirstImportRole', 'Importer', 'FirstImport'],
};

/** Environment variables that name the key the functions write private key material with. */
const KEY_MATERIAL_ENV = ['KEY_MATERIAL_KMS_KEY_ID', 'KMS_KEY_ID'] as const;

const synthesized = new Map<string, Promise<SynthesizedStack>>();

/**
 * Synthesizes the construct as a deployment would, for one inventory, without bundling the functions (seconds);
 * one synthesis per distinct input. Entries the construct's validation refuses are left out (and reported), so
 * a file that feeds the functions a bad inventory on purpose is judged against the stack of its good entries.
 */
export function synthesize(props: SynthesisProps): Promise<SynthesizedStack> {
  const key = JSON.stringify(props);
  let stack = synthesized.get(key);
  if (stack === undefined) {
    stack = synthesizeUncached(props);
    synthesized.set(key, stack);
  }
  return stack;
}

async function synthesizeUncached(props: SynthesisProps): Promise<SynthesizedStack> {
  const [{ App, Stack }, { AcmeCertificates }, { ConfigError }, { cdkJsonContext }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../../infra/lib/acme-certificates'),
    import('../../../functions/core/config/inventory'),
    import('../../infra/synth'),
  ]);
  const inventory = structuredClone(props.inventory) as { certificates?: unknown[] };
  const problems: string[] = [];
  const droppedIds: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const outdir = mkdtempSync(join(tmpdir(), 'acme-iam-'));
    try {
      const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'IamEvaluation', { env: { account: ACCOUNT, region: REGION } });
      const acme = new AcmeCertificates(stack, 'Certificates', {
        inventory: inventory as never,
        // Alarms are not IAM's business; the construct insists someone hears them or this is said out loud.
        alarmsWithoutSubscriber: true,
        ...(props.hostedZoneIds ? { hostedZoneIds: props.hostedZoneIds } : {}),
        ...(props.serviceName ? { serviceName: props.serviceName } : {}),
      });
      const roles: Partial<Record<FunctionRole, string>> = {};
      for (const [role, ids] of Object.entries(ROLE_CONSTRUCT_IDS) as [FunctionRole, readonly string[]][]) {
        for (const id of ids) {
          const child = acme.node.tryFindChild(id) as
            | { role?: { node: { defaultChild?: unknown } } }
            | undefined;
          // A role construct, or a function whose role it is.
          const cfn = (
            child?.role?.node ?? (child as { node?: { defaultChild?: unknown } } | undefined)?.node
          )?.defaultChild as { cfnResourceType?: string } | undefined;
          if (cfn?.cfnResourceType === 'AWS::IAM::Role') {
            roles[role] = stack.getLogicalId(cfn as never);
            break;
          }
        }
      }
      const template = app.synth().getStackByName('IamEvaluation').template as SynthesizedStack['template'];
      return { template, roles, serviceName: acme.serviceName, refused: { problems, droppedIds } };
    } catch (error) {
      if (!(error instanceof ConfigError) || attempt >= 3 || !Array.isArray(inventory.certificates))
        throw error;
      const indexes = new Set<number>();
      for (const problem of error.problems) {
        const index = /^certificates\[(\d+)\]/.exec(problem.path)?.[1];
        if (index === undefined) {
          throw new IamEvaluationError(
            'unsynthesizable-inventory',
            `the construct refuses the inventory as a whole (${problem.path}: ${problem.message})`,
            { cause: error },
          );
        }
        indexes.add(Number(index));
      }
      for (const problem of error.problems) problems.push(`${problem.path}: ${problem.message}`);
      const certificates = inventory.certificates;
      droppedIds.push(
        ...[...indexes].map((i) => String((certificates[i] as { id?: unknown } | undefined)?.id ?? `#${i}`)),
      );
      inventory.certificates = certificates.filter((_, i) => !indexes.has(i));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }
}

/** The test's real names for the template's state bucket and renewal queue. */
export interface Bindings {
  readonly bucket?: string;
  readonly queueUrl?: string;
}

/** A stack with its tokens replaced by the test bed's names and fixed fake ARNs. */
export interface BoundStack {
  readonly stack: SynthesizedStack;
  /** The identity policies attached to a function role; `undefined` when the stack has no such role. */
  identityPolicies(role: FunctionRole): { name: string; policy: PolicyDocument }[] | undefined;
  /** The role's ARN (from its logical id). */
  roleArn(role: FunctionRole): string | undefined;
  /** The environment the role's function is deployed with. */
  environment(role: FunctionRole): Readonly<Record<string, string>>;
  /** The state bucket's default encryption key (inventory, state documents, certificates, leases); absent: SSE-S3. */
  readonly stateKeyArn: string | undefined;
  /** The key the functions write private key material with (`KMS_KEY_ID`). */
  readonly keyMaterialKeyArn: string;
  readonly bucketName: string;
  readonly queueArn: string;
  /** The policy the target resource itself has, if any. */
  resourcePolicy(target: NonNullable<IamRequest['target']>): PolicyDocument | undefined;
  /** What the request mapping needs for calls of this role. */
  mappingEnv(role: FunctionRole): MappingEnv;
}

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'IamEvaluation',
  'AWS::StackId': `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/IamEvaluation/00000000-0000-0000-0000-000000000000`,
};

const NO_VALUE = Symbol('AWS::NoValue');

/** Replaces the template's state bucket, queue, keys, roles and functions with concrete names and ARNs. */
export function bind(stack: SynthesizedStack, bindings: Bindings = {}): BoundStack {
  const resources = stack.template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functionOf = (roleId: string) =>
    ofType('AWS::Lambda::Function').find(([, r]) => {
      const role = r.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
      return role?.['Fn::GetAtt']?.[0] === roleId;
    });
  const refOf = (value: Json | undefined) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.Ref === 'string'
      ? value.Ref
      : undefined;

  // The template's state bucket and queue are the ones the functions are told about in their environment.
  const anyFunction = Object.values(stack.roles)
    .map((id) => (id === undefined ? undefined : functionOf(id)))
    .find((f) => f !== undefined);
  const env = (fn: [string, CfnResource] | undefined) =>
    ((fn?.[1].Properties?.Environment as JsonObject | undefined)?.Variables as JsonObject | undefined) ?? {};
  const stateBucketId = refOf(env(anyFunction).STATE_BUCKET);
  const schedulerFn = stack.roles.scheduler === undefined ? undefined : functionOf(stack.roles.scheduler);
  const queueId = refOf(env(schedulerFn).RENEWAL_QUEUE_URL);
  const bucketName = bindings.bucket ?? stateBucketId?.toLowerCase() ?? 'state-bucket';

  const names = new Map<string, { ref: string; attrs: Record<string, string> }>();
  const arn = (service: string, rest: string, region = REGION) =>
    `arn:aws:${service}:${region}:${ACCOUNT}:${rest}`;
  for (const [id, resource] of Object.entries(resources)) {
    switch (resource.Type) {
      case 'AWS::S3::Bucket': {
        const name = id === stateBucketId ? bucketName : id.toLowerCase();
        names.set(id, {
          ref: name,
          attrs: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` },
        });
        break;
      }
      case 'AWS::SQS::Queue': {
        const url =
          id === queueId && bindings.queueUrl !== undefined
            ? bindings.queueUrl
            : `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
        const queueArn = queueArnOf(url, REGION);
        names.set(id, {
          ref: url,
          attrs: { Arn: queueArn, QueueUrl: url, QueueName: queueArn.split(':').at(-1)! },
        });
        break;
      }
      case 'AWS::KMS::Key':
        names.set(id, { ref: id, attrs: { Arn: arn('kms', `key/${id}`), KeyId: id } });
        break;
      case 'AWS::KMS::Alias':
        names.set(id, { ref: `alias/${id}`, attrs: {} });
        break;
      case 'AWS::IAM::Role':
        names.set(id, { ref: id, attrs: { Arn: `arn:aws:iam::${ACCOUNT}:role/${id}`, RoleId: `AROA${id}` } });
        break;
      case 'AWS::IAM::ManagedPolicy':
        names.set(id, { ref: `arn:aws:iam::${ACCOUNT}:policy/${id}`, attrs: {} });
        break;
      case 'AWS::Lambda::Function':
        names.set(id, { ref: id, attrs: { Arn: arn('lambda', `function:${id}`) } });
        break;
      case 'AWS::Logs::LogGroup':
        names.set(id, { ref: id, attrs: { Arn: arn('logs', `log-group:${id}:*`) } });
        break;
      case 'AWS::SNS::Topic':
        names.set(id, { ref: arn('sns', id), attrs: { TopicArn: arn('sns', id), TopicName: id } });
        break;
      case 'AWS::Events::EventBus':
        names.set(id, { ref: id, attrs: { Arn: arn('events', `event-bus/${id}`), Name: id } });
        break;
      case 'AWS::SecretsManager::Secret':
        names.set(id, { ref: arn('secretsmanager', `secret:${id}-AbCdEf`), attrs: {} });
        break;
      case 'AWS::Scheduler::Schedule':
        names.set(id, { ref: id, attrs: { Arn: arn('scheduler', `schedule/default/${id}`) } });
        break;
      default:
        names.set(id, { ref: id, attrs: {} });
    }
  }

  const unresolved = (what: string) =>
    new IamEvaluationError(
      'unresolved-intrinsic',
      `${what} cannot be resolved for IAM evaluation; teach test/support/iam/evaluate.ts this resource type`,
    );
  const ref = (name: string): string => {
    const pseudo = PSEUDO[name];
    if (pseudo !== undefined) return pseudo;
    const resolved = names.get(name)?.ref;
    if (resolved === undefined) throw unresolved(`Ref ${name}`);
    return resolved;
  };
  const getAtt = (id: string, attr: string): string => {
    const value = names.get(id)?.attrs[attr];
    if (value === undefined)
      throw unresolved(`Fn::GetAtt ${id}.${attr} (${resources[id]?.Type ?? 'no such resource'})`);
    return value;
  };
  const resolve = (value: Json): Json | typeof NO_VALUE => {
    if (Array.isArray(value)) return value.map(resolve).filter((v): v is Json => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = value[fn]!;
      switch (fn) {
        case 'Ref':
          return arg === 'AWS::NoValue' ? NO_VALUE : ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          return getAtt(id!, attr!);
        }
        case 'Fn::Join': {
          const [separator, list] = arg as [string, Json[]];
          const parts = resolve(list) as Json[];
          return parts.map((p) => String(p)).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          return (resolve(list) as Json[])[Number(resolve(index))] ?? '';
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, Json];
          return String(resolve(source)).split(separator);
        }
        case 'Fn::Sub': {
          const [template, variables] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, JsonObject];
          return template.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
            if (literal) return `\${${name}}`;
            if (variables[name] !== undefined) return String(resolve(variables[name]!));
            const [id, attr] = name.split('.');
            return attr === undefined ? ref(id!) : getAtt(id!, attr);
          });
        }
        default:
          if (fn.startsWith('Fn::')) throw unresolved(fn);
      }
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  const document = (value: Json | undefined) => normalizePolicy(resolve(value ?? null) as JsonObject);

  const roleArn = (role: FunctionRole) => {
    const id = stack.roles[role];
    return id === undefined ? undefined : getAtt(id, 'Arn');
  };
  const environment = (role: FunctionRole): Record<string, string> => {
    const id = stack.roles[role];
    const variables = id === undefined ? {} : env(functionOf(id));
    return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(resolve(v))]));
  };
  const bucketId = stateBucketId;
  const bucketKey = (() => {
    const bucket = bucketId === undefined ? undefined : resources[bucketId];
    const rules = ((bucket?.Properties?.BucketEncryption as JsonObject | undefined)
      ?.ServerSideEncryptionConfiguration ?? []) as JsonObject[];
    const master = (rules[0]?.ServerSideEncryptionByDefault as JsonObject | undefined)?.KMSMasterKeyID;
    return master === undefined ? undefined : String(resolve(master));
  })();
  // A bucket default of SSE-S3 has no key: S3 asks KMS nothing for objects written without one.
  const stateKeyArn = bucketKey;
  const keyArns = ofType('AWS::KMS::Key').map(([id]) => getAtt(id, 'Arn'));
  const keyByAnyName = (value: string): string | undefined => {
    if (keyArns.includes(value)) return value;
    const byId = keyArns.find((k) => k.endsWith(`:key/${value}`));
    return byId;
  };
  const keyMaterialOf = (role: FunctionRole) => {
    const variables = environment(role);
    const named = KEY_MATERIAL_ENV.map((name) => variables[name]).find((v) => v !== undefined);
    return named === undefined ? undefined : keyByAnyName(named);
  };
  const keyMaterialKeyArn =
    keyMaterialOf('renewer') ??
    keyMaterialOf('importer') ??
    stateKeyArn ??
    `arn:aws:kms:${REGION}:${ACCOUNT}:key/none`;

  return {
    stack,
    bucketName,
    queueArn: queueId === undefined ? 'arn:aws:sqs:::none' : getAtt(queueId, 'Arn'),
    stateKeyArn,
    keyMaterialKeyArn,
    roleArn,
    environment,
    identityPolicies(role) {
      const id = stack.roles[role];
      if (id === undefined) return undefined;
      const attached = (r: CfnResource) =>
        ((r.Properties?.Roles as Json[] | undefined) ?? []).some((entry) => refOf(entry) === id);
      const policies: { name: string; policy: PolicyDocument }[] = [];
      for (const [logicalId, r] of Object.entries(resources)) {
        if ((r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && attached(r)) {
          policies.push({ name: logicalId, policy: document(r.Properties?.PolicyDocument) });
        }
      }
      const roleProps = resources[id]?.Properties ?? {};
      for (const inline of (roleProps.Policies as JsonObject[] | undefined) ?? []) {
        policies.push({
          name: `${id}/${String(inline.PolicyName)}`,
          policy: document(inline.PolicyDocument),
        });
      }
      for (const managed of (roleProps.ManagedPolicyArns as Json[] | undefined) ?? []) {
        const inTemplate = refOf(managed);
        if (inTemplate !== undefined && resources[inTemplate]?.Type === 'AWS::IAM::ManagedPolicy') {
          if (!attached(resources[inTemplate]!)) {
            policies.push({
              name: inTemplate,
              policy: document(resources[inTemplate]!.Properties?.PolicyDocument),
            });
          }
          continue;
        }
        throw new IamEvaluationError(
          'unresolved-intrinsic',
          `${role} role ${id} has the managed policy ${JSON.stringify(resolve(managed))}, whose statements are not in the template; attach statements the evaluator can read instead`,
        );
      }
      return policies;
    },
    resourcePolicy(target) {
      switch (target.kind) {
        case 's3-bucket': {
          const found = ofType('AWS::S3::BucketPolicy').filter(
            ([, r]) => resolve(r.Properties?.Bucket ?? null) === target.bucket,
          );
          return merge(found.map(([, r]) => document(r.Properties?.PolicyDocument)));
        }
        case 'kms-key': {
          const found = ofType('AWS::KMS::Key').filter(([id]) => getAtt(id, 'Arn') === target.keyArn);
          return merge(found.map(([, r]) => document(r.Properties?.KeyPolicy)));
        }
        case 'sqs-queue': {
          const found = ofType('AWS::SQS::QueuePolicy').filter(([, r]) =>
            ((r.Properties?.Queues as Json[] | undefined) ?? []).some((q) => {
              const url = resolve(q);
              return typeof url === 'string' && queueArnOf(url, REGION) === target.queueArn;
            }),
          );
          return merge(found.map(([, r]) => document(r.Properties?.PolicyDocument)));
        }
        case 'role-trust': {
          const found = ofType('AWS::IAM::Role').filter(([id]) => getAtt(id, 'Arn') === target.roleArn);
          return merge(found.map(([, r]) => document(r.Properties?.AssumeRolePolicyDocument)));
        }
      }
    },
    mappingEnv(role) {
      const explicitFallback = keyMaterialOf(role) ?? keyMaterialKeyArn;
      return {
        account: ACCOUNT,
        kmsKeyFor(bucket, explicitKeyId) {
          if (explicitKeyId === undefined) {
            return bucket === bucketName
              ? stateKeyArn
              : `arn:aws:kms:${REGION}:${ACCOUNT}:key/default-of-${bucket}`;
          }
          // The bed stands in for KMS_KEY_ID with a name of its own; the function would send its KMS_KEY_ID.
          return keyByAnyName(explicitKeyId) ?? explicitFallback;
        },
      };
    },
  };
}

/** Condition values as strings (CDK writes numbers and booleans; IAM compares their text). */
function normalizePolicy(policy: JsonObject): PolicyDocument {
  const statements = ([policy.Statement ?? []].flat() as JsonObject[]).map((statement) => {
    const condition = statement.Condition as Record<string, Record<string, Json>> | undefined;
    if (condition === undefined) return statement;
    const normalized: Record<string, Record<string, Json>> = {};
    for (const [operator, keys] of Object.entries(condition)) {
      normalized[operator] = Object.fromEntries(
        Object.entries(keys).map(([key, value]) => [
          key,
          Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : String(v))) : String(value),
        ]),
      );
    }
    return { ...statement, Condition: normalized };
  });
  return { Version: String(policy.Version ?? '2012-10-17'), Statement: statements };
}

function merge(policies: PolicyDocument[]): PolicyDocument | undefined {
  if (policies.length === 0) return undefined;
  return { Version: '2012-10-17', Statement: policies.flatMap((p) => p.Statement) };
}

/** Who makes a request: a function role of the stack, or any other principal with its own policies. */
export type Principal =
  | { readonly role: FunctionRole }
  | { readonly arn: string; readonly identityPolicies: { name: string; policy: PolicyDocument }[] };

export type { Verdict } from '../../../functions/core/iam/evaluate-policies';

const verdictCache = new WeakMap<BoundStack, Map<string, Promise<Verdict>>>();

/**
 * Judges one request with iam-simulate: the principal's identity policies and the target's resource policy,
 * same-account rules. Identical requests are judged once.
 */
export function evaluateRequest(
  bound: BoundStack,
  principal: Principal,
  request: IamRequest,
): Promise<Verdict> {
  const identity =
    'role' in principal
      ? { arn: bound.roleArn(principal.role), policies: bound.identityPolicies(principal.role) }
      : { arn: principal.arn, policies: principal.identityPolicies };
  if (identity.arn === undefined || identity.policies === undefined) {
    throw new IamEvaluationError(
      'role-not-found',
      `the stack has no ${'role' in principal ? principal.role : principal.arn} role to judge ${request.action} with`,
    );
  }
  let cache = verdictCache.get(bound);
  if (cache === undefined) {
    cache = new Map();
    verdictCache.set(bound, cache);
  }
  const key = JSON.stringify(['role' in principal ? principal.role : principal, request]);
  let verdict = cache.get(key);
  if (verdict === undefined) {
    verdict = simulate(bound, identity.arn, identity.policies, request);
    cache.set(key, verdict);
  }
  return verdict;
}

const evaluator = policyEvaluator(runSimulation);

function simulate(
  bound: BoundStack,
  roleArn: string,
  policies: { name: string; policy: PolicyDocument }[],
  request: IamRequest,
): Promise<Verdict> {
  const resourcePolicy = request.target === undefined ? undefined : bound.resourcePolicy(request.target);
  return evaluator({
    principalArn: roleArn,
    account: ACCOUNT,
    region: REGION,
    identityPolicies: policies,
    ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
    request,
  }).catch((error: unknown) => {
    if (!hasCode(error, 'iam-failed')) throw error;
    throw new IamEvaluationError('simulation-failed', error.message, { cause: error });
  });
}

/** One recorded call with its judged authorizations. */
export interface JudgedCall {
  readonly call: RecordedCall;
  readonly verdicts: readonly Verdict[];
  /** Why the call was not judged (made as an assumed role outside the stack). */
  readonly skipped?: string;
  /** The stack it was judged against. */
  readonly stack?: SynthesizedStack;
}

/** Inputs the recorder collected besides the calls. */
export interface RecordedWorld {
  /** Inventory documents by key, as uploaded to a state bucket. */
  readonly inventories: ReadonlyMap<string, unknown>;
  /** Hosted zones created in moto (name without trailing dot → bare id). */
  readonly zones: ReadonlyMap<string, string>;
}

/** The stack one recorded call belongs to: its inventory, with the zones its names are in. */
export function synthesisPropsFor(call: RecordedCall, world: RecordedWorld): SynthesisProps {
  const inventory = call.inventory === undefined ? undefined : world.inventories.get(call.inventory);
  if (inventory === undefined) {
    throw new IamEvaluationError(
      'unsynthesizable-inventory',
      `${call.role} sent ${call.command} to s3://${call.context.bucket} before any inventory.json was uploaded there; the evaluator needs the inventory to synthesize the stack`,
    );
  }
  const certificates =
    ((inventory as { certificates?: unknown }).certificates as
      | Array<{ domains?: unknown; hostedZones?: unknown }>
      | undefined) ?? [];
  const explicit = new Set<string>();
  const discovered = new Set<string>();
  for (const cert of Array.isArray(certificates) ? certificates : []) {
    const hosted = cert?.hostedZones;
    const hints = hosted !== null && typeof hosted === 'object' ? Object.values(hosted as object) : [];
    for (const id of hints) if (typeof id === 'string') explicit.add(id);
    const domains = Array.isArray(cert?.domains)
      ? cert.domains.filter((d): d is string => typeof d === 'string')
      : [];
    for (const domain of domains) {
      const name = domain.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
      const hinted =
        hints.length > 0 && hosted !== null && typeof hosted === 'object' && domain in (hosted as object);
      if (hinted) continue;
      // The operator of such an inventory passes `hostedZoneIds` for the zones discovery finds.
      const zone = [...world.zones.keys()]
        .filter((z) => name === z || name.endsWith(`.${z}`))
        .sort((a, b) => b.length - a.length)[0];
      if (zone !== undefined) discovered.add(world.zones.get(zone)!);
    }
  }
  const extra = [...discovered].filter((id) => !explicit.has(id));
  return {
    inventory,
    ...(extra.length > 0 ? { hostedZoneIds: [...new Set([...explicit, ...extra])].sort() } : {}),
    ...(call.context.serviceName === undefined ? {} : { serviceName: call.context.serviceName }),
  };
}

/** Judges one recorded call against the stack synthesized for its inventory. */
export async function judgeCall(call: RecordedCall, world: RecordedWorld): Promise<JudgedCall> {
  if (call.assumedRoleArn !== undefined) {
    return { call, verdicts: [], skipped: `made as ${call.assumedRoleArn}, a role outside the stack` };
  }
  const stack = await synthesize(synthesisPropsFor(call, world));
  const bound = bindCached(stack, { bucket: call.context.bucket, queueUrl: call.context.queueUrl });
  const requests = iamRequestsFor(call, bound.mappingEnv(call.role));
  const verdicts: Verdict[] = [];
  for (const request of requests) verdicts.push(await evaluateRequest(bound, { role: call.role }, request));
  return { call, verdicts, stack };
}

const boundStacks = new WeakMap<SynthesizedStack, Map<string, BoundStack>>();
function bindCached(stack: SynthesizedStack, bindings: Bindings): BoundStack {
  let byBindings = boundStacks.get(stack);
  if (byBindings === undefined) {
    byBindings = new Map();
    boundStacks.set(stack, byBindings);
  }
  const key = JSON.stringify(bindings);
  let b = byBindings.get(key);
  if (b === undefined) {
    b = bind(stack, bindings);
    byBindings.set(key, b);
  }
  return b;
}
