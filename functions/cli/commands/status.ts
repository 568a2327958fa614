import { type CliIo, EXIT, UsageError } from '../failure';
import { collectStatus, renderStatus } from '../status-report';
import type { Target } from '../target';

/** Flags of `acme-ari status`. */
export interface StatusArgs {
  readonly json: boolean;
  /**
   * Exit 3 when a certificate has fewer days left than this on the expiry alarm's lifetime-scaled measure (a 6-day
   * certificate's day is 15 of a 90-day one's), or none was issued yet.
   */
  readonly failUnder?: string;
}

/**
 * `acme-ari status`: every inventory certificate with its issuer, expiry, ARI window and selected time, when the
 * scheduler looks at it next (its schedule index), last result and ACM ARNs; `--json` for machines, `--fail-under N`
 * for monitoring scripts.
 */
export async function statusCommand(target: Target, args: StatusArgs, io: CliIo): Promise<number> {
  const failUnder = args.failUnder === undefined ? undefined : Number(args.failUnder);
  if (failUnder !== undefined && !(Number.isFinite(failUnder) && failUnder >= 0))
    throw new UsageError(`--fail-under needs a number of days, not "${args.failUnder}"`);
  // The index is read, never written: status is safe to run next to a scheduler pass.
  const report = await collectStatus(target.runtime.store, new Date(), target.runtime.index);
  io.out(args.json ? JSON.stringify(report, null, 2) : renderStatus(report));
  if (!args.json && report.certificates.length === 0)
    io.err(`no certificates in the inventory of ${target.description}`);
  if (failUnder === undefined) return EXIT.ok;
  // The alarm's measure, so the cron check and the MinDaysToExpiry alarm agree on 45- and 6-day certificates.
  const short = report.certificates.filter(
    (c) => c.scaledDaysLeft === undefined || c.scaledDaysLeft < failUnder,
  );
  for (const c of short) {
    const days = c.daysLeft;
    const scaled = c.scaledDaysLeft;
    io.err(
      days === undefined
        ? `${c.id}: not issued yet`
        : scaled !== undefined && scaled !== days
          ? `${c.id}: ${days.toFixed(1)} days left, ${scaled.toFixed(1)} lifetime-scaled (of 90), fewer than ${failUnder}`
          : `${c.id}: ${days.toFixed(1)} days left, fewer than ${failUnder}`,
    );
  }
  return short.length > 0 ? EXIT.expiring : EXIT.ok;
}
