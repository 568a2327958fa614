import {
  ARI_MAX_CHECK_INTERVAL_MS,
  decideRenewal,
  fetchRenewalInfo,
  jitterNextCheck,
  type RenewalDecision,
  type RenewalInfo,
  RenewalInfoError,
  type RequestRate,
  selectRenewalTime,
} from '../ari';
import type { Random } from '../clock';
import { describeError } from '../errors';
import type { Fetch, RequestTimer } from '../http';
import { RATE_LIMIT_MAX_DEFERRAL_MS } from '../retry-after';
import type { AriState, CertificateState } from './state';

/** Input of {@link checkCertificate}: one certificate's state, the CA's ARI endpoint and the clock. */
export interface CheckCertificateInput {
  readonly state: CertificateState;
  /** The hash of the inventory entry now; differs from `state.configHash` when the entry changed. */
  readonly configHash: string;
  /** The `renewalInfo` URL of the CA that issued the current certificate; absent when it has no ARI. */
  readonly renewalInfoUrl?: string;
  readonly fetch: Fetch;
  /** Deadline of the renewalInfo request. @default ARI_REQUEST_TIMEOUT_MS */
  readonly ariTimeoutMs?: number;
  /** Makes the request's deadline signal. @default abortAfter (`AbortSignal.timeout`) */
  readonly timer?: RequestTimer;
  readonly now: Date;
  readonly random: Random;
  /**
   * Renew now when the renewal time falls before the next scheduled check.
   * @see RFC 9773 §4.2 "If the selected time is before the next time that the client would wake up normally,
   * the client SHOULD attempt renewal immediately"
   */
  readonly lookaheadMs?: number;
  /** Spreads the next check past the CA's Retry-After (see `jitterNextCheck`). @default 0 (none) */
  readonly ariJitter?: number;
  /** Bounds the renewalInfo requests per CA (keyed by the renewalInfo URL). @default unbounded */
  readonly requestRate?: RequestRate;
}

/** The decision for one certificate, and the state with fresh ARI data to save. */
export interface CheckCertificateResult {
  readonly decision: RenewalDecision;
  readonly state: CertificateState;
  /** True when a renewalInfo request was made. */
  readonly ariRequested: boolean;
  /** Why ARI could not be used, when it could not. */
  readonly ariError?: string;
}

/**
 * Refreshes ARI for one certificate when its Retry-After has passed, then decides whether it is due.
 * An ARI failure never blocks a renewal: the decision falls back to the lifetime ratio. While the CA's rate limit
 * defers the certificate (and its emergency floor has not come) no renewalInfo is asked for: nothing could act
 * on it before the deferral ends.
 */
export async function checkCertificate(input: CheckCertificateInput): Promise<CheckCertificateResult> {
  const { now } = input;
  let state = input.state;
  const current = state.current;
  let ariRequested = false;
  let ariError: string | undefined;

  const nextAriAt = storedAriNextCheck(state, now);
  const deferred = rateLimitDeferral(state, now) !== undefined;
  if (
    !deferred &&
    current?.certId &&
    input.renewalInfoUrl &&
    (nextAriAt === undefined || now.getTime() >= nextAriAt.getTime())
  ) {
    ariRequested = true;
    ({ state, ariError } = await refreshAri({
      state,
      renewalInfoUrl: input.renewalInfoUrl,
      fetch: input.fetch,
      now,
      random: input.random,
      ...(input.ariTimeoutMs === undefined ? {} : { ariTimeoutMs: input.ariTimeoutMs }),
      ...(input.timer ? { timer: input.timer } : {}),
      ...(input.ariJitter === undefined ? {} : { jitter: input.ariJitter }),
      ...(input.requestRate ? { requestRate: input.requestRate } : {}),
    }));
  }

  const at = new Date(now.getTime() + (input.lookaheadMs ?? 0));
  const decision = decideFromState(state, input.configHash, at, now);
  return { decision, state, ariRequested, ariError };
}

