import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsTestConfig, type MotoServer, startMoto } from '../../../testbed/moto';
import {
  DnsRcode,
  DnsType,
  decodeDnsMessage,
  encodeDnsMessage,
  type Route53DnsResponder,
  startRoute53DnsResponder,
} from '../../../testbed/route53-dns-responder';

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

let zoneId: string;
beforeEach(async () => {
  await moto.reset();
  const zone = await route53.send(
    new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'ref' }),
  );
  zoneId = zone.HostedZone?.Id ?? '';
});

async function upsert(name: string, type: 'TXT' | 'CNAME', values: string[]) {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: name,
              Type: type,
              TTL: 60,
              ResourceRecords: values.map((Value) => ({ Value })),
            },
          },
        ],
      },
    }),
  );
}

/** Sends one query over TCP (two-octet length prefix) and decodes the answer. */
function queryTcp(name: string, type: number) {
  const [host, port] = dns.address.split(':') as [string, string];
  const query = encodeDnsMessage({
    id: 4242,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: true,
    recursionAvailable: false,
    rcode: 0,
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  });
  return new Promise<ReturnType<typeof decodeDnsMessage>>((resolve, reject) => {
    const socket = connect(Number(port), host);
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(decodeDnsMessage(received.subarray(2, 2 + received.readUInt16BE(0))));
      }
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length, 0);
    socket.write(Buffer.concat([length, query]));
  });
}

describe('Route 53 DNS responder', () => {
  it('answers TXT from the current record sets, including multi-string and escaped values', async () => {
    await upsert('_acme-challenge.example.com', 'TXT', ['"one"', '"two" "parts"', '"say \\"hi\\""']);
    const answers = await resolver.resolveTxt('_acme-challenge.example.com');
    expect(answers.sort()).toEqual([['one'], ['say "hi"'], ['two', 'parts']]);

    // Answers follow the API immediately: no caching between the write and the query.
    await upsert('_acme-challenge.example.com', 'TXT', ['"three"']);
    expect(await resolver.resolveTxt('_acme-challenge.example.com')).toEqual([['three']]);
  });

  it('answers a CNAME at the name with the CNAME and the target’s TXT', async () => {
    await upsert('_acme-challenge.www.example.com', 'CNAME', ['delegated.example.com']);
    await upsert('delegated.example.com', 'TXT', ['"value"']);

    const reply = await queryTcp('_acme-challenge.www.example.com', DnsType.TXT);

    expect(reply.id).toBe(4242);
    expect(reply.rcode).toBe(DnsRcode.NOERROR);
    expect(reply.authoritative).toBe(true);
    expect(reply.answers).toEqual([
      {
        name: '_acme-challenge.www.example.com',
        type: DnsType.CNAME,
        class: 1,
        ttl: 60,
        data: 'delegated.example.com',
      },
      { name: 'delegated.example.com', type: DnsType.TXT, class: 1, ttl: 60, data: ['value'] },
    ]);
    expect(await resolver.resolveTxt('_acme-challenge.www.example.com')).toEqual([['value']]);
    expect(await resolver.resolveCname('_acme-challenge.www.example.com')).toEqual(['delegated.example.com']);
  });

  it('answers NXDOMAIN for a missing name and for names outside every zone, and records each query', async () => {
    await expect(resolver.resolveTxt('_acme-challenge.nothing.example.com')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    const outside = await queryTcp('_acme-challenge.example.org', DnsType.TXT);
    expect(outside.rcode).toBe(DnsRcode.NXDOMAIN);
    expect(dns.queries).toEqual(
      expect.arrayContaining(['TXT _acme-challenge.nothing.example.com', 'TXT _acme-challenge.example.org']),
    );
  });

  it('answers an existing name with no record of the asked type with an empty NOERROR', async () => {
    await upsert('_acme-challenge.example.com', 'TXT', ['"v"']);
    const reply = await queryTcp('_acme-challenge.example.com', DnsType.A);
    expect(reply.rcode).toBe(DnsRcode.NOERROR);
    expect(reply.answers).toEqual([]);
  });
});
