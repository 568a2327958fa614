import { describe, expect, it } from 'vitest';
import {
  MANUAL_RENEWAL_EXAMPLE,
  parseRenewalMessage,
  renewalMessageBody,
} from '../../../functions/core/contracts/renewal-message';

// The one definition of the renewal message: what the stack output tells operators to send must be accepted, and
// what the queue adapter and the CLI write must parse back to the same request.
describe('renewal message contract', () => {
  it('accepts the example the stack output and docs show', () => {
    const example = MANUAL_RENEWAL_EXAMPLE.replace('<certificate id>', 'example-com');
    expect(parseRenewalMessage(example)).toEqual({
      ok: true,
      message: { id: 'example-com', reason: 'manual', force: true },
    });
  });

  it.each(['new', 'changed', 'ari-window', 'ratio', 'emergency', 'forced', 'manual', 'retry'] as const)(
    'round-trips reason %s as the queue adapter writes it',
    (reason) => {
      expect(parseRenewalMessage(renewalMessageBody({ id: 'a', reason }))).toEqual({
        ok: true,
        message: { id: 'a', reason },
      });
    },
  );

  it.each([
    ['not JSON', 'renew example-com', 'the body is not JSON'],
    ['no id', '{"reason":"manual"}', 'id:'],
    ['an unknown reason', '{"id":"a","reason":"because"}', 'reason: must be one of'],
    ['an unknown field', '{"id":"a","forse":true}', 'forse'],
  ])('refuses %s, naming the field', (_what, body, problem) => {
    const parsed = parseRenewalMessage(body);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problems.join('; ')).toContain(problem);
  });

  it('defaults a message without a reason to manual', () => {
    expect(parseRenewalMessage('{"id":"a"}')).toEqual({ ok: true, message: { id: 'a', reason: 'manual' } });
  });
});
