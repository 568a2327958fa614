import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
  type Route53ClientConfig,
} from '@aws-sdk/client-route-53';
import type { STSClient, STSClientConfig } from '@aws-sdk/client-sts';
import { issuerOfValue } from '../core/acme/dns-persist';
import type { Random, Sleep } from '../core/clock';
import { AcmeAwsError } from '../core/errors';
import type {
  DnsChallengeProvider,
  DnsChangeHandle,
  DnsTxtRecord,
  PersistentTxtRecord,
  PersistentTxtWriter,
  ZoneHints,
} from '../core/renewal/ports';
import { awsErrorName, describeAwsError, type RetryOptions, realSleep, withRetry } from './aws-retry';

/** How {@link Route53DnsProvider} reaches Route 53 and how patient it is. */
export interface Route53DnsProviderOptions {
  /** Client for zones in this account. @default a client built from `clientConfig` */
  readonly client?: Route53Client;
  /** Endpoint, region and credentials for the clients this provider builds (assumed-role clients too). */
  readonly clientConfig?: Route53ClientConfig;
  /** STS client for `zoneRoleArns`. @default a client built from `stsConfig` */
  readonly sts?: STSClient;
  readonly stsConfig?: STSClientConfig;
  /** @default 'acme-ari-aws' */
  readonly roleSessionName?: string;
  /**
   * `sts:ExternalId` sent with every AssumeRole, so a zone role's trust policy can require it (the target role's
   * policies are in docs/security.md).
   */
  readonly externalId?: string;
  /** TTL of the TXT record sets we write; short, because validation servers must not see stale values. @default 60 */
  readonly ttl?: number;
  /** How long to wait for a change to reach `INSYNC` before giving up. @default 300_000 */
  readonly propagationTimeoutMs?: number;
  /** First GetChange poll interval; grows 1.5× per poll. @default 2_000 */
  readonly pollIntervalMs?: number;
  /** @default 15_000 */
  readonly maxPollIntervalMs?: number;
  /** Retries of throttled calls (`Throttling`, `PriorRequestNotComplete`, …). */
  readonly retry?: Omit<RetryOptions, 'sleep' | 'random'>;
  readonly sleep?: Sleep;
  readonly random?: Random;
  /** Clock for assumed-role credential expiry. */
  readonly now?: () => Date;
}

interface Zone {
  readonly id: string;
  /** Lower case, no trailing dot. */
  readonly name: string;
  readonly private: boolean;
}

interface Access {
  readonly roleArn?: string;
  readonly client: Route53Client;
}

interface Target {
  readonly access: Access;
  readonly zone: Zone;
  readonly name: string;
  /** The TXT set at `name` as the resolving listing saw it (`null`: none); absent when that listing did not tell. */
  readonly txt?: ResourceRecordSet | null;
}

/** What one listing at a name says: its CNAME, its TXT set, and whether it proves there is no TXT set. */
interface Probe {
  readonly cname?: ResourceRecordSet;
  readonly txt?: ResourceRecordSet;
  readonly txtKnown: boolean;
}

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** Record sets one probe lists: a name's CNAME, or its TXT set after the few other types it may carry. */
const PROBE_ITEMS = 8;

/** Names resolved ahead by `prepare` and not presented yet, at most. */
const MAX_PREPARED = 100;

/** One resolution per record name and the hints that apply to its identifier (apex and wildcard share it). */
function targetKey(record: Pick<DnsTxtRecord, 'identifier' | 'name'>, hints: ZoneHints | undefined): string {
  return [
    hintFor(hints?.zoneRoleArns, record.identifier) ?? '',
    hintFor(hints?.hostedZones, record.identifier) ?? '',
    normalizeDnsName(record.name),
  ].join(' ');
}

/** Key of a record set this provider wrote, in the memory cleanup deletes from without reading. */
function writtenKey(roleArn: string | undefined, zoneId: string, name: string): string {
  return `${roleArn ?? ''} ${zoneId} ${name}`;
}

