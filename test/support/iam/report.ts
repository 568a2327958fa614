import type { RecordedCall } from './actions';
import { IamEvaluationError } from './errors';
import {
  type JudgedCall,
  judgeCall,
  type RecordedWorld,
  type SynthesizedStack,
  type Verdict,
} from './evaluate';

/** Counts of one action of one role. */
export interface ActionCount {
  allowed: number;
  denied: number;
}

/** What `.cache/iam/<file>.json` holds: the file's AWS calls per role and action, and every denial. */
export interface IamSummary {
  readonly calls: number;
  /** How long judging took (synthesis included). */
  readonly judgedInMs: number;
  readonly byRole: Record<string, Record<string, ActionCount>>;
  readonly denied: readonly DeniedGroup[];
  readonly notJudged: readonly string[];
  readonly stacks: readonly {
    readonly serviceName: string;
    readonly roles: Readonly<Record<string, string>>;
    readonly refusedInventoryEntries: readonly string[];
    readonly refusedProblems: readonly string[];
  }[];
}

/** Identical denials of one file, counted once. */
export interface DeniedGroup {
  readonly role: string;
  readonly command: string;
  readonly action: string;
  readonly resource: string;
  readonly context: unknown;
  readonly result: Verdict['result'];
  readonly implied?: string;
  readonly why: readonly string[];
  readonly closest?: unknown;
  readonly suggested?: unknown;
  readonly calls: number;
  readonly tests: readonly string[];
}

/** A file's judged calls: the summary to keep, and the failure to raise when anything would be denied. */
export interface FileReport {
  readonly summary: IamSummary;
  readonly failure?: string;
}

/** Judges every call of one test file and builds its summary and, if any call would be denied, the failure. */
export async function reportFile(calls: readonly RecordedCall[], world: RecordedWorld): Promise<FileReport> {
  const started = performance.now();
  const judged: JudgedCall[] = [];
  const notJudged = new Set<string>();
  for (const call of calls) {
    try {
      judged.push(await judgeCall(call, world));
    } catch (error) {
      if (!(error instanceof IamEvaluationError) && !(error instanceof Error && error.name === 'ConfigError'))
        throw error;
      notJudged.add(`${call.role} ${call.service} ${call.command}: ${error.message}`);
    }
  }
  const byRole: IamSummary['byRole'] = {};
  const groups = new Map<string, DeniedGroup & { calls: number; tests: string[] }>();
  const stacks = new Set<SynthesizedStack>();
  for (const { call, verdicts, skipped, stack } of judged) {
    if (stack !== undefined) stacks.add(stack);
    if (skipped !== undefined) {
      notJudged.add(`${call.role} ${call.service} ${call.command}: ${skipped}`);
      continue;
    }
    for (const verdict of verdicts) {
      const counts = byRole[call.role] ?? {};
      byRole[call.role] = counts;
      const count = counts[verdict.request.action] ?? { allowed: 0, denied: 0 };
      counts[verdict.request.action] = count;
      if (verdict.result === 'Allowed') {
        count.allowed += 1;
        continue;
      }
      count.denied += 1;
      const key = JSON.stringify([call.role, call.command, verdict.request, verdict.result]);
      const group = groups.get(key);
      const test = call.test ?? '';
      if (group !== undefined) {
        group.calls += 1;
        if (!group.tests.includes(test)) group.tests.push(test);
        continue;
      }
      groups.set(key, {
        role: call.role,
        command: call.command,
        action: verdict.request.action,
        resource: verdict.request.resource,
        context: verdict.request.context,
        result: verdict.result,
        ...(verdict.request.implied === undefined ? {} : { implied: verdict.request.implied }),
        why: verdict.why,
        ...(verdict.closest === undefined ? {} : { closest: verdict.closest }),
        suggested: verdict.suggested,
        calls: 1,
        tests: [test],
      });
    }
  }
  const denied = [...groups.values()];
  const summary: IamSummary = {
    calls: calls.length,
    judgedInMs: Math.round(performance.now() - started),
    byRole,
    denied,
    notJudged: [...notJudged],
    stacks: [...stacks].map((s) => ({
      serviceName: s.serviceName,
      roles: s.roles as Record<string, string>,
      refusedInventoryEntries: s.refused.droppedIds,
      refusedProblems: s.refused.problems,
    })),
  };
  if (denied.length === 0 && notJudged.size === 0) return { summary };
  const deniedCalls = denied.reduce((n, g) => n + g.calls, 0);
  const lines = [
    `IAM would deny ${deniedCalls} of the ${calls.length} AWS calls the functions made in this file (moto enforces no IAM; judged by iam-simulate against the synthesized AcmeCertificates policies):`,
    ...denied.map((g, i) =>
      [
        `${i + 1}. ${g.role}: ${g.action} on ${g.resource} (${g.command}${g.implied ? `; ${g.implied}` : ''}) — ${g.result}, ${g.calls} call${g.calls === 1 ? '' : 's'}`,
        `     context: ${JSON.stringify(g.context)}`,
        ...g.why.map((w) => `     ${w}`),
        ...(g.closest === undefined ? [] : [`     closest statement: ${JSON.stringify(g.closest)}`]),
        `     minimal statement that would allow it: ${JSON.stringify(g.suggested)}`,
        `     in: ${g.tests.slice(0, 3).join(' | ')}${g.tests.length > 3 ? ` (+${g.tests.length - 3} more)` : ''}`,
      ].join('\n'),
    ),
    ...(notJudged.size === 0
      ? []
      : ['Calls that could not be judged:', ...[...notJudged].map((n) => `  - ${n}`)]),
    ...summary.stacks
      .filter((s) => s.refusedInventoryEntries.length > 0)
      .map(
        (s) =>
          `Note: the construct refuses inventory entries ${s.refusedInventoryEntries.join(', ')}; the stack was synthesized without them (${s.refusedProblems.length} problems).`,
      ),
  ];
  return { summary, failure: lines.join('\n') };
}
