import {
  decideRenewal,
  fetchRenewalInfo,
  type RenewalDecision,
  type RenewalInfo,
  RenewalInfoError,
  selectRenewalTime,
} from '../ari';
import type { Random } from '../clock';
import { describeError } from '../errors';
import type { Fetch } from '../http';
import type { AriState, CertificateState } from './state';

/** Input of {@link checkCertificate}: one certificate's state, the CA's ARI endpoint and the clock. */
export interface CheckCertificateInput {
  readonly state: CertificateState;
  /** The hash of the inventory entry now; differs from `state.configHash` when the entry changed. */
  readonly configHash: string;
  /** The `renewalInfo` URL of the CA that issued the current certificate; absent when it has no ARI. */
  readonly renewalInfoUrl?: string;
  readonly fetch: Fetch;
  readonly now: Date;
  readonly random: Random;
  /**
   * Renew now when the renewal time falls before the next scheduled check.
   * @see RFC 9773 §4.2 "If the selected time is before the next time that the client would wake up normally,
   * the client SHOULD attempt renewal immediately"
   */
  readonly lookaheadMs?: number;
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
 * An ARI failure never blocks a renewal: the decision falls back to the lifetime ratio.
 */
export async function checkCertificate(input: CheckCertificateInput): Promise<CheckCertificateResult> {
  const { now } = input;
  let state = input.state;
  const current = state.current;
  let ariRequested = false;
  let ariError: string | undefined;

  const ariIsForCurrent = current?.certId !== undefined && state.ari?.certId === current.certId;
  const nextAriAt = ariIsForCurrent ? state.ari!.nextCheckAt : state.ariRetryAt;
  if (current?.certId && input.renewalInfoUrl && (nextAriAt === undefined || now >= new Date(nextAriAt))) {
    ariRequested = true;
    try {
      const { info, nextCheckAt } = await fetchRenewalInfo({
        fetch: input.fetch,
        renewalInfoUrl: input.renewalInfoUrl,
        certId: current.certId,
        now,
      });
      const previous = ariIsForCurrent
        ? {
            windowStart: new Date(state.ari!.windowStart),
            windowEnd: new Date(state.ari!.windowEnd),
            selectedTime: new Date(state.ari!.selectedTime),
          }
        : undefined;
      const selectedTime = selectRenewalTime({ window: info.window, previous, random: input.random });
      state = {
        ...state,
        ariError: undefined,
        ariRetryAt: undefined,
        ari: ariState({ certId: current.certId, info, selectedTime, nextCheckAt, checkedAt: now }),
      };
    } catch (error) {
      ariError = describeError(error);
      const retryAt =
        error instanceof RenewalInfoError ? error.nextCheckAt : new Date(now.getTime() + 60 * 60_000);
      // A temporary failure keeps the last good window for this certificate; anything else drops it.
      const keep = ariIsForCurrent && error instanceof RenewalInfoError && error.temporary;
      state = {
        ...state,
        ariError,
        ari: keep ? { ...state.ari!, nextCheckAt: retryAt.toISOString() } : undefined,
        ariRetryAt: retryAt.toISOString(),
      };
    }
  }

  const at = new Date(now.getTime() + (input.lookaheadMs ?? 0));
  const decision = decideFromState(state, input.configHash, at);
  return { decision, state, ariRequested, ariError };
}

/**
 * The renew/not-yet decision for a state document at instant `at`: the ARI window counts only when it belongs to
 * the current certificate, and a state without a recorded config hash (older or hand-written) is not a change.
 * The scheduler and the renewer both decide through this, so they never disagree about a certificate.
 */
export function decideFromState(
  state: CertificateState,
  currentConfigHash: string,
  at: Date,
): RenewalDecision {
  const current = state.current;
  const ari = current?.certId !== undefined && state.ari?.certId === current.certId ? state.ari : undefined;
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
          nextCheckAt: new Date(ari.nextCheckAt),
        }
      : undefined,
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
