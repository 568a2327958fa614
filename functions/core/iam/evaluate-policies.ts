import type { runSimulation, Simulation } from '@cloud-copilot/iam-simulate';
import { AcmeAwsError } from '../errors';
import type { IamRequest } from './requests';

// Judges one authorization with @cloud-copilot/iam-simulate. The simulator comes in as a parameter: it is a large
// package (with its IAM data about 19 MB) that only the CLI's doctor and the test suite load, never a function.

/** The simulator's entry point (`runSimulation` of `@cloud-copilot/iam-simulate`). */
export type RunSimulation = typeof runSimulation;

/** An IAM policy document, every intrinsic resolved (as IAM or the synthesized template has it). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Readonly<Record<string, unknown>>[];
}

/** A policy with the name an operator finds it by (`RoleName/PolicyName` inline, the policy ARN managed). */
export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

/** One authorization to judge: who asks, with which identity policies, and the resource's own policy if any. */
export interface EvaluationInput {
  /** The role (or user) ARN; a role is judged as one of its assumed-role sessions, as Lambda runs it. */
  readonly principalArn: string;
  readonly account: string;
  readonly region: string;
  readonly identityPolicies: readonly NamedPolicy[];
  readonly resourcePolicy?: PolicyDocument;
  readonly request: IamRequest;
}

/** The evaluator's answer for one authorization. */
export interface Verdict {
  readonly principal: string;
  readonly request: IamRequest;
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** Why, for a denial: the statements that came closest and what in them failed. */
  readonly why: readonly string[];
  /** For a denial: the statement whose action matches but whose Resource or Condition failed. */
  readonly closest?: unknown;
  /** For a denial: a minimal statement that would allow exactly this request. */
  readonly suggested?: { readonly Effect: 'Allow'; readonly Action: string; readonly Resource: string };
}

/** Judges authorizations against identity policies (and a resource policy when given). */
export type PolicyEvaluator = (input: EvaluationInput) => Promise<Verdict>;

/**
 * iam-simulate 0.1.173 only recognises variable context keys with a `/` (`aws:ResourceTag/x`), so it drops
 * `kms:EncryptionContext:<key>` as "not applicable" and a condition on it can never match. Both sides are carried
 * under a `/` key of the same string type while simulating, and named by their real key in every message.
 */
const EC_PREFIX = /^kms:encryptioncontext:/i;
const EC_STAND_IN = 'aws:RequestTag/kms-encryption-context.';
const toStandIn = (key: string) =>
  EC_PREFIX.test(key) ? `${EC_STAND_IN}${key.replace(EC_PREFIX, '')}` : key;
const fromStandIn = (text: string) => text.replaceAll(EC_STAND_IN, 'kms:EncryptionContext:');

function withStandInKeys(policy: PolicyDocument): Simulation['identityPolicies'][number]['policy'] {
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => {
      const condition = statement.Condition as Record<string, Record<string, unknown>> | undefined;
      if (condition === undefined) return statement;
      return {
        ...statement,
        Condition: Object.fromEntries(
          Object.entries(condition).map(([op, keys]) => [
            op,
            Object.fromEntries(Object.entries(keys).map(([k, v]) => [toStandIn(k), v])),
          ]),
        ),
      };
    }),
  };
}

/** The context IAM adds to every request of a principal over HTTPS, then the request's own keys. */
function contextOf(input: EvaluationInput): Record<string, string | string[]> {
  const { principalArn, account, region, request } = input;
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': principalArn,
    'aws:PrincipalAccount': account,
    'aws:PrincipalType': principalArn.includes(':role/') ? 'AssumedRole' : 'User',
    'aws:SecureTransport': 'true',
    'aws:RequestedRegion': region,
  };
  for (const [k, v] of Object.entries(request.context))
    context[toStandIn(k)] = typeof v === 'string' ? v : [...v];
  return context;
}

