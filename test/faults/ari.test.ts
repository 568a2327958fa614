import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../functions/composition/runtime';
import { ARI_CHECK_JITTER } from '../../functions/core/ari';
import { parseScheduleIndex } from '../../functions/core/renewal/schedule-index';
import { ARI_REQUEST_TIMEOUT_MS } from '../../functions/core/time-budget';
import { overwriteState } from '../support/fakes';
import type { FaultResponse } from '../support/faults/fault-proxy';
import { type FaultWorld, startFaultWorld } from '../support/faults/faults-world';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** One ARI fault: what the renewalInfo resource answers, and when the next check must come. */
interface AriCase {
  readonly id: string;
  readonly scenario: string;
  readonly answer: (window: { start: string; end: string }) => FaultResponse;
  /** The CA's delay until the next ARI request, before the scheduler's jitter (± a minute). */
  readonly nextCheckInMs: number;
  /** Whether the last good window is kept (temporary failure, or a valid answer). */
  readonly windowKept: boolean;
  readonly expectError: boolean;
}

const json = (body: unknown, headers: Record<string, string> = {}, status = 200): FaultResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const CASES: readonly AriCase[] = [
  {
    id: 'ari-404',
    scenario: 'renewalInfo answers 404 (CA dropped ARI for this certificate)',
    answer: () =>
      json({ type: 'urn:ietf:params:acme:error:malformed', detail: 'no such certificate' }, {}, 404),
    nextCheckInMs: 6 * HOUR,
    windowKept: false,
    expectError: true,
  },
  {
    id: 'ari-500',
    scenario: 'renewalInfo answers 500 without Retry-After',
    answer: () => json({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'boom' }, {}, 500),
    nextCheckInMs: HOUR,
    windowKept: true,
    expectError: true,
  },
  {
    id: 'ari-garbage',
    scenario: 'renewalInfo answers 200 with a non-JSON body',
    answer: () => json('<html>oops</html>'),
    nextCheckInMs: 6 * HOUR,
    windowKept: false,
    expectError: true,
  },
  {
    id: 'ari-bad-window',
    scenario: 'renewalInfo window ends before it starts',
    answer: (w) => json({ suggestedWindow: { start: w.end, end: w.start } }),
    nextCheckInMs: 6 * HOUR,
    windowKept: false,
    expectError: true,
  },
  {
    id: 'ari-huge-retry',
    scenario: 'valid window with Retry-After: 99999999999 (3000 years)',
    answer: (w) => json({ suggestedWindow: w }, { 'retry-after': '99999999999' }),
    nextCheckInMs: DAY,
    windowKept: true,
    expectError: false,
  },
  {
    id: 'ari-negative-retry',
    scenario: 'valid window with Retry-After: -60',
    answer: (w) => json({ suggestedWindow: w }, { 'retry-after': '-60' }),
    nextCheckInMs: 6 * HOUR,
    windowKept: true,
    expectError: false,
  },
  {
    id: 'ari-redirect',
    scenario: 'renewalInfo redirects (302) to another origin, with a body of its own',
    answer: () => ({
      status: 302,
      headers: { location: `${decoy.origin}/renewal-info/steal?attacker-bytes`, 'content-type': 'text/html' },
      body: '<a>attacker-bytes</a>',
    }),
    nextCheckInMs: 6 * HOUR,
    windowKept: false,
    expectError: true,
  },
  {
    id: 'ari-hang',
    scenario: `renewalInfo accepts the request and does not answer for longer than the ${ARI_REQUEST_TIMEOUT_MS / 1000} s deadline`,
    answer: () => ({ delayMs: ARI_REQUEST_TIMEOUT_MS + 5_000 }),
    nextCheckInMs: HOUR,
    windowKept: true,
    expectError: true,
  },
  {
    id: 'ari-zero-retry',
    scenario: 'valid window with Retry-After: 0 (would hot-loop)',
    answer: (w) => json({ suggestedWindow: w }, { 'retry-after': '0' }),
    nextCheckInMs: MINUTE,
    windowKept: true,
    expectError: false,
  },
];

