import { Resolver } from 'node:dns/promises';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Route53DnsProvider } from '../../../functions/adapters/route53-dns';
import { hasCode } from '../../../functions/core/errors';
import type { DnsTxtRecord } from '../../../functions/core/renewal/ports';
import { awsTestConfig, type MotoServer, startMoto } from '../../../testbed/moto';
import { type Route53DnsResponder, startRoute53DnsResponder } from '../../../testbed/route53-dns-responder';

let moto: MotoServer;
let dns: Route53DnsResponder;
let route53: Route53Client;
let resolver: Resolver;

beforeAll(async () => {
  moto = await startMoto();
  dns = await startRoute53DnsResponder({ endpoint: moto.endpoint });
  route53 = new Route53Client(awsTestConfig(moto.endpoint));
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([dns.address]);
});

afterAll(async () => {
  await dns?.stop();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
});

async function createZone(name: string, privateZone = false): Promise<string> {
  const out = await route53.send(
    new CreateHostedZoneCommand({
      Name: name,
      CallerReference: `${name}-${Math.random()}`,
      ...(privateZone ? { HostedZoneConfig: { Comment: 'private', PrivateZone: true } } : {}),
    }),
  );
  return (out.HostedZone?.Id ?? '').replace('/hostedzone/', '');
}

/** Every record set of `type` in a zone, as `name -> values`. */
async function recordSets(zoneId: string, type = 'TXT'): Promise<Record<string, string[]>> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const result: Record<string, string[]> = {};
  for (const set of out.ResourceRecordSets ?? []) {
    if (set.Type !== type) continue;
    result[(set.Name ?? '').replace(/\.$/, '')] = (set.ResourceRecords ?? [])
      .map((r) => r.Value ?? '')
      .sort();
  }
  return result;
}

async function putTxt(zoneId: string, name: string, values: string[]): Promise<void> {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: name,
              Type: 'TXT',
              TTL: 300,
              ResourceRecords: values.map((Value) => ({ Value })),
            },
          },
        ],
      },
    }),
  );
}

