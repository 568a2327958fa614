import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';

/** A local HTTP endpoint that peers' DNS hooks call to publish TXT values through moto's Route 53. */
export interface DnsHookServer {
  /** Path of the hook script: `hook present|cleanup [fqdn value]` (lego exec) or with CERTBOT_* variables. */
  readonly hookPath: string;
  /** Route 53 change requests made on behalf of the hooks. */
  readonly changes: number;
  stop(): Promise<void>;
}

/**
 * Starts the hook endpoint. The peers publish TXT records exactly as this project does (a Route 53 change batch
 * through the SDK, then GetChange until INSYNC), so all three tools are validated by Pebble through the same DNS
 * responder; only the process that makes the call differs. The hook itself is `curl`, the cheapest process a
 * shell hook can start, so the peers are not charged for a Node.js start per challenge.
 */
export async function startDnsHookServer(options: {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly scratchDir: string;
}): Promise<DnsHookServer> {
  const route53 = new Route53Client({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
  });
  let changes = 0;
  // lego presents every challenge of an order before validating; both values of apex + wildcard share one name,
  // so updates of one record set must not interleave.
  const queues = new Map<string, Promise<void>>();
  const serialized = (name: string, work: () => Promise<void>): Promise<void> => {
    const next = (queues.get(name) ?? Promise.resolve()).then(work, work);
    queues.set(
      name,
      next.catch(() => {}),
    );
    return next;
  };

  const zoneFor = async (fqdn: string): Promise<string> => {
    const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
    const name = fqdn.toLowerCase();
    const match = zones
      .filter((z) => name === z.Name!.toLowerCase() || name.endsWith(`.${z.Name!.toLowerCase()}`))
      .sort((a, b) => b.Name!.length - a.Name!.length)[0];
    if (!match) throw new Error(`no hosted zone for ${fqdn}`);
    return match.Id!.replace('/hostedzone/', '');
  };

  const current = async (zoneId: string, fqdn: string): Promise<ResourceRecordSet | undefined> => {
    const out = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: fqdn,
        StartRecordType: 'TXT',
        MaxItems: 1,
      }),
    );
    const set = out.ResourceRecordSets?.[0];
    return set && set.Type === 'TXT' && set.Name?.toLowerCase() === fqdn.toLowerCase() ? set : undefined;
  };

  const change = async (zoneId: string, action: 'UPSERT' | 'DELETE', set: ResourceRecordSet) => {
    changes++;
    const out = await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: action, ResourceRecordSet: set }] },
      }),
    );
    let status = out.ChangeInfo?.Status;
    while (status !== 'INSYNC') {
      await new Promise((r) => setTimeout(r, 50));
      status = (await route53.send(new GetChangeCommand({ Id: out.ChangeInfo!.Id! }))).ChangeInfo?.Status;
    }
  };

  const handle = async (action: string, fqdnIn: string, value: string): Promise<void> => {
    const fqdn = fqdnIn.endsWith('.') ? fqdnIn : `${fqdnIn}.`;
    const zoneId = await zoneFor(fqdn);
    await serialized(fqdn, async () => {
      const existing = await current(zoneId, fqdn);
      const values = new Set((existing?.ResourceRecords ?? []).map((r) => r.Value!));
      const quoted = `"${value}"`;
      if (action === 'present') {
        values.add(quoted);
        await change(zoneId, 'UPSERT', {
          Name: fqdn,
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [...values].map((Value) => ({ Value })),
        });
      } else if (existing) {
        values.delete(quoted);
        if (values.size === 0) await change(zoneId, 'DELETE', existing);
        else
          await change(zoneId, 'UPSERT', {
            ...existing,
            ResourceRecords: [...values].map((Value) => ({ Value })),
          });
      }
    });
  };

  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const action = (request.url ?? '').replace(/^\//, '');
      let parsed: { fqdn?: string; value?: string } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        // answered below as a bad request
      }
      if (!['present', 'cleanup'].includes(action) || !parsed.fqdn || !parsed.value) {
        response.writeHead(400).end('expected POST /present|/cleanup {"fqdn","value"}\n');
        return;
      }
      handle(action, parsed.fqdn, parsed.value).then(
        () => response.writeHead(200).end('ok\n'),
        (error: unknown) => response.writeHead(500).end(`${String(error)}\n`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const hookPath = join(options.scratchDir, 'dns-hook.sh');
  writeFileSync(
    hookPath,
    [
      '#!/bin/sh',
      '# lego exec provider: $1 = present|cleanup, $2 = FQDN, $3 = value.',
      '# certbot --manual hooks: $1 = present|cleanup, CERTBOT_DOMAIN and CERTBOT_VALIDATION in the environment.',
      'set -e',
      'action="$1"',
      'if [ -n "$CERTBOT_DOMAIN" ]; then',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
      '  fqdn="_acme-challenge.${CERTBOT_DOMAIN#\\*.}."',
      '  value="$CERTBOT_VALIDATION"',
      'else',
      '  fqdn="$2"',
      '  value="$3"',
      'fi',
      `exec curl -fsS -o /dev/null -X POST "http://127.0.0.1:${port}/$action" -H 'content-type: application/json' --data "{\\"fqdn\\":\\"$fqdn\\",\\"value\\":\\"$value\\"}"`,
      '',
    ].join('\n'),
  );
  chmodSync(hookPath, 0o755);

  return {
    hookPath,
    get changes() {
      return changes;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
