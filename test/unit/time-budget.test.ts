import { describe, expect, it } from 'vitest';
import {
  ACME_REQUEST_TIMEOUT_MS,
  ARI_REQUEST_TIMEOUT_MS,
  passBudget,
  RENEWER_CHECKPOINT_MARGIN_MS,
  RENEWER_LEASE_TTL_MS,
  RENEWER_POLL_BUDGET_MS,
  RENEWER_TIMEOUT_MS,
  SCHEDULER_PASS_BUDGET_MS,
  SCHEDULER_PUBLISH_MARGIN_MS,
  SCHEDULER_TIMEOUT_MS,
} from '../../functions/core/time-budget';

const LAMBDA_MAX_TIMEOUT_MS = 15 * 60_000;

describe('the Lambda time budget', () => {
  it('fits both functions inside Lambda’s 15-minute limit', () => {
    expect(SCHEDULER_TIMEOUT_MS).toBeLessThanOrEqual(LAMBDA_MAX_TIMEOUT_MS);
    expect(RENEWER_TIMEOUT_MS).toBeLessThanOrEqual(LAMBDA_MAX_TIMEOUT_MS);
  });

  it('a live renewer is never overtaken: the lease outlives the renewer', () => {
    expect(RENEWER_LEASE_TTL_MS).toBeGreaterThan(RENEWER_TIMEOUT_MS);
  });

  it('the renewer stops polling early enough to checkpoint, with room for a few ACME requests', () => {
    expect(RENEWER_POLL_BUDGET_MS + RENEWER_CHECKPOINT_MARGIN_MS).toBeLessThanOrEqual(RENEWER_TIMEOUT_MS);
    expect(RENEWER_CHECKPOINT_MARGIN_MS).toBeGreaterThanOrEqual(4 * ACME_REQUEST_TIMEOUT_MS);
  });

  it('the scheduler stops starting checks early enough for the ones in flight and the metrics', () => {
    expect(SCHEDULER_PASS_BUDGET_MS + SCHEDULER_PUBLISH_MARGIN_MS).toBeLessThanOrEqual(SCHEDULER_TIMEOUT_MS);
    // A check started just before the budget ran out ends within one ARI request plus its S3 read and write.
    expect(SCHEDULER_PUBLISH_MARGIN_MS).toBeGreaterThanOrEqual(3 * ARI_REQUEST_TIMEOUT_MS);
  });

  it('one unresponsive endpoint costs a small share of a pass', () => {
    expect(ARI_REQUEST_TIMEOUT_MS * 10).toBeLessThanOrEqual(SCHEDULER_PASS_BUDGET_MS);
    expect(ACME_REQUEST_TIMEOUT_MS * 10).toBeLessThanOrEqual(RENEWER_POLL_BUDGET_MS);
  });
});

describe('passBudget', () => {
  it('counts down from the budget on the caller’s clock, and goes negative once spent', () => {
    let now = Date.parse('2025-01-01T00:00:00.000Z');
    const remaining = passBudget({ now: () => new Date(now) }, 60_000);
    expect(remaining()).toBe(60_000);
    now += 45_000;
    expect(remaining()).toBe(15_000);
    now += 20_000;
    expect(remaining()).toBe(-5_000);
  });
});
