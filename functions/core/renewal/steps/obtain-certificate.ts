import { dns01RecordName, type IssueResult, issueCertificate } from '../../acme';
import { createCsr } from '../../pki';
import type { DnsChangeHandle } from '../ports';
import { dnsChangeHandleSchema } from '../state';
import type { CaSession } from './ca-session';
import type { RenewalContext } from './context';
import { chooseReplaces, orderTarget } from './issued-by';
import { ensurePersistRecords } from './persist-record';
import { keptOrderHere, type OrderPlan, type PreparedOrder } from './prepare-order';

/**
 * The certID to name in `replaces`: only the current certificate's, and only when it came from this CA (name and
 * directory), account and issuer key (`chooseReplaces`; the order drops `replaces` itself when the CA does not
 * advertise renewalInfo).
 * @see RFC 9773 §5 (the `replaces` field of a newOrder request)
 */
export function replacesFor(ctx: RenewalContext, session: CaSession): string | undefined {
  const choice = chooseReplaces(ctx.record.state.current, orderTarget(ctx, session));
  return 'certId' in choice ? choice.certId : undefined;
}

/** The challenge the attempt asks for: the entry's, else its CA's, else dns-01. */
function challengeFor(ctx: RenewalContext) {
  return ctx.config.challenge ?? ctx.ca.challenge ?? 'dns-01';
}

/**
 * Starts looking up where a new order's dns-01 records will go (hosted zone, what the names hold now) while the
 * CA session opens and the order is placed: the names are known before the CA answers. Not for an order to resume
 * at this CA, whose authorizations may be valid already, nor while a crashed attempt's records are still to be
 * removed (the lookup would see them).
 */
export function prepareChallengeRecords(ctx: RenewalContext, plan: OrderPlan): void {
  const { deps, config, record } = ctx;
  const resumesHere = keptOrderHere(ctx, plan) !== undefined;
  if (challengeFor(ctx) !== 'dns-01' || resumesHere || record.state.pendingOrder?.dnsHandle !== undefined)
    return;
  deps.dns.prepare?.(
    config.domains.map((identifier) => ({ identifier, name: dns01RecordName(identifier) })),
    config,
  );
}

/**
 * Places (or resumes) the order and runs it to a downloaded certificate: dns-persist-01 where the entry asks for it
 * and the CA offers it (persistent records through the persist-record step), dns-01 through the DNS port otherwise,
 * finalize
 * with the prepared key. Two checkpoints make an interrupted attempt resumable: the order as soon as the CA
 * created it (with the reason it was placed for, so a resumed attempt applies the same rules), and the DNS change
 * right after it was published (so the next attempt removes exactly those records).
 */
export async function obtainCertificate(
  ctx: RenewalContext,
  plan: OrderPlan,
  session: CaSession,
  prepared: PreparedOrder,
  profile: string | undefined,
): Promise<IssueResult> {
  const { deps, config, record } = ctx;
  const replaces = replacesFor(ctx, session);
  deps.progress?.('order_start', {
    id: config.id,
    reason: plan.reason,
    resume: prepared.resumeUrl,
    replaces: replaces ?? null,
  });
  const challenge = challengeFor(ctx);
  return issueCertificate<DnsChangeHandle>({
    client: session.client,
    names: config.domains,
    csr: async () => (await createCsr({ keys: (await prepared.key()).keys, names: config.domains })).der,
    dns: {
      present: (records) => deps.dns.present(records, config),
      cleanup: (handle) => deps.dns.cleanup(handle),
    },
    challenge,
    dns01Fallback: config.dns01Fallback ?? ctx.ca.dns01Fallback ?? true,
    ...(deps.persistRecords === undefined
      ? {}
      : {
          persist: {
            ensure: (wanted) => ensurePersistRecords(ctx, session.client.accountUrl, wanted),
          },
        }),
    poll: { clock: deps.clock, sleep: deps.sleep, timeoutMs: deps.pollTimeoutMs },
    replaces,
    profile,
    resumeOrderUrl: prepared.resumeUrl,
    onOrder: async (order) => {
      deps.progress?.('order_placed', { id: config.id, order: order.url, replaces: order.replaced ?? null });
      await record.save({
        ...record.state,
        pendingOrder: {
          url: order.url,
          createdAt: deps.clock.now().toISOString(),
          ca: ctx.caName,
          ...(ctx.failover ? { failover: ctx.failover } : {}),
          replaces: order.replaced,
          reason: plan.reason,
          failedAttempts: 0,
        },
      });
    },
    onDnsPresented: async (handle) => {
      const s = record.state;
      // Through the state's schema: what the next attempt deletes is exactly what this one can read back.
      const dnsHandle = dnsChangeHandleSchema.parse(handle);
      if (s.pendingOrder) await record.save({ ...s, pendingOrder: { ...s.pendingOrder, dnsHandle } });
    },
  });
}
