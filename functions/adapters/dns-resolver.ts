import { Resolver } from 'node:dns/promises';
import type { CaaRecord } from '../core/doctor/caa';
import type { DoctorDns } from '../core/doctor/run-doctor';
import { AcmeAwsError } from '../core/errors';

/** How {@link NodeDnsLookup} resolves. */
export interface NodeDnsLookupOptions {
  /** `host` or `host:port` of the resolvers to ask; @default the system's resolvers */
  readonly servers?: readonly string[];
  /** Per-query timeout. @default 5_000 */
  readonly timeoutMs?: number;
  /** Attempts per server. @default 2 */
  readonly tries?: number;
}

/** Answers meaning "no such record" rather than "could not find out". */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN', 'ENONAME']);

/** The shape Node gives a CAA record: `critical` is the flags octet, the tag is the one other key. */
type NodeCaa = { critical: number } & Record<string, string | number>;

/**
 * DNS lookups for `acme-ari doctor` through Node's resolver (c-ares), asking the system's resolvers or the
 * given ones (the test bed's responder, or a public resolver to see what a CA sees).
 */
export class NodeDnsLookup implements DoctorDns {
  readonly #resolver: Resolver;

  constructor(options: NodeDnsLookupOptions = {}) {
    this.#resolver = new Resolver({ timeout: options.timeoutMs ?? 5_000, tries: options.tries ?? 2 });
    if (options.servers && options.servers.length > 0) this.#resolver.setServers([...options.servers]);
  }

  async caa(name: string): Promise<readonly CaaRecord[]> {
    const records = (await this.#ask('CAA', name, () => this.#resolver.resolveCaa(name))) as unknown as
      | NodeCaa[]
      | undefined;
    return (records ?? []).flatMap((record) =>
      Object.entries(record)
        .filter(([key]) => key !== 'critical')
        .map(([tag, value]) => ({ flags: Number(record.critical) || 0, tag, value: String(value) })),
    );
  }

  async cname(name: string): Promise<string | undefined> {
    const targets = await this.#ask('CNAME', name, () => this.#resolver.resolveCname(name));
    return targets?.[0];
  }

  async ns(name: string): Promise<readonly string[]> {
    return (await this.#ask('NS', name, () => this.#resolver.resolveNs(name))) ?? [];
  }

  async #ask<T>(type: string, name: string, query: () => Promise<T>): Promise<T | undefined> {
    try {
      return await query();
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (NO_RECORDS.has(code)) return undefined;
      throw new AcmeAwsError('dns-failed', `${type} lookup of ${name} failed (${code || String(error)})`, {
        cause: error,
      });
    }
  }
}
