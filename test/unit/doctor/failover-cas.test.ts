import { describe, expect, it } from 'vitest';
import type { CaaRecord } from '../../../functions/core/doctor/caa';
import { type DoctorDeps, runDoctor } from '../../../functions/core/doctor/run-doctor';

/** Doctor deps over fixed CAA answers, one managed zone, and an account only at the directories named. */
function deps(caa: Record<string, CaaRecord[]>, accounts: Record<string, string> = {}): DoctorDeps {
  return {
    dns: {
      caa: async (name) => caa[name] ?? [],
      cname: async () => undefined,
      ns: async () => ['ns-1.awsdns-01.org'],
    },
    zones: {
      zones: async () => [{ id: 'Z1', name: 'example.com', private: false }],
      nameServers: async () => ['ns-1.awsdns-01.org'],
    },
    accountUrl: async (directoryUrl) => accounts[directoryUrl],
    issuedLifetimeDays: async () => undefined,
  };
}

const issue = (value: string): CaaRecord => ({ flags: 0, tag: 'issue', value });
const inventory = {
  certificates: [{ id: 'web', ca: ['letsencrypt', 'google-trust-services'], domains: ['example.com'] }],
};

async function caaChecks(caa: Record<string, CaaRecord[]>) {
  const report = await runDoctor(deps(caa), inventory, { defaultRegion: 'us-east-1' });
  return { report, caa: report.certificates[0]!.checks.filter((c) => c.check === 'caa') };
}

describe('doctor checks every CA a certificate may fail over to', () => {
  it('CAA allowing both CAs passes for each, one verdict per CA', async () => {
    const { caa } = await caaChecks({ 'example.com': [issue('letsencrypt.org'), issue('pki.goog')] });
    expect(caa.map((c) => [c.status, c.message.startsWith('failover CA "google-trust-services"')])).toEqual([
      ['ok', false],
      ['ok', true],
    ]);
  });

  it('CAA refusing the failover CA warns by name, while the first CA still passes', async () => {
    const { report, caa } = await caaChecks({ 'example.com': [issue('letsencrypt.org')] });
    expect(caa[0]).toMatchObject({ status: 'ok', subject: 'example.com' });
    expect(caa[1]).toMatchObject({
      status: 'warn',
      subject: 'example.com',
      message: expect.stringMatching(
        /^failover CA "google-trust-services": CAA at example\.com allows letsencrypt\.org/,
      ),
    });
    expect(report.certificates[0]!.status).toBe('warn');
  });

  it('CAA refusing the first CA still fails the certificate', async () => {
    const { report, caa } = await caaChecks({ 'example.com': [issue('pki.goog')] });
    expect(caa.map((c) => c.status)).toEqual(['fail', 'ok']);
    expect(report.status).toBe('fail');
  });

  it('a certificate without failover CAs gets one CAA verdict per name, as before', async () => {
    const single = {
      certificates: [{ id: 'web', ca: 'letsencrypt', domains: ['example.com', 'www.example.com'] }],
    };
    const report = await runDoctor(deps({}), single, { defaultRegion: 'us-east-1' });
    const caa = report.certificates[0]!.checks.filter((c) => c.check === 'caa');
    expect(caa.map((c) => [c.subject, c.status])).toEqual([
      ['example.com', 'ok'],
      ['www.example.com', 'ok'],
    ]);
    expect(caa.every((c) => !c.message.startsWith('failover'))).toBe(true);
  });
});
