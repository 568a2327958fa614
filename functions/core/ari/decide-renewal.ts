/** What {@link decideRenewal} looks at; every instant comes from the caller, so the decision is pure. */
export type DecideRenewalInput = {
  now: Date;
  /** Validity of the current certificate; absent when none has been issued yet. */
  certificate?: { notBefore: Date; notAfter: Date };
  /** True when inventory fields that shape the certificate (names, key type, CA, profile) changed since issuance. */
  configChanged?: boolean;
  /**
   * The CA's renewal window for *this* certificate and the time selected in it (see `selectRenewalTime`).
   * Absent when the CA has no ARI or the last answer was unusable; must be dropped when the certificate is replaced.
   */
  ari?: { selectedTime: Date; windowStart: Date; windowEnd: Date; nextCheckAt?: Date };
  /**
   * A deferral the CA imposed (a rate limit's or a 503's Retry-After) that the caller found still in force: no
   * renewal before `until`, except at the emergency floor. `why` is our own short description of it.
   */
  deferral?: { until: Date; why?: string };
};

/** Renew now (and why), or not yet (and when to look again). Reasons are stable strings for logs and metrics. */
export type RenewalDecision =
  | { renew: true; reason: 'new' | 'changed' | 'ari-window' | 'ratio' | 'emergency'; explanation: string }
  | { renew: false; reason: 'not-yet' | 'deferred'; renewAt: Date; nextCheckAt: Date; explanation: string };

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Lifetimes under this renew at half their lifetime instead of a third: a short certificate needs more slack. */
const SHORT_LIFETIME_MS = 10 * DAY;

/** Fraction of the lifetime left at which the emergency floor fires, whatever ARI says. */
const EMERGENCY_FRACTION = 1 / 20;

/**
 * The instant at which a certificate without usable ARI is due: when 1/3 of its lifetime is left, or 1/2 for
 * lifetimes under 10 days (Let's Encrypt's 6-day certificates would otherwise leave only 2 days to recover).
 */
export function ratioRenewalTime(notBefore: Date, notAfter: Date): Date {
  const lifetime = lifetimeMs(notBefore, notAfter);
  const fraction = lifetime < SHORT_LIFETIME_MS ? 1 / 2 : 1 / 3;
  return new Date(notAfter.getTime() - Math.floor(lifetime * fraction));
}

/**
 * The instant of the emergency floor, when 1/20 of the lifetime is left: a renewal fires here even when the CA's
 * window says later, because a CA bug or a stale window must never let a certificate expire.
 */
export function emergencyTime(notBefore: Date, notAfter: Date): Date {
  const lifetime = lifetimeMs(notBefore, notAfter);
  return new Date(notAfter.getTime() - Math.floor(lifetime * EMERGENCY_FRACTION));
}

/**
 * Decides whether a certificate is due for renewal now, and if not, when it will be.
 *
 * Rules, first match wins: no certificate → `new`; configuration changed → `changed`; expired or at the emergency
 * floor → `emergency`; usable ARI and its selected time has come → `ari-window`; without usable ARI, at the
 * lifetime ratio → `ratio`. With ARI the ratio does not apply (the CA may legitimately ask for a later renewal).
 * A deferral in force comes before all of these but the emergency floor: `deferred` until it ends or the floor
 * comes, whichever is first, so no Retry-After can let a certificate expire.
 *
 * @see RFC 9773 §4.2: "Conforming clients MUST attempt renewal at a time of their choosing based on the suggested
 *   renewal window." and "3. If the selected time is in the past, attempt renewal immediately."
 * @see RFC 9773 §4.2: an invalid RenewalInfo is treated "as though they failed to receive any response from the
 *   server (e.g., retry at an appropriate interval, renew on a fallback schedule, etc.)" — the ratio rule here.
 */
export function decideRenewal(input: DecideRenewalInput): RenewalDecision {
  const deferral = input.deferral;
  if (deferral === undefined || !Number.isFinite(deferral.until.getTime())) return decideUndeferred(input);
  const { certificate } = input;
  const why = deferral.why ?? 'rate limited';
  if (certificate === undefined) {
    const until = deferral.until;
    return notYet(
      until,
      undefined,
      `The CA asked us to wait until ${iso(until.getTime())} (${why})`,
      'deferred',
    );
  }
  const undeferred = decideUndeferred({ ...input, configChanged: false });
  if (undeferred.renew && undeferred.reason === 'emergency') return undeferred;
  const emergencyAt = emergencyTime(certificate.notBefore, certificate.notAfter);
  const until = new Date(Math.min(deferral.until.getTime(), emergencyAt.getTime()));
  const floor =
    until.getTime() < deferral.until.getTime()
      ? `; the emergency floor at ${iso(emergencyAt.getTime())} comes first and ends the wait`
      : '';
  return notYet(
    until,
    undefined,
    `The CA asked us to wait until ${iso(deferral.until.getTime())} (${why})${floor}`,
    'deferred',
  );
}

