import { Resolver } from 'node:dns/promises';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingProxy, startCountingProxy } from '../../../bench/lib/counting-proxy';
import { Route53DnsProvider } from '../../../functions/adapters/route53-dns';
import { awsTestConfig, type MotoServer, startMoto } from '../../../testbed/moto';
import { type Route53DnsResponder, startRoute53DnsResponder } from '../../../testbed/route53-dns-responder';

// Route53DnsProvider.upsertPersistent against moto, read back through the bed's DNS responder as a CA would.
let moto: MotoServer;
let dns: Route53DnsResponder;
let counting: CountingProxy;
let route53: Route53Client;
let provider: Route53DnsProvider;
let zoneId: string;
const NAME = '_validation-persist.persist.test';
const ours = (account: string) =>
  `ca.example; accounturi=https://ca.example/acct/${account}; persistUntil=4102444800`;
const theirs = 'other-ca.example; accounturi=https://other-ca.example/a/9';

beforeAll(async () => {
  moto = await startMoto();
  dns = await startRoute53DnsResponder({ endpoint: moto.endpoint });
  counting = await startCountingProxy(moto.endpoint);
  route53 = new Route53Client(awsTestConfig(moto.endpoint));
  provider = new Route53DnsProvider({ clientConfig: awsTestConfig(counting.endpoint), pollIntervalMs: 10 });
  const zone = await route53.send(
    new CreateHostedZoneCommand({ Name: 'persist.test', CallerReference: 'persist' }),
  );
  zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
});

afterAll(async () => {
  await Promise.allSettled([counting?.stop(), dns?.stop()]);
  await moto?.stop();
});

async function values(): Promise<string[]> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const set = out.ResourceRecordSets?.find((s) => s.Name === `${NAME}.` && s.Type === 'TXT');
  return (set?.ResourceRecords ?? []).map((r) => r.Value ?? '').sort();
}

const upsert = (value: string) =>
  provider.upsertPersistent([
    { identifier: 'persist.test', name: NAME, value, issuerDomainName: 'ca.example' },
  ]);
const changes = (since: number) =>
  counting.calls
    .slice(since)
    .filter((c) => c.action === 'ChangeResourceRecordSets')
    .map((c) => c.changeActions);

describe('Route53DnsProvider.upsertPersistent (dns-persist-01)', () => {
  it('writes the record with UPSERT, and a resolver sees it', async () => {
    const since = counting.calls.length;
    await upsert(ours('1'));
    expect(changes(since)).toEqual([['UPSERT']]);
    expect(await values()).toEqual([`"${ours('1')}"`]);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([dns.address]);
    expect((await resolver.resolveTxt(NAME)).map((parts) => parts.join(''))).toEqual([ours('1')]);
  });

  it('the same value again changes nothing', async () => {
    const since = counting.calls.length;
    await upsert(ours('1'));
    expect(changes(since)).toEqual([]);
  });

  it("replaces our issuer's value and keeps another issuer's", async () => {
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: NAME,
                Type: 'TXT',
                TTL: 60,
                ResourceRecords: [{ Value: `"${ours('1')}"` }, { Value: `"${theirs}"` }],
              },
            },
          ],
        },
      }),
    );
    const since = counting.calls.length;
    await upsert(ours('2'));
    expect(changes(since)).toEqual([['UPSERT']]);
    expect(await values()).toEqual([`"${ours('2')}"`, `"${theirs}"`].sort());
  });
});
