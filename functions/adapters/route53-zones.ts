import {
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  Route53Client,
  type Route53ClientConfig,
} from '@aws-sdk/client-route-53';
import type { ManagedZone } from '../core/doctor/delegation';
import type { ZoneDirectory } from '../core/doctor/run-doctor';
import { AcmeAwsError } from '../core/errors';
import { normalizeDnsName } from './route53-dns';

/** The hosted zones the caller's credentials see and their delegation sets, read once per run. */
export class Route53ZoneDirectory implements ZoneDirectory {
  readonly #client: Route53Client;
  #zones?: Promise<ManagedZone[]>;

  constructor(options: { client?: Route53Client; clientConfig?: Route53ClientConfig } = {}) {
    this.#client = options.client ?? new Route53Client(options.clientConfig ?? {});
  }

  zones(): Promise<readonly ManagedZone[]> {
    this.#zones ??= (async () => {
      const all: ManagedZone[] = [];
      let marker: string | undefined;
      do {
        const page = await this.#call('listing hosted zones', () =>
          this.#client.send(new ListHostedZonesCommand({ Marker: marker })),
        );
        for (const z of page.HostedZones ?? []) {
          all.push({
            id: (z.Id ?? '').replace(/^\/hostedzone\//, ''),
            name: normalizeDnsName(z.Name ?? ''),
            private: z.Config?.PrivateZone === true,
          });
        }
        marker = page.IsTruncated ? page.NextMarker : undefined;
      } while (marker !== undefined);
      return all;
    })();
    return this.#zones;
  }

  async nameServers(zoneId: string): Promise<readonly string[]> {
    const out = await this.#call(`reading hosted zone ${zoneId}`, () =>
      this.#client.send(new GetHostedZoneCommand({ Id: zoneId })),
    );
    return (out.DelegationSet?.NameServers ?? []).map(normalizeDnsName);
  }

  destroy(): void {
    this.#client.destroy();
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new AcmeAwsError(
        'dns-failed',
        `Route 53 failed ${what}: ${error instanceof Error ? error.message : String(error)}; doctor needs route53:ListHostedZones and route53:GetHostedZone`,
        { cause: error },
      );
    }
  }
}
