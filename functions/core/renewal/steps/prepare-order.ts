import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from '../../pki';
import type { RenewalPlan } from '../plan-renewal';
import type { RenewalContext } from './context';

/** A plan that reaches the CA. */
export type OrderPlan = Extract<RenewalPlan, { action: 'order' | 'resume' }>;

/** The key the CSR will carry, and the order to resume with it (none: place a new one). */
export interface PreparedOrder {
  /** PKCS#8 PEM of the certificate's new key, checkpointed as the pending key. Never logged. */
  readonly keyPem: string;
  readonly keys: CryptoKeyPair;
  readonly resumeUrl?: string;
}

/**
 * Readies one attempt's order: removes DNS records a crashed attempt left (exactly those it checkpointed),
 * abandons the kept order when the plan says so, and resumes the kept order only with the key its CSR would
 * carry; otherwise a new key is generated and checkpointed before any order exists.
 */
export async function prepareOrder(ctx: RenewalContext, plan: OrderPlan): Promise<PreparedOrder> {
  const { deps, config, record } = ctx;
  const pending = record.state.pendingOrder;
  if (pending?.dnsHandle) await deps.dns.cleanup(pending.dnsHandle).catch(() => {});
  if (plan.abandon) await abandonKeptOrder(ctx, plan.abandon);
  // An order lives at the CA that created it (one placed before orders recorded theirs, at the entry's `ca`).
  const sameCa = (pending?.ca ?? config.ca) === ctx.caName;
  let resumeUrl = plan.action === 'resume' && sameCa ? pending?.url : undefined;
  let keyPem = resumeUrl ? await deps.store.getPendingKey(config.id) : undefined;
  if (!keyPem) {
    resumeUrl = undefined;
    // A new key replaces the abandoned order's pending key: nothing can resume that order any more.
    keyPem = await exportPrivateKeyPem((await generateKeyPair(config.keyType)).privateKey);
    await deps.store.putPendingKey(config.id, keyPem);
  }
  const { keys } = await importPrivateKeyPem(keyPem);
  return { keyPem, keys, ...(resumeUrl ? { resumeUrl } : {}) };
}

/**
 * The prepared key for the next CA after a failover: the same key (no certificate we stored carries it), but no
 * kept order to resume, since that order lives at the CA the attempt left.
 */
export function forAnotherCa(prepared: PreparedOrder): PreparedOrder {
  return { keyPem: prepared.keyPem, keys: prepared.keys };
}

/**
 * Gives up on a kept order whose attempts keep failing (e.g. its certificate fails verification every time):
 * the state forgets it before a new one is placed, and records which order was abandoned and why.
 */
async function abandonKeptOrder(
  ctx: RenewalContext,
  abandon: { url: string; failedAttempts: number },
): Promise<void> {
  const { deps, config, record } = ctx;
  const state = record.state;
  deps.progress?.('order_abandoned', {
    id: config.id,
    order: abandon.url,
    failed_attempts: abandon.failedAttempts,
  });
  await record.save({
    ...state,
    pendingOrder: undefined,
    abandonedOrder: {
      url: abandon.url,
      abandonedAt: deps.clock.now().toISOString(),
      failedAttempts: abandon.failedAttempts,
      ...(state.lastError === undefined ? {} : { lastError: state.lastError.slice(0, 500) }),
    },
  });
}
