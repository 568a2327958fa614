/**
 * Issue 14 on Pebble 2.10: when the CA moves a certificate's ARI window (`POST /set-renewal-info/`, as in an
 * incident), the next scheduler pass logs `ari_window_moved`, publishes an `ARI Window Moved` event (as the
 * scheduler role, judged against its synthesized policy by the IAM recorder) and counts the move in its
 * `scheduler_done` line (`ari_windows_moved`; a metric only under `detailedMetrics`), each with the old and new window and the CA's explanationURL. A first ARI answer is no move.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../../functions/core/contracts/events';
import { overwriteState } from '../../support/fakes';
import { type FaultWorld, type Mark, startFaultWorld } from '../../support/faults/faults-world';

const HOUR = 60 * 60_000;
const ZONE = 'moved.test';
const ID = 'incident';
const EXPLANATION = 'https://ca.example/incidents/2026-12-01';

let world: FaultWorld;

/** Makes the next scheduler pass ask renewalInfo now (as if its Retry-After had passed). */
async function ariDueNow(): Promise<void> {
  const state = (await world.state(ID))!;
  await overwriteState(world.runtime().store, ID, {
    ...state,
    ari: { ...state.ari!, nextCheckAt: new Date(0).toISOString() },
  });
}

/** The `ARI Window Moved` details put on the bus since the mark (as moto received them). */
function movedEvents(since: Mark): unknown[] {
  return world.aws.calls
    .slice(since.awsCalls)
    .filter((call) => call.target === 'AWSEvents.PutEvents')
    .flatMap(
      (call) => (JSON.parse(call.body) as { Entries: { DetailType: string; Detail: string }[] }).Entries,
    )
    .filter((entry) => entry.DetailType === 'ARI Window Moved')
    .map((entry) => parseEvent(entry.DetailType, JSON.parse(entry.Detail)).detail);
}

/** The `ari_window_moved` log lines and the passes' `ari_windows_moved` counts written since the mark. */
function movedOutput(since: Mark): { logs: Record<string, unknown>[]; counted: number[] } {
  const lines = world
    .outputSince(since)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logs: lines.filter((l) => l.message === 'ari_window_moved'),
    counted: lines.filter((l) => l.message === 'scheduler_done').map((l) => Number(l.ari_windows_moved)),
  };
}

beforeAll(async () => {
  world = await startFaultWorld('ari-window-moved', {
    zones: [ZONE],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: [{ id: ID, ca: 'pebble', domains: [`www.${ZONE}`], profile: 'default' }],
    }),
  });
  const { event } = await world.schedule();
  expect((await world.renew(event)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('a window the CA moves', () => {
  it('is not announced on a pass that finds the window unchanged', async () => {
    await ariDueNow();
    const mark = world.mark();
    await world.schedule();
    expect(movedEvents(mark)).toEqual([]);
    expect(movedOutput(mark)).toEqual({ logs: [], counted: [0] });
  });

  it('is logged, published and counted with the old and new window and the explanationURL', async () => {
    const before = (await world.state(ID))!.ari!;
    const start = new Date(Date.now() - 2 * HOUR);
    const end = new Date(Date.now() - HOUR);
    const files = (await world.runtime().store.getCertificate(ID))!;
    await world.bed.pebble.setRenewalInfo(files.certPem, { start, end, explanationURL: EXPLANATION });
    await ariDueNow();
    const mark = world.mark();

    const { event } = await world.schedule();

    expect(event.Records.map((r) => JSON.parse(r.body))).toEqual([{ id: ID, reason: 'ari-window' }]);
    const after = (await world.state(ID))!.ari!;
    const previousWindow = { start: before.windowStart, end: before.windowEnd };
    const window = { start: after.windowStart, end: after.windowEnd };
    expect(Date.parse(window.start)).toBe(start.getTime());
    expect(movedEvents(mark)).toEqual([
      {
        id: ID,
        certId: after.certId,
        previousWindow,
        window,
        explanationUrl: EXPLANATION,
        selectedTime: after.selectedTime,
      },
    ]);
    const { logs, counted } = movedOutput(mark);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'WARN',
        certificate_id: ID,
        old_window_start: previousWindow.start,
        old_window_end: previousWindow.end,
        new_window_start: window.start,
        new_window_end: window.end,
        explanation_url: EXPLANATION,
      }),
    ]);
    expect(counted).toEqual([1]);
  });
});
