import { early } from '../../concurrency';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from '../../pki';
import type { RenewalPlan } from '../plan-renewal';
import type { RenewalContext } from './context';

/** A plan that reaches the CA. */
export type OrderPlan = Extract<RenewalPlan, { action: 'order' | 'resume' }>;

/** The certificate's new key: PKCS#8 PEM (stored as the pending key, never logged) and the imported pair. */
export interface PreparedKey {
  readonly keyPem: string;
  readonly keys: CryptoKeyPair;
}

/** The key the CSR will carry, and the order to resume with it (none: place a new one). */
export interface PreparedOrder {
  /**
   * The key, once it is checkpointed as the pending key: a CSR made from it may be sent, because an interrupted
   * attempt's successor finds the key its finalized order's certificate carries.
   */
  readonly key: () => Promise<PreparedKey>;
  /** Settles (never rejects) once no write of the key is in flight: failures are recorded only after it. */
  readonly settled: Promise<unknown>;
  readonly resumeUrl?: string;
}

/**
 * Readies one attempt's order: removes DNS records a crashed attempt left (exactly those it checkpointed),
 * abandons the kept order when the plan says so, and resumes the kept order only with the key its CSR would
 * carry. Otherwise a new key is generated and checkpointed while the order is placed and its authorizations
 * validate: the CSR waits for the checkpoint, so no order is finalized with a key the store does not hold.
 */
export async function prepareOrder(ctx: RenewalContext, plan: OrderPlan): Promise<PreparedOrder> {
  const { deps, config, record } = ctx;
  const pending = record.state.pendingOrder;
  const resumeUrl = keptOrderHere(ctx, plan);
  if (pending?.dnsHandle) await deps.dns.cleanup(pending.dnsHandle).catch(() => {});
  if (plan.abandon) await abandonKeptOrder(ctx, plan.abandon);
  const keptPem = resumeUrl ? await deps.store.getPendingKey(config.id) : undefined;
  if (resumeUrl && keptPem) {
    const kept = importPrivateKeyPem(keptPem).then(({ keys }) => ({ keyPem: keptPem, keys }));
    return { ...settle(kept), resumeUrl };
  }
  // A new key replaces the abandoned order's pending key: nothing can resume that order any more.
  return settle(
    (async () => {
      const keyPem = await exportPrivateKeyPem((await generateKeyPair(config.keyType)).privateKey);
      const { keys } = await importPrivateKeyPem(keyPem);
      await deps.store.putPendingKey(config.id, keyPem);
      return { keyPem, keys };
    })(),
  );
}

/** The kept order the plan resumes at the context's CA: an order lives at the CA that created it. */
export function keptOrderHere(ctx: RenewalContext, plan: OrderPlan): string | undefined {
  const pending = ctx.record.state.pendingOrder;
  // One placed before orders recorded their CA was placed at the entry's `ca`.
  const sameCa = (pending?.ca ?? ctx.config.ca) === ctx.caName;
  return plan.action === 'resume' && sameCa ? pending?.url : undefined;
}

/** The prepared order's key as the steps take it: awaited when needed, its failure never unhandled. */
function settle(making: Promise<PreparedKey>): Pick<PreparedOrder, 'key' | 'settled'> {
  const key = early(() => making);
  return { key: key.get, settled: key.settled };
}

/**
 * The prepared key for the next CA after a failover: the same key (no certificate we stored carries it), but no
 * kept order to resume, since that order lives at the CA the attempt left.
 */
export function forAnotherCa(prepared: PreparedOrder): PreparedOrder {
  return { key: prepared.key, settled: prepared.settled };
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
