import type { RenewalReason } from '../contracts/renewal-message';
import { decideFromState } from './check-certificate';
import { type CertificateState, MAX_FAILED_ATTEMPTS_PER_ORDER } from './state';

/** Default of {@link RenewalPlanRequest.forcedRenewalMinIntervalMs}: at most one forced order an hour. */
export const FORCED_RENEWAL_MIN_INTERVAL_MS = 60 * 60_000;

/** The parts of a renewal request that decide what the renewer does. */
export interface RenewalPlanRequest {
  readonly reason: RenewalReason;
  /** Renew even when the certificate is not due. */
  readonly force?: boolean;
  /** The scheduler's lookahead: a renewal time before its next run counts as due now (RFC 9773 §4.2). */
  readonly lookaheadMs?: number;
  /** At most one forced order per certificate in this time; 0 turns the limit off. @default 1 hour */
  readonly forcedRenewalMinIntervalMs?: number;
}

/** Input of {@link planRenewal}: the state as read, the inventory entry's hash now, the request and the instant. */
export interface RenewalPlanInput {
  readonly state: CertificateState;
  readonly configHash: string;
  readonly request: RenewalPlanRequest;
  readonly now: Date;
}

/** Which checks a new certificate must pass beyond key, names and chain (those always apply). */
export interface VerificationRules {
  /** Refuse a certificate that expires sooner than the current one. */
  readonly notSoonerThanCurrent: boolean;
  readonly why: string;
}

/** What one renewer attempt does, and why. */
export type RenewalPlan =
  | {
      /** Not due and nothing in flight: make ACM match the stored certificate, place no order. */
      readonly action: 'import-only';
      readonly reason: 'not-yet';
      readonly why: string;
    }
  | {
      /** A forced request sooner than the forced-order limit allows: nothing is ordered. */
      readonly action: 'limited';
      readonly reason: RenewalReason;
      readonly nextAllowedAt: string;
      readonly why: string;
    }
  | {
      /** `resume` continues the kept order; `order` places a new one. */
      readonly action: 'order' | 'resume';
      readonly reason: RenewalReason;
      /** Record `lastForcedAt`: this order exists only because it was forced. */
      readonly recordForcedAt: boolean;
      readonly rules: VerificationRules;
      /** The kept order given up on, when it failed {@link MAX_FAILED_ATTEMPTS_PER_ORDER} times. */
      readonly abandon?: { readonly url: string; readonly failedAttempts: number };
      readonly why: string;
    };

/**
 * Reasons for which a certificate that expires sooner than the current one is expected, not a sign of a broken
 * CA: the CA asked for the renewal (ARI), the inventory changed (a shorter profile), there was none, or a person
 * asked for it.
 */
const SOONER_EXPIRY_EXPECTED: ReadonlySet<RenewalReason> = new Set([
  'ari-window',
  'changed',
  'new',
  'forced',
  'manual',
]);

/** The verification rules for a certificate ordered for `reason`. */
export function verificationRules(reason: RenewalReason, hasCurrent: boolean): VerificationRules {
  if (!hasCurrent) return { notSoonerThanCurrent: false, why: 'no current certificate to compare with' };
  if (SOONER_EXPIRY_EXPECTED.has(reason)) {
    return { notSoonerThanCurrent: false, why: `a ${reason} renewal may expire sooner than the current one` };
  }
  return {
    notSoonerThanCurrent: true,
    why: `a ${reason} renewal expiring sooner than the current certificate would be a broken CA's, not a renewal`,
  };
}

/**
 * Decides what one renewer attempt does, from the state alone: resume the kept order (for the reason it was
 * placed for), abandon it after {@link MAX_FAILED_ATTEMPTS_PER_ORDER} failed attempts and order anew, order
 * because the certificate is due or forced, refuse a forced order sooner than the limit, or only import.
 * Pure: the same input gives the same plan, so it is tested as a table with a fixed clock.
 */
export function planRenewal(input: RenewalPlanInput): RenewalPlan {
  const { state, request, now } = input;
  const at = new Date(now.getTime() + (request.lookaheadMs ?? 0));
  const decision = decideFromState(state, input.configHash, at, now);
  const hasCurrent = state.current !== undefined;
  const pending = state.pendingOrder;
  if (pending) {
    // An order recorded before its reason was: the decision now names it (a profile change is still `changed`).
    const reason: RenewalReason = pending.reason ?? (decision.renew ? decision.reason : 'retry');
    const rules = verificationRules(reason, hasCurrent);
    if (pending.failedAttempts >= MAX_FAILED_ATTEMPTS_PER_ORDER) {
      const why = `the kept order ${pending.url} failed ${pending.failedAttempts} attempts; abandoned, ordering anew (${reason})`;
      return {
        action: 'order',
        reason,
        recordForcedAt: false,
        rules,
        abandon: { url: pending.url, failedAttempts: pending.failedAttempts },
        why,
      };
    }
    const why = `resuming the order placed at ${pending.createdAt} (${reason}, ${pending.failedAttempts} failed attempts)`;
    return { action: 'resume', reason, recordForcedAt: false, rules, why };
  }
  if (request.force === true) return planForced(input, decision.renew ? decision.explanation : undefined);
  if (decision.renew) {
    const rules = verificationRules(decision.reason, hasCurrent);
    return {
      action: 'order',
      reason: decision.reason,
      recordForcedAt: false,
      rules,
      why: decision.explanation,
    };
  }
  return { action: 'import-only', reason: 'not-yet', why: decision.explanation };
}

/** A forced request: ordered at once when the certificate is due anyway, else at most once per limit interval. */
function planForced(input: RenewalPlanInput, dueBecause: string | undefined): RenewalPlan {
  const { state, request, now } = input;
  const rules = verificationRules('forced', state.current !== undefined);
  if (dueBecause !== undefined) {
    return {
      action: 'order',
      reason: 'forced',
      recordForcedAt: false,
      rules,
      why: `forced; due anyway: ${dueBecause}`,
    };
  }
  const limit = request.forcedRenewalMinIntervalMs ?? FORCED_RENEWAL_MIN_INTERVAL_MS;
  const last = state.lastForcedAt === undefined ? Number.NaN : Date.parse(state.lastForcedAt);
  if (limit > 0 && Number.isFinite(last) && now.getTime() - last < limit) {
    const nextAllowedAt = new Date(last + limit).toISOString();
    return {
      action: 'limited',
      reason: request.reason,
      nextAllowedAt,
      why: `a forced order for "${state.id}" was placed at ${state.lastForcedAt}; the next is allowed from ${nextAllowedAt} (forcedRenewalInterval)`,
    };
  }
  return { action: 'order', reason: 'forced', recordForcedAt: true, rules, why: 'forced, not due' };
}
