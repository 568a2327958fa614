import { type CliIo, EXIT, UsageError } from '../failure';
import { shortTime } from '../status-report';
import { renderTable } from '../table';
import type { Target } from '../target';

/** Flags of `acme-ari check`. */
export interface CheckArgs {
  readonly id?: string;
  readonly json: boolean;
}

/**
 * `acme-ari check [id]`: the scheduler's decision made now, as a dry run: ARI is asked where its Retry-After has
 * passed, but no state is written and nothing is enqueued. Prints the reason per certificate.
 */
export async function checkCommand(target: Target, args: CheckArgs, io: CliIo): Promise<number> {
  const report = await target.runtime.scheduler({ dryRun: true, ...(args.id ? { only: args.id } : {}) });
  if (args.id && report.checks.length === 0) {
    const problem = report.problems.find((p) => p.path.startsWith('certificates'));
    throw new UsageError(
      `no valid certificate "${args.id}" in the inventory of ${target.description}${problem ? ` (${problem.path}: ${problem.message})` : ''}`,
    );
  }
  if (args.json) {
    io.out(JSON.stringify({ checks: report.checks, problems: report.problems }, null, 2));
  } else {
    io.out(
      renderTable(
        ['CERTIFICATE', 'DUE', 'REASON', 'RENEW AT (UTC)', 'NEXT ARI CHECK', 'WHY'],
        report.checks.map((c) => [
          c.id,
          c.due ? 'yes' : 'no',
          c.reason,
          shortTime(c.renewAt),
          shortTime(c.nextCheckAt),
          c.ariError ? [c.explanation, `ARI: ${c.ariError}`] : c.explanation,
        ]),
      ),
    );
    for (const p of report.problems) io.err(`inventory ${p.path}: ${p.message}`);
    io.err('dry run: nothing was written or enqueued');
  }
  return report.checks.some((c) => c.reason === 'error') ? EXIT.failed : EXIT.ok;
}
