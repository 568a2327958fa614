import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../../functions/cli/commands/status';
import { EXIT } from '../../../functions/cli/failure';
import type { Target } from '../../../functions/cli/target';
import type { CertificateState } from '../../../functions/core/renewal/state';
import { MemoryStore } from '../../support/fakes';

const DAY = 24 * 60 * 60_000;

/** An issued certificate of `lifetimeDays`, with `daysLeft` days to go (status reads the real clock). */
function issued(id: string, lifetimeDays: number, daysLeft: number): CertificateState {
  const notAfter = Date.now() + daysLeft * DAY;
  const notBefore = notAfter - lifetimeDays * DAY;
  return {
    version: 1,
    id,
    current: {
      serial: '0a1b',
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      domains: [`${id}.example.test`],
      keyType: 'ec-p256',
      issuer: 'CN=Pebble Intermediate CA 1a2b3c,O=Pebble',
      directoryUrl: 'https://ca.test/dir',
      accountUrl: 'https://ca.test/acct/1',
      issuedAt: new Date(notBefore).toISOString(),
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    lastResult: 'renewed',
    lastReason: 'ari-window',
  };
}

async function failUnder(days: string, states: CertificateState[]) {
  // Let's Encrypt's preset: its roots come with it.
  const store = new MemoryStore({
    certificates: states.map((s) => ({ id: s.id, ca: 'letsencrypt', domains: s.current!.domains })),
  });
  for (const state of states) store.seedState(state);
  const err: string[] = [];
  const target = { runtime: { store }, description: 'memory' } as unknown as Target;
  const code = await statusCommand(
    target,
    { json: false, failUnder: days },
    { out: () => {}, err: (t) => err.push(t) },
  );
  return { code, err: err.join('\n') };
}

describe('status --fail-under judges as the expiry alarm does (lifetime-scaled days)', () => {
  it('a 6-day certificate halfway through is not "fewer than 14 days", nor a 90-day one with 40 left', async () => {
    const result = await failUnder('14', [issued('short', 6, 3), issued('long', 90, 40)]);
    expect(result).toEqual({ code: EXIT.ok, err: '' });
  });

  it('a 6-day certificate with half a day left is, and the message gives both measures', async () => {
    const result = await failUnder('14', [issued('short', 6, 0.5), issued('long', 90, 40)]);
    expect(result.code).toBe(EXIT.expiring);
    expect(result.err).toMatch(/^short: 0\.5 days left, 7\.5 lifetime-scaled \(of 90\), fewer than 14$/);
  });

  it('a 90-day certificate counts its real days', async () => {
    const result = await failUnder('14', [issued('long', 90, 10)]);
    expect(result.code).toBe(EXIT.expiring);
    expect(result.err).toMatch(/^long: 10\.0 days left, fewer than 14$/);
  });
});
