import { parseInventoryLenient } from '../../core/config/inventory';
import type { RenewOutcome } from '../../core/renewal/renew-certificate';
import { type CliIo, EXIT, UsageError } from '../failure';
import type { Target } from '../target';

/** Flags of `acme-ari renew`. */
export interface RenewArgs {
  readonly id?: string;
  /** Renew even when the certificate is not due. */
  readonly force: boolean;
  /** Renew in this process instead of enqueueing for the renewer Lambda. */
  readonly now: boolean;
  readonly json: boolean;
}

function describeOutcome(outcome: RenewOutcome): string {
  switch (outcome.result) {
    case 'renewed':
      return `renewed ${outcome.id} (${outcome.reason}): serial ${outcome.serial}, expires ${outcome.notAfter}${outcome.replaced ? `, replaces ${outcome.replaced}` : ''}${outcome.replacesDropped ? ` (replaces dropped: ${outcome.replacesDropped})` : ''}`;
    case 'imported':
      return `${outcome.id} was current; imported it into ACM (${outcome.imports.map((i) => i.region).join(', ')})`;
    case 'up-to-date':
      return `${outcome.id} is not due, nothing to do (${outcome.notes[0] ?? ''}); use --force to renew anyway`;
    case 'busy':
      return `${outcome.id} is being renewed by someone else (the lease is held); try again in a few minutes`;
    case 'deferred':
      return `${outcome.id} was not renewed: the CA asked us to wait until ${outcome.retryAfter} (${outcome.notes[0] ?? 'rate limited'})`;
    case 'skipped':
      return `${outcome.id} was skipped: ${outcome.notes.join('; ')}`;
    case 'limited':
      return `${outcome.id} was not renewed: ${outcome.notes.join('; ')}`;
  }
}

/**
 * `acme-ari renew <id> [--force] [--now]`: against a deployment, enqueues `{id, reason: 'manual', force}` for the
 * renewer Lambda; with `--now` (and always on the test bed) runs the renewal in this process and reports it.
 */
export async function renewCommand(target: Target, args: RenewArgs, io: CliIo): Promise<number> {
  if (!args.id) throw new UsageError('renew needs a certificate id: acme-ari renew <id> [--force]');
  const { inventory, problems } = parseInventoryLenient(await target.runtime.store.loadInventory());
  if (!inventory.certificates.some((c) => c.id === args.id)) {
    const known = inventory.certificates.map((c) => c.id).join(', ') || 'none';
    const problem = problems.find((p) => p.path.startsWith('certificates'));
    throw new UsageError(
      `no valid certificate "${args.id}" in the inventory of ${target.description} (known: ${known})${problem ? `; ${problem.path}: ${problem.message}` : ''}`,
    );
  }
  const message = { id: args.id, reason: 'manual', force: args.force } as const;
  if (!args.now && target.enqueue) {
    const messageId = await target.enqueue(message);
    io.out(
      args.json
        ? JSON.stringify({ enqueued: message, messageId })
        : `enqueued ${args.force ? 'a forced ' : ''}renewal of ${args.id} (message ${messageId}); follow it with \`acme-ari status\``,
    );
    return EXIT.ok;
  }
  if (!args.now)
    throw new UsageError(
      'renew needs the renewal queue: pass --queue-url or set RENEWAL_QUEUE_URL, or add --now to renew in this process',
    );
  const outcome = await target.runtime.renew(message, target.owner, (step, fields) =>
    io.err(
      `  ${step} ${Object.entries(fields)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')}`,
    ),
  );
  io.out(args.json ? JSON.stringify(outcome, null, 2) : describeOutcome(outcome));
  return ['renewed', 'imported', 'up-to-date'].includes(outcome.result)
    ? EXIT.ok
    : outcome.result === 'skipped'
      ? EXIT.usage
      : EXIT.failed;
}
