import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { loadPolicyEvaluator, RENEWER_NAMES } from '../../../functions/cli/doctor-permissions';
import type { ManagedZone } from '../../../functions/core/doctor/delegation';
import { type DoctorDeps, runDoctor } from '../../../functions/core/doctor/run-doctor';
import { type NamedPolicy, policyEvaluator } from '../../../functions/core/iam/evaluate-policies';

// runDoctor with in-memory DNS and Route 53 ports and the real evaluator: the challenge records judged are where the
// delegation check found them.

const ACCOUNT = '123456789012';
const ZONES: ManagedZone[] = [
  { id: 'Z1', name: 'example.com', private: false },
  { id: 'Z2', name: 'acme.example.net', private: false },
];
const CNAMES: Record<string, string> = { '_acme-challenge.d.example.com': 'd.acme.example.net' };
const NS = ['ns-1.awsdns.test'];

const inventory = {
  certificates: [
    { id: 'web', ca: 'letsencrypt', domains: ['www.example.com'] },
    { id: 'delegated', ca: 'letsencrypt', domains: ['d.example.com'] },
    {
      id: 'persist',
      ca: 'letsencrypt',
      domains: ['p.example.com'],
      challenge: 'dns-persist-01',
      dns01Fallback: false,
    },
  ],
};

/** Everything but challenge-record writes, and those only at the delegated name in Z2. */
const policy: NamedPolicy = {
  name: 'renewer/Policy',
  policy: {
    Statement: [
      { Effect: 'Allow', NotAction: 'route53:ChangeResourceRecordSets', Resource: '*' },
      {
        Sid: 'DelegatedOnly',
        Effect: 'Allow',
        Action: 'route53:ChangeResourceRecordSets',
        Resource: 'arn:aws:route53:::hostedzone/Z2',
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['d.acme.example.net'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
          },
        },
      },
    ],
  },
};

const deps: DoctorDeps = {
  dns: { caa: async () => [], cname: async (name) => CNAMES[name], ns: async () => NS },
  zones: { zones: async () => ZONES, nameServers: async () => NS },
  accountUrl: async () => undefined,
  issuedLifetimeDays: async () => undefined,
  permissions: {
    renewer: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/renewer`,
      deployment: {
        account: ACCOUNT,
        region: 'us-east-1',
        bucket: 'state',
        serviceName: 'acme-ari',
        stateKmsKeyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/state`,
      },
    },
    reader: { policies: async () => [policy] },
    evaluate: policyEvaluator(runSimulation),
    names: RENEWER_NAMES,
    acmArns: async () => ({}),
  },
};

describe('runDoctor: the permissions check per certificate', () => {
  it('judges the TXT record where the CNAME chain ends, and none for dns-persist-01 without the fallback', async () => {
    const report = await runDoctor(deps, inventory, { defaultRegion: 'us-east-1' });
    const permissions = (id: string) =>
      report.certificates.find((c) => c.id === id)!.checks.find((k) => k.check === 'permissions')!;
    expect(report.certificates.map((c) => [c.id, permissions(c.id).status])).toEqual([
      ['web', 'fail'],
      ['delegated', 'ok'],
      ['persist', 'ok'],
    ]);
    const authorizations = (id: string) =>
      Number(/allows every call a renewal makes \((\d+) authorizations\)/.exec(permissions(id).message)?.[1]);
    // The same renewal but for the zone lookup and record reads, the create and delete batches and the INSYNC wait.
    expect(authorizations('delegated') - authorizations('persist')).toBe(5);
    expect(report.certificates[0]!.checks.find((k) => k.check === 'permissions')!.message).toContain(
      'denied route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/Z1 (to write the challenge TXT at _acme-challenge.www.example.com)',
    );
    expect(report.status).toBe('fail');
  });

  it('runs without the evaluator package installed, and finds it in a checkout', async () => {
    const missing = Object.assign(new Error("Cannot find package '@cloud-copilot/iam-simulate'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(
      await loadPolicyEvaluator(async () => {
        throw missing;
      }),
    ).toBeUndefined();
    expect(await loadPolicyEvaluator()).toBeTypeOf('function');
  });
});
