import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  PriorRequestNotComplete,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { normalizeDnsName, Route53DnsProvider } from '../../../functions/adapters/route53-dns';
import { hasCode } from '../../../functions/core/errors';

const client = new Route53Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const route53 = mockClient(client);
let slept: number[];

function provider(options: { propagationTimeoutMs?: number } = {}) {
  return new Route53DnsProvider({
    client,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
}

/** An SDK-shaped service error, as the XML protocol parser produces it. */
function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} from Route 53`), { name, $metadata: { httpStatusCode: status } });
}

const record = { identifier: 'example.com', name: '_acme-challenge.example.com', value: 'token' };

beforeEach(() => {
  slept = [];
  route53.reset();
  route53.on(ListHostedZonesCommand).resolves({
    HostedZones: [{ Id: '/hostedzone/ZEXAMPLE', Name: 'example.com.', CallerReference: 'r' }],
    IsTruncated: false,
    MaxItems: 100,
  });
  route53
    .on(ListResourceRecordSetsCommand)
    .resolves({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 1 });
  route53
    .on(GetChangeCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
});

describe('Route53DnsProvider faults', () => {
  it('never loses a value another writer published at the same moment: the swap fails and is redone', async () => {
    const foreign = {
      Name: '_acme-challenge.example.com.',
      Type: 'TXT' as const,
      TTL: 60,
      ResourceRecords: [{ Value: '"foreign"' }],
    };
    // Nothing is there when we read; another writer creates the set just before our batch lands, so our CREATE
    // is refused. The re-read sees its value and the retry swaps the set for the union.
    let sets: (typeof foreign)[] = [];
    route53
      .on(ListResourceRecordSetsCommand)
      .callsFake(async () => ({ ResourceRecordSets: sets, IsTruncated: false, MaxItems: 1 }));
    let calls = 0;
    route53.on(ChangeResourceRecordSetsCommand).callsFake(async () => {
      if (++calls === 1) {
        sets = [foreign];
        throw awsError('InvalidChangeBatch');
      }
      return { ChangeInfo: { Id: '/change/C2', Status: 'INSYNC', SubmittedAt: new Date() } };
    });

    await provider().present([record]);

    const batches = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch);
    expect(batches.map((b) => b?.Changes?.map((c) => c.Action))).toEqual([['CREATE'], ['DELETE', 'CREATE']]);
    expect(batches[1]?.Changes?.[0]?.ResourceRecordSet).toEqual(foreign);
    expect(batches[1]?.Changes?.[1]?.ResourceRecordSet?.ResourceRecords).toEqual([
      { Value: '"foreign"' },
      { Value: '"token"' },
    ]);
  });

  it.each([
    ['Throttling', awsError('Throttling')],
    ['ThrottlingException', awsError('ThrottlingException')],
    [
      'PriorRequestNotComplete',
      new PriorRequestNotComplete({ message: 'busy', $metadata: { httpStatusCode: 400 } }),
    ],
  ])('retries %s with backoff and then succeeds', async (_, fault) => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(fault)
      .rejectsOnce(fault)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });

    const handle = await provider().present([record]);

    expect(handle.changes).toEqual([
      { zoneId: 'ZEXAMPLE', name: '_acme-challenge.example.com', values: ['token'] },
    ]);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
    // Two jittered backoffs (random 0.5 of 200 ms and 400 ms), then one INSYNC poll.
    expect(slept).toEqual([100, 200, 2000]);
  });

  it('gives up on throttling after a bounded number of attempts with dns-failed', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(awsError('Throttling'));
    const error = await provider()
      .present([record])
      .catch((e: unknown) => e);
    expect(hasCode(error, 'dns-failed')).toBe(true);
    expect((error as Error).message).toMatch(/ZEXAMPLE.*Throttling/);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(6);
  });

  it('fails with dns-failed naming the change id when the change stays PENDING past its budget, and removes its record', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/CSTUCK', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/CSTUCK', Status: 'PENDING', SubmittedAt: new Date() } });
    // After the failed wait, cleanup reads the record set it wrote back.
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 1 })
      .resolvesOnce({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 1 })
      .resolves({
        ResourceRecordSets: [
          {
            Name: '_acme-challenge.example.com.',
            Type: 'TXT',
            TTL: 60,
            ResourceRecords: [{ Value: '"token"' }],
          },
        ],
        IsTruncated: false,
        MaxItems: 1,
      });

    const error = await provider({ propagationTimeoutMs: 30_000 })
      .present([record])
      .catch((e: unknown) => e);

    expect(hasCode(error, 'dns-failed')).toBe(true);
    expect((error as Error).message).toContain('/change/CSTUCK');
    expect(slept.reduce((a, b) => a + b, 0)).toBe(30_000);
    const batches = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch);
    expect(batches.map((b) => b?.Changes?.map((c) => c.Action))).toEqual([['CREATE'], ['DELETE']]);
  });

  it('polls with growing intervals until INSYNC', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolvesOnce({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'INSYNC', SubmittedAt: new Date() } });

    await provider().present([record]);

    expect(slept).toEqual([2000, 3000, 4500]);
  });

  it('does not retry an access failure and names the zone', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(awsError('AccessDenied', 403));
    await expect(provider().present([record])).rejects.toSatisfy(
      (e) => hasCode(e, 'dns-failed') && /ZEXAMPLE.*AccessDenied \(HTTP 403\)/.test(e.message),
    );
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
  });

  it('lists every page of hosted zones once per provider', async () => {
    route53
      .on(ListHostedZonesCommand)
      .resolvesOnce({
        HostedZones: [{ Id: '/hostedzone/ZOTHER', Name: 'other.test.', CallerReference: 'r' }],
        IsTruncated: true,
        NextMarker: 'page2',
        MaxItems: 1,
      })
      .resolves({
        HostedZones: [{ Id: '/hostedzone/ZPAGE2', Name: 'example.com.', CallerReference: 'r' }],
        IsTruncated: false,
        MaxItems: 1,
      });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C3', Status: 'INSYNC', SubmittedAt: new Date() } });
    const dns = provider();

    const first = await dns.present([record]);
    await dns.present([{ ...record, value: 'again' }]);

    expect(first.changes[0]?.zoneId).toBe('ZPAGE2');
    expect(route53.commandCalls(ListHostedZonesCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'page2',
    ]);
  });
});

describe('Route53DnsProvider round trips', () => {
  const wildcard = { ...record, identifier: '*.example.com', value: 'wild' };
  const ours = {
    Name: '_acme-challenge.example.com.',
    Type: 'TXT' as const,
    TTL: 60,
    ResourceRecords: [{ Value: '"token"' }, { Value: '"wild"' }],
  };

  it('reads each name once (apex and wildcard share it) and deletes what it wrote without reading again', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const dns = provider();

    await dns.cleanup(await dns.present([record, wildcard]));

    const lists = route53.commandCalls(ListResourceRecordSetsCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([expect.objectContaining({ StartRecordType: 'CNAME' })]);
    const batches = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch?.Changes);
    expect(batches).toEqual([
      [{ Action: 'CREATE', ResourceRecordSet: { ...ours, Name: '_acme-challenge.example.com' } }],
      [{ Action: 'DELETE', ResourceRecordSet: { ...ours, Name: '_acme-challenge.example.com' } }],
    ]);
  });

  it('finds the zone and reads the set while the order is placed, and does not read them again at present', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const dns = provider();

    dns.prepare([record, wildcard]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const readAhead = route53.commandCalls(ListResourceRecordSetsCommand).length;
    await dns.present([record, wildcard]);

    expect(readAhead).toBe(1);
    expect(route53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);
    expect(route53.commandCalls(ListHostedZonesCommand)).toHaveLength(1);
  });

  it('reads the set again when it changed since it was written, and leaves the other value in place', async () => {
    const foreign = { ...ours, ResourceRecords: [...ours.ResourceRecords, { Value: '"foreign"' }] };
    let writes = 0;
    route53.on(ChangeResourceRecordSetsCommand).callsFake(async (input) => {
      writes++;
      // Route 53 refuses a DELETE that does not match the set exactly: someone added a value meanwhile.
      if (input.ChangeBatch.Changes[0].Action === 'DELETE') throw awsError('InvalidChangeBatch');
      return { ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } };
    });
    const dns = provider();
    const handle = await dns.present([record, wildcard]);
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [foreign], IsTruncated: false, MaxItems: 1 });

    await dns.cleanup(handle);

    expect(writes).toBe(3);
    const last = route53.commandCalls(ChangeResourceRecordSetsCommand).at(-1)?.args[0].input.ChangeBatch;
    expect(last?.Changes).toEqual([
      {
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: '_acme-challenge.example.com',
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"foreign"' }],
        },
      },
    ]);
  });

  it('looks for the TXT set on its own when the first page holds only other types of the name', async () => {
    const other = (Type: 'DS' | 'MX') => ({ Name: '_acme-challenge.example.com.', Type, TTL: 60 });
    route53
      .on(ListResourceRecordSetsCommand, { StartRecordType: 'CNAME' })
      .resolves({ ResourceRecordSets: [other('DS'), other('MX')], IsTruncated: true, MaxItems: 2 })
      .on(ListResourceRecordSetsCommand, { StartRecordType: 'TXT' })
      .resolves({ ResourceRecordSets: [{ ...ours, ResourceRecords: [{ Value: '"foreign"' }] }] });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });

    await provider().present([record]);

    const batch = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch;
    expect(batch?.Changes?.map((c) => c.Action)).toEqual(['DELETE', 'CREATE']);
    expect(batch?.Changes?.[1]?.ResourceRecordSet?.ResourceRecords).toEqual([
      { Value: '"foreign"' },
      { Value: '"token"' },
    ]);
  });
});

describe('normalizeDnsName', () => {
  it.each([
    ['Example.COM.', 'example.com'],
    ['\\052.example.com.', '*.example.com'],
    ['_acme-challenge.example.com', '_acme-challenge.example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeDnsName(input)).toBe(expected);
  });
});
