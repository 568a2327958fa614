import { describe, expect, it } from 'vitest';
import { CA_PRESETS } from '../../functions/core/config/inventory';
import { iamRequestsFor, type RecordedCall } from '../support/iam/actions';
import { bind, evaluateRequest, REGION, synthesize } from '../support/iam/evaluate';
import type { FunctionRole } from '../support/iam/role';

// dns-persist-01 (issue 14): with every certificate on dns-persist-01 without dns-01 fallback, the renewer's role
// holds no Route 53 write at all; the persistent records are written by the first-import function, and only as
// UPSERT of TXT at exactly the inventory's _validation-persist names. Judged by iam-simulate on the synthesized
// construct, with calls that must go through so the table cannot pass by denying everything.
const SERVICE = 'acme-ari-persist';
const BUCKET = 'acme-state-persist';
const CAS = {
  le: {
    directoryUrl: CA_PRESETS.letsencrypt,
    challenge: 'dns-persist-01',
    dns01Fallback: false,
  },
};
const ALL_PERSIST = {
  cas: CAS,
  certificates: [
    { id: 'a', ca: 'le', domains: ['example.com', '*.example.com'], hostedZones: { 'example.com': 'Z1' } },
    { id: 'b', ca: 'le', domains: ['api.example.org'], hostedZones: { 'api.example.org': 'Z2' } },
  ],
};
const MIXED = {
  cas: CAS,
  certificates: [
    ...ALL_PERSIST.certificates,
    {
      id: 'c',
      ca: 'le',
      challenge: 'dns-01',
      domains: ['www.example.net'],
      hostedZones: { 'www.example.net': 'Z3' },
    },
  ],
};

/** One ChangeResourceRecordSets call as the function would send it. */
function change(role: FunctionRole, action: string, name: string, zone: string, type = 'TXT'): RecordedCall {
  return {
    role,
    service: 'route53',
    command: 'ChangeResourceRecordSetsCommand',
    region: REGION,
    input: {
      HostedZoneId: zone,
      ChangeBatch: {
        Changes: [
          {
            Action: action,
            ResourceRecordSet: { Name: name, Type: type, TTL: 60, ResourceRecords: [{ Value: '"v"' }] },
          },
        ],
      },
    },
    outcome: { ok: true },
    context: { bucket: BUCKET, region: REGION, serviceName: SERVICE },
  };
}

/** iam-simulate's verdicts on every authorization the call needs. */
async function verdicts(inventory: typeof ALL_PERSIST | typeof MIXED, call: RecordedCall) {
  const stack = await synthesize({ inventory: inventory, serviceName: SERVICE });
  expect(stack.refused.problems).toEqual([]);
  const bound = bind(stack, { bucket: BUCKET });
  const requests = iamRequestsFor(call, bound.mappingEnv(call.role));
  return Promise.all(requests.map((r) => evaluateRequest(bound, { role: call.role }, r)));
}
const allowed = async (inventory: typeof ALL_PERSIST | typeof MIXED, call: RecordedCall) =>
  (await verdicts(inventory, call)).every((v) => v.result === 'Allowed');

describe('dns-persist-01 permissions (synthesized, judged by iam-simulate)', () => {
  it('every certificate on dns-persist-01: the renewer role holds no route53:ChangeResourceRecordSets at all', async () => {
    const stack = await synthesize({ inventory: ALL_PERSIST, serviceName: SERVICE });
    const bound = bind(stack, { bucket: BUCKET });
    const actions = JSON.stringify(bound.identityPolicies('renewer'));
    expect(actions).toContain('acm:ImportCertificate'); // the renewer's policies are there, …
    expect(actions).not.toContain('route53:'); // … without any Route 53 action
    expect(await allowed(ALL_PERSIST, change('renewer', 'UPSERT', '_acme-challenge.example.com', 'Z1'))).toBe(
      false,
    );
    expect(
      await allowed(ALL_PERSIST, change('renewer', 'UPSERT', '_validation-persist.example.com', 'Z1')),
    ).toBe(false);
  });

  it.each([
    [
      'UPSERT TXT _validation-persist.example.com in Z1',
      change('importer', 'UPSERT', '_validation-persist.example.com', 'Z1'),
      true,
    ],
    [
      'UPSERT TXT _validation-persist.api.example.org in Z2',
      change('importer', 'UPSERT', '_validation-persist.api.example.org', 'Z2'),
      true,
    ],
    [
      'DELETE TXT _validation-persist.example.com',
      change('importer', 'DELETE', '_validation-persist.example.com', 'Z1'),
      false,
    ],
    [
      'CREATE TXT _validation-persist.example.com',
      change('importer', 'CREATE', '_validation-persist.example.com', 'Z1'),
      false,
    ],
    [
      'UPSERT TXT _acme-challenge.example.com',
      change('importer', 'UPSERT', '_acme-challenge.example.com', 'Z1'),
      false,
    ],
    [
      'UPSERT TXT _validation-persist.other.example.com',
      change('importer', 'UPSERT', '_validation-persist.other.example.com', 'Z1'),
      false,
    ],
    [
      'UPSERT CNAME _validation-persist.example.com',
      change('importer', 'UPSERT', '_validation-persist.example.com', 'Z1', 'CNAME'),
      false,
    ],
    [
      'UPSERT TXT _validation-persist.example.com in Z9',
      change('importer', 'UPSERT', '_validation-persist.example.com', 'Z9'),
      false,
    ],
  ] as const)('first-import role: %s → allowed %s', async (_name, call, expected) => {
    expect(await allowed(ALL_PERSIST, call)).toBe(expected);
  });

  it('a dns-01 certificate next to them: the renewer may write its _acme-challenge name only', async () => {
    expect(await allowed(MIXED, change('renewer', 'UPSERT', '_acme-challenge.www.example.net', 'Z3'))).toBe(
      true,
    );
    expect(await allowed(MIXED, change('renewer', 'UPSERT', '_acme-challenge.example.com', 'Z1'))).toBe(
      false,
    );
    expect(
      await allowed(MIXED, change('renewer', 'UPSERT', '_validation-persist.www.example.net', 'Z3')),
    ).toBe(false);
    expect(
      await allowed(MIXED, change('importer', 'UPSERT', '_validation-persist.www.example.net', 'Z3')),
    ).toBe(false);
  });
});
