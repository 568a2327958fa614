import * as z from '../zod';

/**
 * The renewal queue's message, defined once: the scheduler and the CLI write it, the renewer parses it, and the
 * stack output and docs show {@link MANUAL_RENEWAL_EXAMPLE} built from it.
 */

/** Why a renewal was asked for: the scheduler's decision reasons, plus the ones a person or a retry gives. */
export const RENEWAL_REASONS = [
  'new',
  'changed',
  'ari-window',
  'ratio',
  'emergency',
  'forced',
  'manual',
  'retry',
] as const;
export type RenewalReason = (typeof RENEWAL_REASONS)[number];

export const renewalMessageSchema = z.strictObject({
  /** Inventory id of the certificate. */
  id: z.string().check(z.minLength(1, 'must be the inventory id of a certificate')),
  reason: z._default(
    z.enum(RENEWAL_REASONS, { error: `must be one of ${RENEWAL_REASONS.join(', ')}` }),
    'manual',
  ),
  /**
   * Order even when the certificate is not due. At most one forced order per certificate per
   * `forcedRenewalInterval` (1 hour by default), so a sender in a loop cannot exhaust the CA's duplicate limit.
   */
  force: z.optional(z.boolean()),
});
export type RenewalMessage = z.infer<typeof renewalMessageSchema>;

/** The message a person sends to renew one certificate now (shown in the stack output and the docs). */
export const MANUAL_RENEWAL_EXAMPLE = '{"id":"<certificate id>","reason":"manual","force":true}';

/** Parses a queue message body; `undefined` plus every problem when it is not a renewal message. */
export function parseRenewalMessage(
  body: string,
): { ok: true; message: RenewalMessage } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, problems: ['the body is not JSON'] };
  }
  const parsed = renewalMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
  };
}

/** The body the queue adapter sends for one request. */
export function renewalMessageBody(message: RenewalMessage): string {
  return JSON.stringify(renewalMessageSchema.parse(message));
}
