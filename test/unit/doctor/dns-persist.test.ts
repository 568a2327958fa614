import { describe, expect, it } from 'vitest';
import { CA_PRESETS } from '../../../functions/core/config/inventory';
import type { CaaRecord } from '../../../functions/core/doctor/caa';
import { type DoctorDeps, runDoctor } from '../../../functions/core/doctor/run-doctor';

const ZONES = [
  { id: 'Z1', name: 'example.com', private: false },
  { id: 'Z9', name: 'validation.example.net', private: false },
];

/** Doctor deps over fixed DNS answers: CAA and CNAME records by name. */
function deps(caa: Record<string, CaaRecord[]>, cnames: Record<string, string>): DoctorDeps {
  return {
    dns: {
      caa: async (name) => caa[name] ?? [],
      cname: async (name) => cnames[name],
      ns: async () => ['ns-1.awsdns-01.org'],
    },
    zones: { zones: async () => ZONES, nameServers: async () => ['ns-1.awsdns-01.org'] },
    accountUrl: async () => undefined,
    issuedLifetimeDays: async () => undefined,
  };
}

const inventory = (challenge: string) => ({
  cas: { le: { directoryUrl: CA_PRESETS.letsencrypt, challenge } },
  certificates: [{ id: 'web', ca: 'le', domains: ['example.com', '*.example.com'] }],
});
const issue = (value: string): CaaRecord => ({ flags: 0, tag: 'issue', value });
const issuewild = (value: string): CaaRecord => ({ flags: 0, tag: 'issuewild', value });

async function checks(
  challenge: string,
  caa: Record<string, CaaRecord[]>,
  cnames: Record<string, string> = {},
) {
  const report = await runDoctor(deps(caa, cnames), inventory(challenge), { defaultRegion: 'us-east-1' });
  return report.certificates[0]!.checks;
}

describe('doctor for dns-persist-01 certificates (issue 14)', () => {
  it('follows the _validation-persist CNAME into a managed zone', async () => {
    const found = await checks(
      'dns-persist-01',
      {},
      {
        '_validation-persist.example.com': 'example-com.validation.example.net',
      },
    );
    expect(
      found.filter((c) => c.check === 'delegation' && c.subject.startsWith('_validation-persist')),
    ).toEqual([
      expect.objectContaining({
        status: 'ok',
        subject: '_validation-persist.example.com',
        message: expect.stringContaining('validation.example.net (Z9)'),
      }),
    ]);
  });

  it('a _validation-persist CNAME out of the managed zones fails', async () => {
    const found = await checks(
      'dns-persist-01',
      {},
      { '_validation-persist.example.com': 'x.elsewhere.org' },
    );
    expect(found.find((c) => c.subject === '_validation-persist.example.com')?.status).toBe('fail');
  });

  it('a dns-01 certificate has no _validation-persist check', async () => {
    const found = await checks('dns-01', {});
    expect(found.some((c) => c.subject.startsWith('_validation-persist'))).toBe(false);
  });

  it.each([
    [
      'CAA validationmethods=dns-01 refuses dns-persist-01',
      'dns-persist-01',
      'validationmethods=dns-01',
      'fail',
    ],
    [
      'CAA validationmethods=dns-persist-01 allows it',
      'dns-persist-01',
      'validationmethods=dns-persist-01',
      'ok',
    ],
    ['and the other way round for dns-01', 'dns-01', 'validationmethods=dns-persist-01', 'fail'],
  ])('%s', async (_name, challenge, parameter, status) => {
    const value = `letsencrypt.org; ${parameter}`;
    const found = await checks(challenge, { 'example.com': [issue(value), issuewild(value)] });
    expect(found.filter((c) => c.check === 'caa').map((c) => c.status)).toEqual([status, status]);
  });
});
