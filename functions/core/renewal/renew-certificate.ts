import type { CertificateConfig, Inventory } from '../config/inventory';
import { caFor, casOf } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import { RENEWER_LEASE_TTL_MS } from '../time-budget';
import { configHash } from './config-hash';
import { shouldFailOver, startingCa } from './failover';
import { planRenewal, type RenewalPlan } from './plan-renewal';
import type { CertificateState, FailoverRecord } from './state';
import { type CaSession, openCaSession, profileFor, warmCaSession } from './steps/ca-session';
import {
  arnsByRegion,
  type RenewalContext,
  type RenewerDeps,
  type RenewOutcome,
  type RenewRequest,
} from './steps/context';
import { findEntry } from './steps/find-entry';
import { importEverywhere, importOnly } from './steps/import-acm';
import { installCertificate } from './steps/install-certificate';
import { obtainCertificate, prepareChallengeRecords } from './steps/obtain-certificate';
import { forAnotherCa, type OrderPlan, type PreparedOrder, prepareOrder } from './steps/prepare-order';
import { recordFailure } from './steps/record-failure';
import { StateRecord } from './steps/state-record';

export { FORCED_RENEWAL_MIN_INTERVAL_MS } from './plan-renewal';
export type { RenewerDeps, RenewOutcome, RenewRequest } from './steps/context';

/** A lease outlives the longest Lambda run (15 min), so a crashed holder frees it on its own. */
export const LEASE_TTL_MS = RENEWER_LEASE_TTL_MS;

/** ACM regions for a certificate: those configured, or the deployment's own region. */
function regionsOf(config: CertificateConfig, defaultRegion: string | undefined): string[] {
  if (config.acmRegions.length > 0) return config.acmRegions;
  return defaultRegion ? [defaultRegion] : [];
}

/**
 * Renews one certificate: lease, read the state, plan (pure), then the plan's steps — import only, refuse a
 * forced order past its limit, or order (resumed when one is in flight), dns-01, finalize with a fresh key,
 * verify, store (PEMs first, state last), import into ACM in every region, refresh ARI, publish. Every state
 * write is conditional on what was read. Failures are recorded in the state and rethrown, so the queue retries
 * and then dead-letters; a rate limit defers instead, with the CA's Retry-After recorded.
 */
export async function renewCertificate(deps: RenewerDeps, request: RenewRequest): Promise<RenewOutcome> {
  const entry = await findEntry(deps, request);
  if ('outcome' in entry) return entry.outcome;
  const { inventory, config } = entry;
  // The entry's own CA: its hash, and where every renewal starts (steps move on with `forCa`).
  const ca = caFor(inventory, config.ca);
  warmCaSession(deps, ca);
  // Hashed while the lease is taken; a busy lease leaves the hash unused.
  const hashing = configHash(config, ca);
  hashing.catch(() => {});
  const lease = await deps.lease.acquire(config.id, deps.owner, LEASE_TTL_MS, deps.clock.now());
  if (!lease) {
    deps.progress?.('lease_busy', { id: config.id });
    const notes = ['another renewer holds the lease'];
    return { id: config.id, result: 'busy', reason: request.reason, imports: [], notes };
  }
  try {
    const ctx: RenewalContext = {
      deps,
      config,
      ca,
      caName: config.ca,
      configHash: await hashing,
      request,
      record: await StateRecord.open(deps.store, config.id),
      regions: regionsOf(config, request.defaultRegion),
    };
    // The CA an order attempt was at when it failed (after any failover): the failure event names it.
    let ordering: RenewalContext | undefined;
    return await renewLeased(ctx, inventory, (attempt) => {
      ordering = attempt;
    }).catch((error: unknown) => recordFailure(ctx, error, ordering));
  } finally {
    await deps.lease.release(lease).catch(() => {});
  }
}

/** Plans from the state as read, and runs the plan; `onAttempt` hears of each CA an order is tried at. */
async function renewLeased(
  ctx: RenewalContext,
  inventory: Inventory,
  onAttempt: (attempt: RenewalContext) => void,
): Promise<RenewOutcome> {
  const { deps, config, request, record } = ctx;
  const plan = planRenewal({
    state: record.state,
    configHash: ctx.configHash,
    request,
    now: deps.clock.now(),
  });
  deps.progress?.('renewal_planned', {
    id: config.id,
    action: plan.action,
    reason: plan.reason,
    why: plan.why,
  });
  if (plan.action === 'import-only') return importOnly(ctx, plan.why);
  if (plan.action === 'limited') return limited(ctx, plan);
  return orderWithFailover(ctx, plan, inventory, onAttempt);
}

/** The context of the attempt's part at one of the certificate's CAs. */
function forCa(
  ctx: RenewalContext,
  inventory: Inventory,
  caName: string,
  failover: FailoverRecord | undefined,
): RenewalContext {
  return { ...ctx, ca: caFor(inventory, caName), caName, failover };
}

/**
 * Orders from the certificate's first CA (or, resuming, from the CA the kept order lives at) and, while
 * `shouldFailOver` says so, from the next CA of its list in the same attempt. Every failover is logged and carried
 * into the order's checkpoint, the state and the event; the next renewal starts with the first CA again.
 */