function decideUndeferred(input: DecideRenewalInput): RenewalDecision {
  const { now, certificate } = input;
  if (certificate === undefined) {
    return { renew: true, reason: 'new', explanation: 'No certificate has been issued yet' };
  }
  if (input.configChanged === true) {
    return {
      renew: true,
      reason: 'changed',
      explanation:
        'The inventory entry changed (names, key type, CA or profile) and the current certificate no longer matches it',
    };
  }

  const notBefore = certificate.notBefore.getTime();
  const notAfter = certificate.notAfter.getTime();
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter) || notAfter <= notBefore) {
    // Renewing is the only safe answer for a certificate whose validity cannot be reasoned about.
    return {
      renew: true,
      reason: 'emergency',
      explanation: 'The certificate has no usable validity period (notAfter missing or not after notBefore)',
    };
  }
  const lifetime = notAfter - notBefore;
  const remaining = notAfter - now.getTime();
  const ari = usableAri(input.ari);

  if (remaining <= 0) {
    return { renew: true, reason: 'emergency', explanation: `The certificate expired at ${iso(notAfter)}` };
  }
  const emergencyAt = emergencyTime(certificate.notBefore, certificate.notAfter);
  if (now.getTime() >= emergencyAt.getTime()) {
    const ariLater =
      ari !== undefined && ari.selectedTime.getTime() > now.getTime()
        ? `, although the CA's selected renewal time is ${iso(ari.selectedTime.getTime())}`
        : '';
    return {
      renew: true,
      reason: 'emergency',
      explanation: `Only ${duration(remaining)} of the ${duration(lifetime)} lifetime left, at or below the emergency floor of ${duration(notAfter - emergencyAt.getTime())}${ariLater}`,
    };
  }

  if (ari !== undefined) {
    const selected = ari.selectedTime.getTime();
    const window = `${iso(ari.windowStart.getTime())} – ${iso(ari.windowEnd.getTime())}`;
    if (selected <= now.getTime()) {
      return {
        renew: true,
        reason: 'ari-window',
        explanation: `The time selected in the CA's renewal window (${window}) came at ${iso(selected)}`,
      };
    }
    const renewAt = new Date(Math.min(selected, emergencyAt.getTime()));
    const why =
      selected <= emergencyAt.getTime()
        ? `the time selected in the CA's renewal window (${window})`
        : `the emergency floor, which comes before the time selected in the CA's renewal window (${window})`;
    return notYet(renewAt, input.ari?.nextCheckAt, `Renew at ${iso(renewAt.getTime())}: ${why}`);
  }

  const ratioAt = ratioRenewalTime(certificate.notBefore, certificate.notAfter);
  const share = lifetime < SHORT_LIFETIME_MS ? '1/2' : '1/3';
  const threshold = notAfter - ratioAt.getTime();
  if (now.getTime() >= ratioAt.getTime()) {
    return {
      renew: true,
      reason: 'ratio',
      explanation: `${duration(remaining)} of the ${duration(lifetime)} lifetime left, at or below ${share} (${duration(threshold)}), and no usable ARI window`,
    };
  }
  return notYet(
    ratioAt,
    input.ari?.nextCheckAt,
    `Renew at ${iso(ratioAt.getTime())}, when ${share} of the ${duration(lifetime)} lifetime is left (no usable ARI window)`,
  );
}

function notYet(
  renewAt: Date,
  ariNextCheckAt: Date | undefined,
  explanation: string,
  reason: 'not-yet' | 'deferred' = 'not-yet',
): RenewalDecision {
  const check =
    ariNextCheckAt !== undefined && Number.isFinite(ariNextCheckAt.getTime())
      ? Math.min(renewAt.getTime(), ariNextCheckAt.getTime())
      : renewAt.getTime();
  return { renew: false, reason, renewAt, nextCheckAt: new Date(check), explanation };
}

/** The ARI input when every instant is valid and the window is not empty; otherwise the ratio rule applies. */
function usableAri(ari: DecideRenewalInput['ari']): DecideRenewalInput['ari'] {
  if (ari === undefined) return undefined;
  const start = ari.windowStart.getTime();
  const end = ari.windowEnd.getTime();
  const selected = ari.selectedTime.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(selected) || end <= start) {
    return undefined;
  }
  return ari;
}

function lifetimeMs(notBefore: Date, notAfter: Date): number {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A human duration with one decimal in the largest fitting unit: "89.5 days", "6 hours", "30 minutes". */
function duration(ms: number): string {
  for (const [size, unit] of [
    [DAY, 'day'],
    [HOUR, 'hour'],
    [MINUTE, 'minute'],
  ] as const) {
    if (ms >= size) {
      const value = Math.round((ms / size) * 10) / 10;
      return `${value} ${unit}${value === 1 ? '' : 's'}`;
    }
  }
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
