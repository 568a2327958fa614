import { AcmeProblemError, type ProblemDocument } from '../core/acme/problem';
import { ConfigError } from '../core/config/inventory';
import { AcmeAwsError } from '../core/errors';
import type { CertificateState } from '../core/renewal/state';

/** The CLI's exit codes; `docs/cli.md` documents the same table. */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** The operation failed: a renewal, an AWS call, the CA. */
  failed: 1,
  /** The command line or a configuration file is wrong; nothing was attempted. */
  usage: 2,
  /** `status --fail-under N`: a certificate has fewer than N days left, or none was issued yet. */
  expiring: 3,
} as const;

/** A wrong command line: unknown command or flag, a missing argument, an unknown certificate id. */
export class UsageError extends AcmeAwsError {
  constructor(message: string) {
    super('usage-invalid', message);
    this.name = 'UsageError';
  }
}

/** A renewal the renewer handler could not complete, with the CA's problem document when there was one. */
export class RenewalFailedError extends AcmeAwsError {
  readonly problem?: ProblemDocument;

  constructor(id: string, state: CertificateState | undefined) {
    // No code says "a renewal failed" as such; acme-protocol is the closest when the CA sent no problem document.
    super(
      state?.lastProblem ? 'acme-problem' : 'acme-protocol',
      `renewal of "${id}" failed: ${state?.lastError ?? 'the renewer reported a failure without recording why'}`,
    );
    this.name = 'RenewalFailedError';
    if (state?.lastProblem) this.problem = state.lastProblem;
  }
}

/** Where the CLI writes: stdout for results (tables, JSON), stderr for progress and errors. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** `type (HTTP status): detail` of an RFC 7807 problem, with one indented line per subproblem. */
export function describeProblem(problem: ProblemDocument | undefined): string[] {
  if (!problem) return [];
  const lines = [
    `  problem: ${problem.type ?? 'about:blank'}${problem.status ? ` (HTTP ${problem.status})` : ''}: ${problem.detail ?? 'no detail'}`,
  ];
  for (const sub of problem.subproblems ?? []) {
    lines.push(`    ${sub.identifier?.value ?? '?'}: ${sub.type ?? '?'}: ${sub.detail ?? ''}`.trimEnd());
  }
  return lines;
}

/** The problem document an error carries: the CA's own (`AcmeProblemError`) or one recorded with a failed renewal. */
function problemOf(error: unknown): ProblemDocument | undefined {
  if (error instanceof AcmeProblemError) return error.problem;
  if (
    error instanceof AcmeAwsError &&
    'problem' in error &&
    typeof error.problem === 'object' &&
    error.problem
  )
    return error.problem as ProblemDocument;
  return undefined;
}

/**
 * What the operator sees when a command fails: one line saying what failed, the CA's problem document when there
 * is one, every problem of an invalid configuration, and the stack only with `--debug`.
 */
export function describeFailure(error: unknown, debug: boolean): string[] {
  const message = error instanceof Error ? error.message : String(error);
  const [first = 'failed', ...rest] = message.split('\n');
  const lines = [`error: ${first}`];
  // A ConfigError's message already lists every problem, one per line; other messages stay on one line.
  if (error instanceof ConfigError) lines.push(...rest);
  lines.push(
    ...describeProblem(problemOf(error) ?? (error instanceof Error ? problemOf(error.cause) : undefined)),
  );
  if (debug && error instanceof Error && error.stack) lines.push(error.stack);
  return lines;
}

/** The exit code for a thrown error: 2 when the operator's input was wrong, 1 otherwise. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError || error instanceof ConfigError ? EXIT.usage : EXIT.failed;
}