async function orderWithFailover(
  ctx: RenewalContext,
  plan: OrderPlan,
  inventory: Inventory,
  onAttempt: (attempt: RenewalContext) => void,
): Promise<RenewOutcome> {
  const { deps, config, record } = ctx;
  // The forced order is counted in the attempt's first write: the order's checkpoint, or its failure record.
  if (plan.recordForcedAt) record.amend({ ...record.state, lastForcedAt: deps.clock.now().toISOString() });
  const before = record.state;
  const cas = casOf(config);
  const kept = plan.action === 'resume' ? before.pendingOrder : undefined;
  const first = startingCa(cas, kept?.ca);
  let attempt = forCa(ctx, inventory, first, first === kept?.ca ? kept?.failover : undefined);
  let prepared: PreparedOrder | undefined;
  for (;;) {
    onAttempt(attempt);
    try {
      // What the order needs from the CA and Route 53 is fetched while the session opens and the key is made.
      deps.transport(attempt.ca.directoryUrl).warm(config.domains.length);
      prepareChallengeRecords(attempt, plan);
      const opening = openCaSession(deps, attempt.ca);
      opening.catch(() => {}); // awaited below, once the order is prepared
      // Prepared once per attempt (crashed attempt's DNS removed, kept order abandoned or resumed, key made).
      prepared = prepared ? forAnotherCa(prepared) : await prepareOrder(attempt, plan);
      return await orderAndInstall(attempt, plan, await opening, prepared);
    } catch (error) {
      // A pending key still being written would race the failure record's clean-up of it.
      await prepared?.settled;
      const now = deps.clock.now();
      const decision = shouldFailOver({ error, now, state: before, cas, from: attempt.caName });
      if (cas.length > 1)
        deps.progress?.('ca_failover_decision', { id: config.id, from: attempt.caName, ...decision });
      if (!decision.failover) throw error;
      const failover: FailoverRecord = {
        from: attempt.caName,
        reason: decision.reason,
        at: now.toISOString(),
        why: decision.why,
      };
      attempt = forCa(ctx, inventory, decision.to, failover);
    }
  }
}

/** A forced request before the forced-order limit allows another: nothing is ordered or written. */
function limited(ctx: RenewalContext, plan: Extract<RenewalPlan, { action: 'limited' }>): RenewOutcome {
  const { deps, config, record } = ctx;
  const current = record.state.current;
  deps.progress?.('forced_renewal_limited', {
    id: config.id,
    last_forced_at: record.state.lastForcedAt,
    next: plan.nextAllowedAt,
  });
  return {
    id: config.id,
    result: 'limited',
    reason: plan.reason,
    serial: current?.serial,
    notAfter: current?.notAfter,
    imports: [],
    notes: [plan.why],
  };
}

/** Orders (or resumes) at the context's CA, installs the certificate, imports it into ACM and announces it. */
async function orderAndInstall(
  ctx: RenewalContext,
  plan: OrderPlan,
  session: CaSession,
  prepared: PreparedOrder,
): Promise<RenewOutcome> {
  const { deps, config, record } = ctx;
  const profile = profileFor(config.profile, session.directory);
  if (profile.note) deps.progress?.('profile_dropped', { id: config.id, note: profile.note });
  const issued = await obtainCertificate(ctx, plan, session, prepared, profile.profile);
  if (issued.replacesDropped)
    deps.progress?.('replaces_dropped', { id: config.id, why: issued.replacesDropped });
  const installed = await installCertificate(ctx, plan, session, prepared, issued, profile.note);

  // The state names the new certificate now, so no stored order needs the pending key: it goes during the import.
  const [imported] = await Promise.all([
    importEverywhere(ctx, record.state),
    deps.store.deletePendingKey(config.id).catch(() => {}),
  ]);
  await record.save(imported.state);
  if (imported.failures.length > 0) {
    throw new AcmeAwsError(
      'import-failed',
      `"${config.id}" was renewed and stored (serial ${installed.serial}) but ACM import failed: ${imported.failures.join('; ')}; the retry re-imports from S3 without a new order`,
    );
  }
  const abandonedOrder = plan.abandon?.url;
  await deps.events.publish('Certificate Renewed', {
    id: config.id,
    domains: config.domains,
    reason: plan.reason,
    serial: installed.serial,
    notAfter: installed.notAfter,
    replaced: issued.replaced ?? null,
    replacesDropped: issued.replacesDropped ?? null,
    profileNote: profile.note ?? null,
    abandonedOrder: abandonedOrder ?? null,
    acm: arnsByRegion(imported.state.acm),
    ...issuerDetail(imported.state),
  });
  const notes = [
    ...(ctx.failover ? [`failed over from "${ctx.failover.from}": ${ctx.failover.why}`] : []),
    ...(profile.note ? [profile.note] : []),
    ...issued.notes,
    ...(plan.abandon ? [plan.why] : []),
  ];
  return {
    id: config.id,
    result: 'renewed',
    reason: plan.reason,
    serial: installed.serial,
    notAfter: installed.notAfter,
    orderUrl: issued.orderUrl,
    replaced: issued.replaced,
    replacesDropped: issued.replacesDropped,
    resumed: issued.resumed,
    ...(profile.note ? { profileNote: profile.note } : {}),
    ...(abandonedOrder ? { abandonedOrder } : {}),
    imports: imported.results,
    notes,
    issuedBy: ctx.caName,
    ...(ctx.failover ? { failover: ctx.failover } : {}),
  };
}

/**
 * The renewal event's account of the issuer: the CA's inventory name, the failover that led there (null at the
 * first CA), and why `replaces` was withheld (null when sent or when there was no predecessor).
 */
function issuerDetail(state: CertificateState) {
  const by = state.current?.issuedBy;
  return {
    issuedBy: by?.ca ?? null,
    failover: by?.failover ?? null,
    replacesWithheld: by?.replacesWithheld ?? null,
  };
}