/** CNAME chains longer than this are a misconfiguration (or a loop), not a delegation. */
const MAX_CNAME_HOPS = 5;
/** Assumed-role credentials are refreshed this long before they expire. */
const CREDENTIAL_MARGIN_MS = 5 * 60_000;

/** Lower-cases a Route 53 name, drops the trailing dot and decodes its `\ooo` octal escapes. */
export function normalizeDnsName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** Route 53 ids come as `/hostedzone/Z123`; hints and handles use the bare `Z123`. */
function bareZoneId(id: string): string {
  return id.replace(/^\/hostedzone\//, '');
}

/** TXT values are character-strings; Route 53 wants them in double quotes. */
function quoteTxt(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** The text of a Route 53 TXT value: its quoted character-strings, unescaped and joined. */
function unquoteTxt(value: string): string {
  const parts = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  return parts.length > 0 ? parts.join('') : value;
}

/** The hint for an identifier, looked up by its own form, its apex form, then its wildcard form. */
function hintFor(map: Readonly<Record<string, string>> | undefined, identifier: string): string | undefined {
  if (map === undefined) return undefined;
  const base = identifier.replace(/^\*\./, '');
  return map[identifier] ?? map[base] ?? map[`*.${base}`];
}

/**
 * Publishes dns-01 TXT records through Route 53: one change batch per hosted zone, waiting for `INSYNC`, and
 * removes exactly the values it added while leaving foreign values of the same record set in place.
 * @see RFC 8555 §8.4: "the client provisions a TXT record … under the "_acme-challenge" label"
 */
export class Route53DnsProvider implements DnsChallengeProvider, PersistentTxtWriter {
  readonly #options: Route53DnsProviderOptions;
  readonly #default: Access;
  readonly #roleAccess = new Map<string, Access>();
  readonly #zones = new Map<string, Promise<Zone[]>>();
  readonly #zonesById = new Map<string, Promise<Zone>>();
  /** The TXT sets this provider last wrote, by role, zone and name: cleanup deletes them without a read. */
  readonly #written = new Map<string, ResourceRecordSet>();
  /** Resolutions `prepare` started, taken (once) by the next `present` of the same name. */
  readonly #prepared = new Map<string, Promise<Target>>();
  readonly #sleep: Sleep;
  readonly #retry: RetryOptions;
  #sts?: STSClient;

  constructor(options: Route53DnsProviderOptions = {}) {
    this.#options = options;
    this.#default = { client: options.client ?? new Route53Client(options.clientConfig ?? {}) };
    this.#sleep = options.sleep ?? realSleep;
    this.#retry = { ...options.retry, sleep: this.#sleep, random: options.random ?? Math.random };
  }

  prepare(names: readonly Pick<DnsTxtRecord, 'identifier' | 'name'>[], hints?: ZoneHints): void {
    // Bounded: a prepared name that is never presented (its authorization was already valid) is dropped later.
    if (this.#prepared.size > MAX_PREPARED) this.#prepared.clear();
    for (const record of names) {
      const key = targetKey(record, hints);
      if (this.#prepared.has(key)) continue;
      const target = this.#resolve(record, hints);
      target.catch(() => this.#prepared.delete(key));
      this.#prepared.set(key, target);
    }
  }

  async present(records: readonly DnsTxtRecord[], hints?: ZoneHints): Promise<DnsChangeHandle> {
    const groups = new Map<
      string,
      {
        access: Access;
        zone: Zone;
        names: Map<string, Set<string>>;
        seen: Map<string, ResourceRecordSet | null>;
      }
    >();
    for (const { record, target } of await this.#targets(records, hints)) {
      const key = `${target.access.roleArn ?? ''} ${target.zone.id}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { access: target.access, zone: target.zone, names: new Map(), seen: new Map() };
        groups.set(key, group);
      }
      const values = group.names.get(target.name) ?? new Set<string>();
      values.add(record.value);
      group.names.set(target.name, values);
      if (target.txt !== undefined) group.seen.set(target.name, target.txt);
    }

    // Zones are independent: each gets its batch and its INSYNC wait at once. A zone's entries join the handle
    // only once its batch was accepted, so a failure removes exactly what was written.
    const submitted = [...groups.values()].map(() => [] as DnsChangeHandle['changes'][number][]);
    const outcomes = await Promise.allSettled(
      [...groups.values()].map(async ({ access, zone, names, seen }, i) => {
        const info = await this.#publishZone(access, zone, names, seen);
        for (const [name, values] of names) {
          const roleArn = access.roleArn === undefined ? {} : { roleArn: access.roleArn };
          submitted[i]!.push({ zoneId: zone.id, ...roleArn, name, values: [...values] });
        }
        if (info.status !== 'INSYNC') await this.#waitInSync(access, zone, info.id);
      }),
    );
    const changes = submitted.flat();
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      // Without a handle the caller cannot clean up, so what was already written is removed here.
      await this.cleanup({ changes }).catch(() => undefined);
      throw failed.reason;
    }
    return { changes };
  }

  /** Each record's target; records sharing a name (apex and wildcard) and hints are resolved once, all at once. */
  async #targets(records: readonly DnsTxtRecord[], hints: ZoneHints | undefined) {
    const resolving = new Map<string, Promise<Target>>();
    const keyed = records.map((record) => {
      const key = targetKey(record, hints);
      if (!resolving.has(key)) {
        // What `prepare` found moments ago is used once: the swap in #publishZone catches anything stale.
        const prepared = this.#prepared.get(key);
        this.#prepared.delete(key);
        resolving.set(
          key,
          prepared?.catch(() => this.#resolve(record, hints)) ?? this.#resolve(record, hints),
        );
      }
      return { record, key };
    });
    const settled = await Promise.allSettled(resolving.values());
    const failed = settled.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const targets = new Map(
      [...resolving.keys()].map((k, i) => [k, (settled[i] as PromiseFulfilledResult<Target>).value]),
    );
    return keyed.map(({ record, key }) => ({ record, target: targets.get(key)! }));
  }

  /**
   * Adds our values to each record set of one zone in one batch. Compare-and-swap: an existing set is replaced by
   * DELETE (which must match it exactly) plus CREATE of the union, and a missing one is CREATEd, so a concurrent
   * writer makes the batch fail with InvalidChangeBatch instead of losing its value; re-reading converges.
   */
  async #publishZone(
    access: Access,
    zone: Zone,
    names: Map<string, Set<string>>,
    seen: ReadonlyMap<string, ResourceRecordSet | null>,
  ) {
    for (let attempt = 1; ; attempt++) {
      const changes: Change[] = [];
      const writing = new Map<string, ResourceRecordSet>();
      for (const [name, values] of names) {
        // The first try trusts the listing that resolved the name a moment ago: the swap below fails if it is stale.
        const known = attempt === 1 ? seen.get(name) : undefined;
        const existing =
          known === undefined ? await this.#findRecordSet(access, zone, name, 'TXT') : (known ?? undefined);
        const current = (existing?.ResourceRecords ?? []).map((r) => r.Value ?? '');
        // The union: values other clients (or other certificates) published stay in place.
        const union = [...current, ...[...values].map(quoteTxt).filter((v) => !current.includes(v))];
        if (existing !== undefined && union.length === current.length) continue; // Ours are there already.
        if (existing !== undefined) changes.push({ Action: 'DELETE', ResourceRecordSet: existing });
        const created: ResourceRecordSet = {
          Name: name,
          Type: 'TXT',
          TTL: this.#options.ttl ?? 60,
          ResourceRecords: union.map((Value) => ({ Value })),
        };
        changes.push({ Action: 'CREATE', ResourceRecordSet: created });
        writing.set(name, created);
      }
      if (changes.length === 0) return { id: '', status: 'INSYNC' };
      try {
        const info = await this.#submit(access, zone, changes, 'acme-ari-aws: dns-01 challenge');
        for (const [name, set] of writing) this.#written.set(writtenKey(access.roleArn, zone.id, name), set);
        return info;
      } catch (error) {
        const conflict =
          error instanceof AcmeAwsError && awsErrorName(error.cause) === 'InvalidChangeBatch' && attempt < 3;
        if (!conflict) throw error;
      }
    }
  }

  async cleanup(handle: DnsChangeHandle): Promise<void> {
    const groups = new Map<string, { zoneId: string; roleArn?: string; names: Map<string, Set<string>> }>();
    // Entries are merged per zone and name first, so each zone gets one batch whatever the handle's shape.
    for (const change of handle.changes) {
      const key = `${change.roleArn ?? ''} ${change.zoneId}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { zoneId: change.zoneId, roleArn: change.roleArn, names: new Map() };
        groups.set(key, group);
      }
      const name = normalizeDnsName(change.name);
      const values = group.names.get(name) ?? new Set<string>();
      for (const value of change.values) values.add(quoteTxt(value));
      group.names.set(name, values);
    }
    const failures: string[] = [];
    let firstCause: unknown;
    const outcomes = await Promise.allSettled(
      [...groups.values()].map((group) => this.#cleanupZone(group.zoneId, group.roleArn, group.names)),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      const error: unknown = outcome.reason;
      failures.push(error instanceof Error ? error.message : String(error));
      firstCause ??= error;
    }
    if (failures.length > 0) {
      throw new AcmeAwsError(
        'dns-failed',
        `Removing dns-01 TXT records failed; delete the listed _acme-challenge values by hand if they remain: ${failures.join('; ')}`,
        { cause: firstCause },
      );
    }
  }

  async #cleanupZone(zoneId: string, roleArn: string | undefined, names: Map<string, Set<string>>) {
    const access = this.#access(roleArn);
    const zone: Zone = { id: zoneId, name: '', private: false };
    if (await this.#deleteAsWritten(access, zone, names)) return;
    // Read-modify-write: a DELETE must match the record set exactly, so a concurrent change makes it fail with
    // InvalidChangeBatch. Re-reading and trying again converges.
    for (let attempt = 1; ; attempt++) {
      const changes: Change[] = [];
      for (const [name, ours] of names) {
        const existing = await this.#findRecordSet(access, zone, name, 'TXT');
        if (existing === undefined) continue; // Already gone: cleanup is idempotent.
        const current = (existing.ResourceRecords ?? []).map((r) => r.Value ?? '');
        const remainder = current.filter((v) => !ours.has(v));
        if (remainder.length === current.length) continue; // None of ours left.
        changes.push(
          remainder.length === 0
            ? { Action: 'DELETE', ResourceRecordSet: existing }
            : {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: name,
                  Type: 'TXT',
                  TTL: existing.TTL ?? this.#options.ttl ?? 60,
                  ResourceRecords: remainder.map((Value) => ({ Value })),
                },
              },
        );
      }
      if (changes.length === 0) return;
      try {
        await this.#submit(access, zone, changes, 'acme-ari-aws: dns-01 cleanup');
        return;
      } catch (error) {
        const conflict =
          error instanceof AcmeAwsError && awsErrorName(error.cause) === 'InvalidChangeBatch' && attempt < 3;
        if (!conflict) throw error;
      }
    }
  }

  /**
   * Deletes record sets this provider wrote that hold nothing but our values, as it wrote them, without reading
   * them first: Route 53 accepts a DELETE only when it matches the set exactly, so a set someone changed since
   * makes the batch fail and the caller falls back to reading. Returns false when that path does not apply.
   */
  async #deleteAsWritten(access: Access, zone: Zone, names: Map<string, Set<string>>): Promise<boolean> {
    const keys = [...names.keys()].map((name) => writtenKey(access.roleArn, zone.id, name));
    const sets = keys.map((key) => this.#written.get(key));
    for (const key of keys) this.#written.delete(key);
    const ours = [...names.values()];
    const onlyOurs = sets.every(
      (set, i) => set !== undefined && (set.ResourceRecords ?? []).every((r) => ours[i]!.has(r.Value ?? '')),
    );
    if (!onlyOurs) return false;
    const changes: Change[] = sets.map((set) => ({ Action: 'DELETE', ResourceRecordSet: set! }));
    return this.#submit(access, zone, changes, 'acme-ari-aws: dns-01 cleanup').then(
      () => true,
      () => false,
    );
  }

  /**
   * Puts persistent `_validation-persist` values in place with UPSERT only (the only action the persist-record
   * step's IAM statement allows): per record set, values of other issuers stay, ours replaces the old one of the same
   * issuer. One batch per zone, then INSYNC; a set that already holds exactly these values is not changed.
   * @see draft-ietf-acme-dns-persist §3.2 (several issuers may each keep a record at one name)
   */
  async upsertPersistent(records: readonly PersistentTxtRecord[], hints?: ZoneHints): Promise<void> {
    const groups = new Map<string, { access: Access; zone: Zone; changes: Change[] }>();
    for (const record of records) {
      const target = await this.#resolve(record, hints);
      const key = `${target.access.roleArn ?? ''} ${target.zone.id}`;
      const group = groups.get(key) ?? { access: target.access, zone: target.zone, changes: [] };
      groups.set(key, group);
      const existing = await this.#findRecordSet(target.access, target.zone, target.name, 'TXT');
      const current = (existing?.ResourceRecords ?? []).map((r) => r.Value ?? '');
      const others = current.filter((v) => issuerOfValue(unquoteTxt(v)) !== record.issuerDomainName);
      const values = [...others, quoteTxt(record.value)];
      if (values.length === current.length && values.every((v) => current.includes(v))) continue;
      group.changes.push({
        Action: 'UPSERT',
        ResourceRecordSet: {
          Name: target.name,
          Type: 'TXT',
          TTL: existing?.TTL ?? this.#options.ttl ?? 60,
          ResourceRecords: values.map((Value) => ({ Value })),
        },
      });
    }
    for (const { access, zone, changes } of groups.values()) {
      if (changes.length === 0) continue;
      const info = await this.#submit(access, zone, changes, 'acme-ari-aws: dns-persist-01 record');
      if (info.status !== 'INSYNC') await this.#waitInSync(access, zone, info.id);
    }
  }

  /** Finds the zone and final record name for one challenge, following `_acme-challenge` CNAME delegation. */
  async #resolve(
    record: Pick<DnsTxtRecord, 'identifier' | 'name'>,
    hints: ZoneHints | undefined,
  ): Promise<Target> {
    const roleArn = hintFor(hints?.zoneRoleArns, record.identifier);
    let access = this.#access(roleArn);
    let name = normalizeDnsName(record.name);
    const explicit = hintFor(hints?.hostedZones, record.identifier);
    let zone =
      explicit === undefined ? await this.#discover(access, name) : await this.#zoneById(access, explicit);
    if (!(name === zone.name || name.endsWith(`.${zone.name}`))) {
      throw new AcmeAwsError(
        'dns-failed',
        `Hosted zone ${zone.id} (${zone.name}) configured for ${record.identifier} does not contain ${name}; fix hostedZones in the inventory`,
      );
    }
    const seen = new Set([name]);
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const probe = await this.#probe(access, zone, name);
      const target = probe.cname?.ResourceRecords?.[0]?.Value;
      if (target === undefined)
        return { access, zone, name, ...(probe.txtKnown ? { txt: probe.txt ?? null } : {}) };
      const next = normalizeDnsName(target);
      if (seen.has(next)) {
        throw new AcmeAwsError('dns-failed', `CNAME loop at ${name} while delegating ${record.name}`);
      }
      seen.add(next);
      name = next;
      // A delegation target usually lives in this account's zones; the source zone's account is the fallback.
      let found = await this.#discover(this.#default, name, false);
      let foundAccess = this.#default;
      if (found === undefined && access !== this.#default) {
        found = await this.#discover(access, name, false);
        foundAccess = access;
      }
      if (found === undefined) {
        throw new AcmeAwsError(
          'dns-failed',
          `${record.name} is a CNAME to ${name}, but no visible Route 53 hosted zone contains ${name}; create that zone here or grant access to it`,
        );
      }
      access = foundAccess;
      zone = found;
    }
    throw new AcmeAwsError(
      'dns-failed',
      `More than ${MAX_CNAME_HOPS} CNAMEs while delegating ${record.name}`,
    );
  }

  /** Longest-suffix match over the account's zones; private zones only when nothing public matches. */
  async #discover(access: Access, name: string): Promise<Zone>;
  async #discover(access: Access, name: string, required: false): Promise<Zone | undefined>;
  async #discover(access: Access, name: string, required = true): Promise<Zone | undefined> {
    const zones = await this.#listZones(access);
    const matches = zones.filter((z) => name === z.name || name.endsWith(`.${z.name}`));
    const publicMatches = matches.filter((z) => !z.private);
    const candidates = publicMatches.length > 0 ? publicMatches : matches;
    const best = candidates.reduce<Zone | undefined>(
      (a, b) => (a === undefined || b.name.length > a.name.length ? b : a),
      undefined,
    );
    if (best === undefined && required) {
      const where = access.roleArn === undefined ? 'this account' : `the account of ${access.roleArn}`;
      throw new AcmeAwsError(
        'dns-failed',
        `No Route 53 hosted zone in ${where} contains ${name}; create one or set hostedZones for it in the inventory`,
      );
    }
    return best;
  }

  #listZones(access: Access): Promise<Zone[]> {
    const key = access.roleArn ?? '';
    let zones = this.#zones.get(key);
    if (zones === undefined) {
      zones = (async () => {
        const all: Zone[] = [];
        let marker: string | undefined;
        do {
          const page = await this.#call(`Listing hosted zones`, () =>
            access.client.send(new ListHostedZonesCommand({ Marker: marker })),
          );
          for (const z of page.HostedZones ?? []) {
            all.push({
              id: bareZoneId(z.Id ?? ''),
              name: normalizeDnsName(z.Name ?? ''),
              private: z.Config?.PrivateZone === true,
            });
          }
          marker = page.IsTruncated ? page.NextMarker : undefined;
        } while (marker !== undefined);
        return all;
      })();
      // A failed listing is not cached: the next renewal should try again.
      zones.catch(() => this.#zones.delete(key));
      this.#zones.set(key, zones);
    }
    return zones;
  }

  #zoneById(access: Access, id: string): Promise<Zone> {
    const bare = bareZoneId(id);
    const key = `${access.roleArn ?? ''} ${bare}`;
    let zone = this.#zonesById.get(key);
    if (zone === undefined) {
      zone = this.#call(`Reading hosted zone ${bare}`, () =>
        access.client.send(new GetHostedZoneCommand({ Id: bare })),
      ).then((out) => ({
        id: bare,
        name: normalizeDnsName(out.HostedZone?.Name ?? ''),
        private: out.HostedZone?.Config?.PrivateZone === true,
      }));
      zone.catch(() => this.#zonesById.delete(key));
      this.#zonesById.set(key, zone);
    }
    return zone;
  }

  async #findRecordSet(
    access: Access,
    zone: Zone,
    name: string,
    type: 'TXT' | 'CNAME',
  ): Promise<ResourceRecordSet | undefined> {
    // Record sets are listed in (reversed name, type) order, so starting at (name, type) finds it first.
    const out = await this.#call(`Reading ${type} ${name} in zone ${zone.id}`, () =>
      access.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          StartRecordName: name,
          StartRecordType: type,
          MaxItems: 1,
        }),
      ),
    );
    const first = out.ResourceRecordSets?.[0];
    if (first === undefined || first.Type !== type || normalizeDnsName(first.Name ?? '') !== name)
      return undefined;
    return first;
  }

  /**
   * One listing from (name, CNAME) on: a CNAME there is a delegation to follow, and since a TXT set sorts after it
   * the same page usually shows the TXT set too (or proves there is none, when it reaches another name).
   */
  async #probe(access: Access, zone: Zone, name: string): Promise<Probe> {
    const out = await this.#call(`Reading CNAME/TXT ${name} in zone ${zone.id}`, () =>
      access.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          StartRecordName: name,
          StartRecordType: 'CNAME',
          MaxItems: PROBE_ITEMS,
        }),
      ),
    );
    const sets = out.ResourceRecordSets ?? [];
    const here = sets.filter((s) => normalizeDnsName(s.Name ?? '') === name);
    const cname = here.find((s) => s.Type === 'CNAME');
    const txt = here.find((s) => s.Type === 'TXT');
    // Absence is proven only when the page went past this name (or ended): a full page of this name's other types
    // says nothing about a TXT set further on.
    const passed = here.length < sets.length || out.IsTruncated !== true;
    return { ...(cname ? { cname } : {}), ...(txt ? { txt } : {}), txtKnown: txt !== undefined || passed };
  }

  async #submit(access: Access, zone: Zone, changes: Change[], comment: string) {
    const out = await this.#call(`Changing record sets in zone ${zone.id}`, () =>
      access.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          ChangeBatch: { Comment: comment, Changes: changes },
        }),
      ),
    );
    return { id: out.ChangeInfo?.Id ?? '', status: out.ChangeInfo?.Status };
  }

  /** Polls GetChange with growing intervals; time is counted in slept milliseconds so tests need no clock. */
  async #waitInSync(access: Access, zone: Zone, changeId: string): Promise<void> {
    const budget = this.#options.propagationTimeoutMs ?? 300_000;
    const maxInterval = this.#options.maxPollIntervalMs ?? 15_000;
    let interval = this.#options.pollIntervalMs ?? 2_000;
    let waited = 0;
    for (;;) {
      if (waited >= budget) {
        throw new AcmeAwsError(
          'dns-failed',
          `Route 53 change ${changeId} in zone ${zone.id} was not INSYNC after ${Math.round(waited / 1000)} s; check the Route 53 service health and retry`,
        );
      }
      const delay = Math.min(interval, budget - waited);
      await this.#sleep(delay);
      waited += delay;
      interval = Math.min(interval * 1.5, maxInterval);
      const out = await this.#call(`Reading Route 53 change ${changeId}`, () =>
        access.client.send(new GetChangeCommand({ Id: changeId })),
      );
      if (out.ChangeInfo?.Status === 'INSYNC') return;
    }
  }

  async #call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(operation, this.#retry);
    } catch (error) {
      if (error instanceof AcmeAwsError) throw error;
      throw new AcmeAwsError('dns-failed', `${what} failed: ${describeAwsError(error)}`, { cause: error });
    }
  }

  #access(roleArn: string | undefined): Access {
    if (roleArn === undefined) return this.#default;
    let access = this.#roleAccess.get(roleArn);
    if (access === undefined) {
      access = {
        roleArn,
        client: new Route53Client({
          ...this.#options.clientConfig,
          credentials: this.#assumedCredentials(roleArn),
        }),
      };
      this.#roleAccess.set(roleArn, access);
    }
    return access;
  }

  /** A credential provider for `roleArn` that calls STS only when the cached credentials are near expiry. */
  #assumedCredentials(roleArn: string): () => Promise<Credentials> {
    let cached: Credentials | undefined;
    let inflight: Promise<Credentials> | undefined;
    const now = this.#options.now ?? (() => new Date());
    return async () => {
      if (cached !== undefined && cached.expiration.getTime() - now().getTime() > CREDENTIAL_MARGIN_MS)
        return cached;
      inflight ??= (async () => {
        try {
          // Loaded on first use: only zones in other accounts need STS, so most renewers never load the client.
          const { assumeRole } = await import('./sts-assume-role');
          const out = await this.#call(`Assuming role ${roleArn}`, () => {
            const call = assumeRole(this.#sts ?? this.#options.sts, this.#options.stsConfig ?? {}, {
              roleArn,
              sessionName: this.#options.roleSessionName ?? 'acme-ari-aws',
              ...(this.#options.externalId === undefined ? {} : { externalId: this.#options.externalId }),
            });
            this.#sts = call.client;
            return call.output;
          });
          const c = out.Credentials;
          if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
            throw new AcmeAwsError('dns-failed', `STS returned no credentials for ${roleArn}`);
          }
          cached = {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            sessionToken: c.SessionToken,
            expiration: c.Expiration ?? new Date(now().getTime() + 15 * 60_000),
          };
          return cached;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    };
  }
}