/** Input of {@link refreshAri}: the state, the CA's renewalInfo URL, and what the request needs. */
export interface RefreshAriInput {
  readonly state: CertificateState;
  readonly renewalInfoUrl: string;
  readonly fetch: Fetch;
  readonly now: Date;
  readonly random: Random;
  /** Deadline of the renewalInfo request. @default ARI_REQUEST_TIMEOUT_MS */
  readonly ariTimeoutMs?: number;
  /** Makes the request's deadline signal. @default abortAfter (`AbortSignal.timeout`) */
  readonly timer?: RequestTimer;
  /**
   * Draws the next check up to this fraction of the interval past the CA's Retry-After, so certificates refreshed
   * together fall due in different passes. @default 0 (exactly the Retry-After)
   */
  readonly jitter?: number;
  /** Waited on before the request, keyed by the renewalInfo URL (one bucket per CA). @default unbounded */
  readonly requestRate?: RequestRate;
}

/**
 * Asks the CA's renewalInfo about the current certificate and records the answer in the state: the window, the
 * time selected in it (kept while the window is unchanged) and when to ask again. A failure records why and when
 * to retry (`ariRetryAt`); a temporary one keeps the last good window of this certificate, anything else drops it.
 * The one ARI refresh of the system: the scheduler's pass and the renewer's fetch right after issuance use it.
 * @see RFC 9773 §4.2 (selecting a time in the window), §4.3 (Retry-After and errors)
 */
export async function refreshAri(
  input: RefreshAriInput,
): Promise<{ state: CertificateState; ariError?: string }> {
  const { state, now } = input;
  const certId = state.current?.certId;
  if (certId === undefined) return { state };
  const known = state.ari?.certId === certId ? state.ari : undefined;
  const jitter = input.jitter ?? 0;
  const spread = (at: Date): Date => (jitter > 0 ? jitterNextCheck(at, now, input.random, jitter) : at);
  try {
    await input.requestRate?.acquire(input.renewalInfoUrl);
    const fetched = await fetchRenewalInfo({
      fetch: input.fetch,
      renewalInfoUrl: input.renewalInfoUrl,
      certId,
      now,
      ...(input.ariTimeoutMs === undefined ? {} : { timeoutMs: input.ariTimeoutMs }),
      ...(input.timer ? { timer: input.timer } : {}),
    });
    const info = fetched.info;
    const nextCheckAt = spread(fetched.nextCheckAt);
    const previous = known
      ? {
          windowStart: new Date(known.windowStart),
          windowEnd: new Date(known.windowEnd),
          selectedTime: new Date(known.selectedTime),
        }
      : undefined;
    const selectedTime = selectRenewalTime({ window: info.window, previous, random: input.random });
    const ari = ariState({ certId, info, selectedTime, nextCheckAt, checkedAt: now });
    return { state: { ...state, ariError: undefined, ariRetryAt: undefined, ari } };
  } catch (error) {
    const ariError = describeError(error);
    // Retries are spread too: a CA outage would otherwise bring every certificate back in the same pass.
    const retryAt = spread(
      error instanceof RenewalInfoError ? error.nextCheckAt : new Date(now.getTime() + 60 * 60_000),
    );
    const keep = known !== undefined && error instanceof RenewalInfoError && error.temporary;
    const ari = keep ? { ...known, nextCheckAt: retryAt.toISOString() } : undefined;
    return { state: { ...state, ariError, ari, ariRetryAt: retryAt.toISOString() }, ariError };
  }
}

/**
 * The rate limit (or 503) deferral of a state document still in force at `now`, as the decision may honour it:
 * `retryAfter` as the renewer stored it, but never more than {@link RATE_LIMIT_MAX_DEFERRAL_MS} after the attempt
 * that recorded it (a value from an older version, or hand-edited, cannot silence a certificate for years). The
 * emergency floor ends it too; {@link decideRenewal} applies that.
 * @see RFC 8555 §6.6 (a rate-limited request's Retry-After)
 */