/** A provider whose Route 53 calls are counted by command name, with sleeps that return at once. */
function provider() {
  const client = new Route53Client(awsTestConfig(moto.endpoint));
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
  const slept: number[] = [];
  const dnsProvider = new Route53DnsProvider({
    client,
    clientConfig: awsTestConfig(moto.endpoint),
    stsConfig: awsTestConfig(moto.endpoint),
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return { dnsProvider, calls, slept };
}

const txt = (identifier: string, value: string): DnsTxtRecord => ({
  identifier,
  name: `_acme-challenge.${identifier.replace(/^\*\./, '')}`,
  value,
});

describe('Route53DnsProvider against moto', () => {
  it('finds each name’s zone by longest suffix and writes one batch per zone, apex and wildcard in one set', async () => {
    const exampleCom = await createZone('example.com');
    const devExampleCom = await createZone('dev.example.com');
    const exampleNet = await createZone('example.net');
    const { dnsProvider, calls } = provider();

    const handle = await dnsProvider.present([
      txt('example.com', 'apex-value'),
      txt('*.example.com', 'wildcard-value'),
      txt('api.dev.example.com', 'dev-value'),
      txt('example.net', 'net-value'),
    ]);

    expect(calls.filter((c) => c === 'ChangeResourceRecordSetsCommand')).toHaveLength(3);
    expect(await recordSets(exampleCom)).toEqual({
      '_acme-challenge.example.com': ['"apex-value"', '"wildcard-value"'],
    });
    expect(await recordSets(devExampleCom)).toEqual({
      '_acme-challenge.api.dev.example.com': ['"dev-value"'],
    });
    expect(await recordSets(exampleNet)).toEqual({ '_acme-challenge.example.net': ['"net-value"'] });
    expect(handle.changes.map((c) => [c.zoneId, c.name, [...c.values].sort()])).toEqual([
      [exampleCom, '_acme-challenge.example.com', ['apex-value', 'wildcard-value']],
      [devExampleCom, '_acme-challenge.api.dev.example.com', ['dev-value']],
      [exampleNet, '_acme-challenge.example.net', ['net-value']],
    ]);
    // The handle is persisted in the state document mid-order, so it must survive JSON.
    expect(JSON.parse(JSON.stringify(handle))).toEqual(handle);
  });

  it('serves what it wrote over DNS through the Route 53 responder', async () => {
    await createZone('example.com');
    const { dnsProvider } = provider();
    await dnsProvider.present([txt('example.com', 'apex-value'), txt('*.example.com', 'wildcard-value')]);

    const answers = await resolver.resolveTxt('_acme-challenge.example.com');
    expect(answers.map((strings) => strings.join('')).sort()).toEqual(['apex-value', 'wildcard-value']);
    expect(dns.queries).toContain('TXT _acme-challenge.example.com');
    await expect(resolver.resolveTxt('_acme-challenge.missing.example.com')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  it('uses the hinted zone id even when another zone of the same name exists', async () => {
    const first = await createZone('example.com');
    const second = await createZone('example.com');
    const { dnsProvider } = provider();

    const handle = await dnsProvider.present([txt('*.example.com', 'hinted')], {
      hostedZones: { 'example.com': second },
    });

    expect(handle.changes.map((c) => c.zoneId)).toEqual([second]);
    expect(await recordSets(second)).toEqual({ '_acme-challenge.example.com': ['"hinted"'] });
    expect(await recordSets(first)).toEqual({});
  });

  it('refuses a hinted zone that does not contain the name', async () => {
    const other = await createZone('example.org');
    const { dnsProvider } = provider();
    const attempt = dnsProvider.present([txt('example.com', 'v')], { hostedZones: { 'example.com': other } });
    await expect(attempt).rejects.toSatisfy(
      (e) => hasCode(e, 'dns-failed') && /does not contain/.test(e.message),
    );
  });

  it('prefers a public zone over a private one of the same name, and uses a private zone when it is the only one', async () => {
    const privateZone = await createZone('example.com', true);
    const publicZone = await createZone('example.com');
    const privateOnly = await createZone('internal.test', true);
    const { dnsProvider } = provider();

    await dnsProvider.present([txt('example.com', 'public'), txt('host.internal.test', 'private')]);

    expect(await recordSets(publicZone)).toEqual({ '_acme-challenge.example.com': ['"public"'] });
    expect(await recordSets(privateZone)).toEqual({});
    expect(await recordSets(privateOnly)).toEqual({ '_acme-challenge.host.internal.test': ['"private"'] });
  });

  it('fails with dns-failed naming the name when no zone matches', async () => {
    await createZone('example.com');
    const { dnsProvider } = provider();
    await expect(dnsProvider.present([txt('example.org', 'v')])).rejects.toSatisfy(
      (e) => hasCode(e, 'dns-failed') && e.message.includes('_acme-challenge.example.org'),
    );
  });

  it('keeps a foreign value through present and cleanup, and leaves no record of ours behind', async () => {
    const zone = await createZone('example.com');
    await putTxt(zone, '_acme-challenge.shared.example.com', ['"foreign"']);
    const { dnsProvider } = provider();

    const handle = await dnsProvider.present([
      txt('example.com', 'apex-value'),
      txt('*.example.com', 'wildcard-value'),
      txt('shared.example.com', 'ours'),
    ]);
    expect(await recordSets(zone)).toEqual({
      '_acme-challenge.example.com': ['"apex-value"', '"wildcard-value"'],
      '_acme-challenge.shared.example.com': ['"foreign"', '"ours"'],
    });

    await dnsProvider.cleanup(handle);
    expect(await recordSets(zone)).toEqual({ '_acme-challenge.shared.example.com': ['"foreign"'] });
    const served = await resolver.resolveTxt('_acme-challenge.shared.example.com');
    expect(served).toEqual([['foreign']]);

    // A second cleanup (a retried Lambda) finds nothing of ours and changes nothing.
    await dnsProvider.cleanup(handle);
    expect(await recordSets(zone)).toEqual({ '_acme-challenge.shared.example.com': ['"foreign"'] });
  });

  it('publishes the same value again after cleanup (a resumed order), and a CREATE over a live set is refused', async () => {
    const zone = await createZone('example.com');
    const { dnsProvider } = provider();
    const records = [txt('example.com', 'resumed-value')];

    await dnsProvider.cleanup(await dnsProvider.present(records));
    const again = await dnsProvider.present(records);
    expect(await recordSets(zone)).toEqual({ '_acme-challenge.example.com': ['"resumed-value"'] });
    await dnsProvider.cleanup(again);
    expect(await recordSets(zone)).toEqual({});

    // The compare-and-swap relies on Route 53 refusing a CREATE over a set that exists now.
    await putTxt(zone, '_acme-challenge.taken.example.com', ['"foreign"']);
    await expect(
      route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone,
          ChangeBatch: {
            Changes: [
              {
                Action: 'CREATE',
                ResourceRecordSet: {
                  Name: '_acme-challenge.taken.example.com',
                  Type: 'TXT',
                  TTL: 60,
                  ResourceRecords: [{ Value: '"ours"' }],
                },
              },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidChangeBatch' });
  });

  it('follows a CNAME at _acme-challenge to the delegated zone', async () => {
    const customer = await createZone('customer.com');
    const delegate = await createZone('acme-delegate.net');
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: customer,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: '_acme-challenge.customer.com',
                Type: 'CNAME',
                TTL: 300,
                ResourceRecords: [{ Value: 'customer-com.acme-delegate.net.' }],
              },
            },
          ],
        },
      }),
    );
    const { dnsProvider } = provider();

    const handle = await dnsProvider.present([
      txt('customer.com', 'delegated'),
      txt('*.customer.com', 'wild'),
    ]);

    expect(handle.changes).toEqual([
      { zoneId: delegate, name: 'customer-com.acme-delegate.net', values: ['delegated', 'wild'] },
    ]);
    expect(await recordSets(delegate)).toEqual({
      'customer-com.acme-delegate.net': ['"delegated"', '"wild"'],
    });
    expect(await recordSets(customer, 'CNAME')).toEqual({
      '_acme-challenge.customer.com': ['customer-com.acme-delegate.net.'],
    });
    // A validator asking for the original name follows the CNAME to our values.
    const served = await resolver.resolveTxt('_acme-challenge.customer.com');
    expect(served.map((s) => s.join('')).sort()).toEqual(['delegated', 'wild']);

    await dnsProvider.cleanup(handle);
    expect(await recordSets(delegate)).toEqual({});
  });

  it('reaches a zone through an assumed role from zoneRoleArns and records the role in the handle', async () => {
    const zone = await createZone('example.com');
    const { dnsProvider } = provider();
    const roleArn = 'arn:aws:iam::123456789012:role/dns-challenge';

    const handle = await dnsProvider.present([txt('example.com', 'cross-account')], {
      zoneRoleArns: { 'example.com': roleArn },
    });

    expect(handle.changes).toEqual([
      { zoneId: zone, roleArn, name: '_acme-challenge.example.com', values: ['cross-account'] },
    ]);
    await dnsProvider.cleanup(handle);
    expect(await recordSets(zone)).toEqual({});
  });
});