let world: FaultWorld;
let config: RuntimeConfig;
let renewalInfoPath: string;
/** Another origin a redirect points to; no case may ever reach it. */
const decoy: { server?: Server; origin: string; hits: number } = { origin: '', hits: 0 };

const ariRequests = (certId: string, since: number) =>
  world.bed
    .proxy!.requests.slice(since)
    .filter((r) => r.method === 'GET' && r.path === `${renewalInfoPath}/${certId}`);

beforeAll(async () => {
  decoy.server = createServer((_req, res) => {
    decoy.hits += 1;
    res.end('{}');
  });
  await new Promise<void>((resolve) => decoy.server!.listen(0, '127.0.0.1', resolve));
  decoy.origin = `http://127.0.0.1:${(decoy.server.address() as AddressInfo).port}`;
  world = await startFaultWorld('ari', {
    zones: ['ari.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: [...CASES.map((c) => c.id), 'ari-after-issue'].map((id) => ({
        id,
        ca: 'pebble',
        domains: [`${id}.ari.test`],
      })),
    }),
  });
  config = world.config;
  const directory = (await (await world.bed.fetch(world.bed.directoryUrl)).json()) as { renewalInfo: string };
  renewalInfoPath = new URL(directory.renewalInfo).pathname;
  const { event } = await world.schedule();
  expect((await world.renew(event, config, 8)).batchItemFailures).toEqual([]);
  // One pass reads what the renewals wrote (their change markers), so each case below starts from a settled index.
  await world.schedule();
});

afterAll(async () => {
  await world?.stop();
  decoy.server?.closeAllConnections();
  await new Promise((resolve) => (decoy.server ? decoy.server.close(resolve) : resolve(undefined)));
});

/** When the scheduler looks at `id` again, as its schedule index says (epoch milliseconds). */
async function indexedLookAt(id: string): Promise<number> {
  const index = parseScheduleIndex((await world.runtime().index.loadIndex())?.value);
  const row = index?.ids.indexOf(id) ?? -1;
  if (index === undefined || row < 0) throw new Error(`the schedule index has no row for ${id}`);
  return index.lookAt[row]!;
}