/** A policy evaluator on iam-simulate's `runSimulation`: same-account rules, no SCPs, no permission boundary. */
export function policyEvaluator(run: RunSimulation): PolicyEvaluator {
  return async (input) => {
    const { principalArn, account, request } = input;
    const roleName = principalArn.split('/').at(-1)!;
    const principal = principalArn.includes(':role/')
      ? `arn:aws:sts::${account}:assumed-role/${roleName}/${roleName}-session`
      : principalArn;
    const simulation: Simulation = {
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resource.split(':')[4] || account },
        contextVariables: contextOf(input),
      },
      identityPolicies: input.identityPolicies.map((p) => ({
        name: p.name,
        policy: withStandInKeys(p.policy),
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(input.resourcePolicy === undefined
        ? {}
        : { resourcePolicy: withStandInKeys(input.resourcePolicy) }),
    };
    let response = await run(simulation, {});
    if (response.resultType === 'error') {
      throw new AcmeAwsError(
        'iam-failed',
        `iam-simulate refused ${request.action} on ${request.resource}: ${fromStandIn(JSON.stringify(response.errors))}`,
      );
    }
    const result = response.overallResult;
    const who = `${roleName}${principal === principalArn ? '' : ' (assumed-role session)'}`;
    if (result === 'Allowed') return { principal: who, request, result, why: [] };
    // A wildcard resource (a first import's certificate/*) explains nothing when no pattern matched: ask about one.
    if (response.resultType === 'wildcard' && response.results.length === 0) {
      const concrete = request.resource.replace(/\*$/, '00000000-0000-0000-0000-000000000000');
      const again = await run(
        {
          ...simulation,
          request: {
            ...simulation.request,
            resource: { ...simulation.request.resource, resource: concrete },
          },
        },
        {},
      );
      if (again.resultType !== 'error') response = again;
    }
    const analyses =
      response.resultType === 'single'
        ? [response.result.analysis]
        : response.resultType === 'wildcard'
          ? response.results.map((r) => r.analysis)
          : [];
    return {
      principal: who,
      request,
      result,
      ...explain(analyses, request, input.resourcePolicy !== undefined),
    };
  };
}

type Analysis = Extract<Awaited<ReturnType<RunSimulation>>, { resultType: 'single' }>['result']['analysis'];
type StatementAnalysis = NonNullable<Analysis['identityAnalysis']>['unmatchedStatements'][number];

function describeStatement(where: string, s: StatementAnalysis): string {
  const id = s.statement.sid() ?? `#${s.statement.index() + 1}`;
  return `${where} statement ${id} (${s.policyId ?? 'resource policy'})`;
}

function failedConditions(s: StatementAnalysis, request: IamRequest): string[] {
  return (s.explain.conditions ?? [])
    .filter((c) => !c.matches)
    .map((c) => {
      const key = fromStandIn(c.conditionKeyValue);
      const wanted = [c.values]
        .flat()
        .map((v) => v.value)
        .join(', ');
      const actual = Object.entries(request.context).find(
        ([k]) => k.toLowerCase() === key.toLowerCase(),
      )?.[1];
      const seen = c.failedBecauseArray
        ? `${key} is multivalued in the Service Authorization Reference, so a single-valued operator never matches it; use ForAnyValue:/ForAllValues: (the request has ${JSON.stringify(actual)})`
        : actual === undefined
          ? 'absent from the request'
          : `the request has ${JSON.stringify(actual)}`;
      const unmatched = c.unmatchedValues?.length ? ` (not matched: ${c.unmatchedValues.join(', ')})` : '';
      return `${c.operator} ${key} [${wanted}] failed: ${seen}${unmatched}`;
    });
}

/** Explicit denies first, then every Allow statement whose action matched and what else in it failed. */
function reasons(analysis: Analysis, request: IamRequest): { why: string[]; closest?: unknown } {
  const why: string[] = [];
  let closest: unknown;
  const sides = [
    ['identity', analysis.identityAnalysis],
    ['resource-policy', analysis.resourceAnalysis],
  ] as const;
  for (const [where, side] of sides) {
    for (const deny of side?.denyStatements ?? []) {
      why.push(
        `explicitly denied by ${describeStatement(where, deny)}: ${fromStandIn(JSON.stringify(deny.statement.toJSON()))}`,
      );
    }
  }
  for (const [where, side] of sides) {
    for (const s of side?.unmatchedStatements ?? []) {
      if (!s.explain.actionMatch || !s.statement.isAllow()) continue;
      const problems: string[] = [];
      if (!s.explain.resourceMatch) problems.push(`its Resource does not match ${request.resource}`);
      if (!s.explain.conditionMatch) problems.push(...failedConditions(s, request));
      if (s.explain.principalMatch === 'NoMatch') problems.push('its Principal does not name the caller');
      why.push(`${describeStatement(where, s)} grants ${request.action} but ${problems.join('; ')}`);
      closest ??= JSON.parse(fromStandIn(JSON.stringify(s.statement.toJSON())));
    }
  }
  return { why, ...(closest === undefined ? {} : { closest }) };
}

function explain(
  analyses: Analysis[],
  request: IamRequest,
  hasResourcePolicy: boolean,
): Pick<Verdict, 'why' | 'closest' | 'suggested'> {
  const why: string[] = [];
  let closest: unknown;
  for (const analysis of analyses) {
    const found = reasons(analysis, request);
    why.push(...found.why);
    closest ??= found.closest;
    if (
      analysis.identityAnalysis?.result === 'Allowed' &&
      request.target?.kind === 'kms-key' &&
      hasResourcePolicy
    ) {
      why.push(
        'the identity policy allows it, but the key policy neither allows the caller nor trusts the account',
      );
    }
  }
  if (why.length === 0) {
    why.push(
      hasResourcePolicy
        ? `no identity or resource-policy statement grants ${request.action}`
        : `no identity statement grants ${request.action}`,
    );
  }
  const suggested = { Effect: 'Allow', Action: request.action, Resource: request.resource } as const;
  return { why: [...new Set(why)], ...(closest === undefined ? {} : { closest }), suggested };
}