export function rateLimitDeferral(
  state: CertificateState,
  now: Date,
): { until: Date; why?: string } | undefined {
  if (state.retryAfter === undefined) return undefined;
  const recordedAt = state.lastAttemptAt === undefined ? Number.NaN : Date.parse(state.lastAttemptAt);
  // Without the attempt's instant, only a deferral we could have written (a week from now at most) is honoured.
  const cap = (Number.isFinite(recordedAt) ? recordedAt : now.getTime()) + RATE_LIMIT_MAX_DEFERRAL_MS;
  const until = Date.parse(state.retryAfter);
  if (!Number.isFinite(until) || until <= now.getTime()) return undefined;
  if (!Number.isFinite(recordedAt) && until > cap) return undefined;
  return {
    until: new Date(Math.min(until, cap)),
    ...(state.lastError === undefined ? {} : { why: state.lastError.slice(0, 300) }),
  };
}

/**
 * When the state says to ask renewalInfo again, never later than a day after the last answer (the longest interval
 * ever stored, RFC 9773 §4.3.2); a stored failure's retry further than a day away counts as due now.
 * @see RFC 9773 §4.3.2 "values over one day could be treated as if they were one day"
 */
function storedAriNextCheck(state: CertificateState, now: Date): Date | undefined {
  const current = state.current;
  if (current?.certId !== undefined && state.ari?.certId === current.certId) {
    const next = Date.parse(state.ari.nextCheckAt);
    const limit = Date.parse(state.ari.checkedAt) + ARI_MAX_CHECK_INTERVAL_MS;
    const at = Math.min(next, Number.isFinite(limit) ? limit : next);
    return Number.isFinite(at) ? new Date(at) : undefined;
  }
  if (state.ariRetryAt === undefined) return undefined;
  const retry = Date.parse(state.ariRetryAt);
  return Number.isFinite(retry) && retry <= now.getTime() + ARI_MAX_CHECK_INTERVAL_MS
    ? new Date(retry)
    : undefined;
}

/**
 * The renew/not-yet decision for a state document at instant `at`: the ARI window counts only when it belongs to
 * the current certificate, and a state without a recorded config hash (older or hand-written) is not a change.
 * A rate limit's deferral is judged at `now` (the present, without the scheduler's lookahead: a Retry-After is
 * not acted on early) and never outlasts the emergency floor.
 * The scheduler and the renewer both decide through this, so they never disagree about a certificate.
 */
export function decideFromState(
  state: CertificateState,
  currentConfigHash: string,
  at: Date,
  now: Date = at,
): RenewalDecision {
  const current = state.current;
  const ari = current?.certId !== undefined && state.ari?.certId === current.certId ? state.ari : undefined;
  const nextAriAt = storedAriNextCheck(state, now);
  const deferral = rateLimitDeferral(state, now);
  return decideRenewal({
    now: at,
    certificate: current
      ? { notBefore: new Date(current.notBefore), notAfter: new Date(current.notAfter) }
      : undefined,
    configChanged:
      current !== undefined && state.configHash !== undefined && state.configHash !== currentConfigHash,
    ari: ari
      ? {
          selectedTime: new Date(ari.selectedTime),
          windowStart: new Date(ari.windowStart),
          windowEnd: new Date(ari.windowEnd),
          ...(nextAriAt === undefined ? {} : { nextCheckAt: nextAriAt }),
        }
      : undefined,
    ...(deferral === undefined ? {} : { deferral }),
  });
}

/** The ARI part of a state document, from one renewalInfo answer and the time selected in its window. */
export function ariState(input: {
  certId: string;
  info: RenewalInfo;
  selectedTime: Date;
  nextCheckAt: Date;
  checkedAt: Date;
}): AriState {
  return {
    certId: input.certId,
    windowStart: input.info.window.start.toISOString(),
    windowEnd: input.info.window.end.toISOString(),
    selectedTime: input.selectedTime.toISOString(),
    explanationUrl: input.info.explanationUrl,
    nextCheckAt: input.nextCheckAt.toISOString(),
    checkedAt: input.checkedAt.toISOString(),
  };
}