describe('ARI faults: fallback schedule, no crash, bounded polling', () => {
  it.each(CASES)('$scenario', async (c) => {
    const store = world.runtime().store;
    const state = (await store.getState(c.id))!;
    const certId = state.current!.certId!;
    const window = { start: state.ari!.windowStart, end: state.ari!.windowEnd };
    // Due for an ARI check now; every other certificate is not.
    await overwriteState(store, c.id, {
      ...state,
      ari: { ...state.ari!, nextCheckAt: new Date(0).toISOString() },
    });
    const before = await world.snapshot(c.id);
    const since = world.bed.proxy!.requests.length;
    world.bed.proxy!.addRule((r) =>
      r.method === 'GET' && r.path === `${renewalInfoPath}/${certId}` ? c.answer(window) : undefined,
    );

    const now = Date.now();
    const pass = await world.schedule();
    // The schedule index: only the certificate whose state changed is read; the others wait for their time.
    expect(pass.result.checked).toBe(1);
    expect(pass.event.Records).toHaveLength(0);
    expect(ariRequests(certId, since)).toHaveLength(1);
    const after = (await store.getState(c.id))!;
    // A refresh that confirms the stored window writes no state: its next check is in the schedule index only.
    const nextAt = c.windowKept ? await indexedLookAt(c.id) : Date.parse(after.ariRetryAt!);
    // The scheduler spreads the next check past the CA's time by up to ARI_CHECK_JITTER of it, never past a day.
    expect(nextAt - now).toBeGreaterThan(Math.min(c.nextCheckInMs, DAY * (1 - ARI_CHECK_JITTER)) - MINUTE);
    expect(nextAt - now).toBeLessThan(Math.min(c.nextCheckInMs * (1 + ARI_CHECK_JITTER), DAY) + MINUTE);
    if (c.expectError) expect(after.ariError).toBeDefined();
    else expect(after.ariError).toBeUndefined();
    // What the endpoint (or whoever it redirects to) sent is never recorded, and no redirect leaves the CA.
    expect(after.ariError ?? '').not.toMatch(/attacker-bytes/);
    expect(decoy.hits).toBe(0);
    expect(after.ari?.windowStart).toBe(c.windowKept ? window.start : undefined);

    // Bounded: the next hourly passes ask again only once the next check is due, and then exactly once.
    await world.schedule();
    expect(ariRequests(certId, since)).toHaveLength(1);
    const due = await world.schedule({ ...config, clock: { now: () => new Date(nextAt + 1_000) } });
    expect(due.event.Records).toHaveLength(0);
    expect(ariRequests(certId, since)).toHaveLength(2);
    world.bed.proxy!.clearRules();

    // The fallback schedule the scheduler now follows (dry run: no request, nothing written).
    const check = (await world.runtime().scheduler({ dryRun: true, only: c.id })).checks[0]!;
    expect(check.due).toBe(false);
    if (!c.windowKept) expect(check.explanation).toMatch(/no usable ARI window/);
    const renewIn = ((Date.parse(check.renewAt!) - now) / DAY).toFixed(0);
    world.verdict(
      {
        scenario: c.scenario,
        outcome: `no crash, not due; ${c.windowKept ? 'window kept' : 'fallback to the lifetime ratio'}; next ARI check in ${c.nextCheckInMs < HOUR ? `${c.nextCheckInMs / MINUTE} min` : `${c.nextCheckInMs / HOUR} h`}`,
        notes: `renew in ${renewIn} days; ${
          after.ariError
            ? after.ariError
                .replaceAll(decoy.origin, '<another origin>')
                .replace(/https:\/\/127\.0\.0\.1:\d+\S*/g, '<renewalInfo>')
                .slice(0, 120)
            : 'window accepted; Retry-After clamped to [1 min, 1 day], an invalid one read as 6 h'
        }`,
      },
      await world.lost(before, 'kept'),
      await world.leaked(c.id),
    );
  });

  it('renewalInfo down right after issuance: renewed anyway, ARI asked again after the hour', async () => {
    const id = 'ari-after-issue';
    const before = await world.snapshot(id);
    world.bed.proxy!.addRule((r) =>
      r.method === 'GET' && r.path.startsWith(`${renewalInfoPath}/`)
        ? json({ detail: 'down' }, {}, 503)
        : undefined,
    );
    const response = await world.renew(world.message(id));
    world.bed.proxy!.clearRules();
    expect(response.batchItemFailures).toEqual([]);
    const state = (await world.state(id))!;
    expect(state.lastResult).toBe('renewed');
    expect(state.ari).toBeUndefined();
    expect(state.ariError).toMatch(/503/);
    // The renewer refreshed through the scheduler's own code: it asks again after the temporary retry (an hour).
    expect(Date.parse(state.ariRetryAt!) - Date.now()).toBeLessThanOrEqual(HOUR);
    // The pass after that fetches ARI for the new certificate (it has none yet) and keeps the answer.
    const since = world.bed.proxy!.requests.length;
    await world.schedule({ ...config, clock: { now: () => new Date(Date.now() + HOUR + MINUTE) } });
    expect(ariRequests(state.current!.certId!, since)).toHaveLength(1);
    const later = (await world.state(id))!;
    expect(later.ari?.certId).toBe(state.current!.certId);
    world.verdict(
      {
        scenario: 'renewalInfo answers 503 right after a renewal',
        outcome: 'renewed; `ariError` recorded; the next scheduler pass fetched the window',
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });
});
