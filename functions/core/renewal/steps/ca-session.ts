import { type AcmeClient, type AcmeTransport, type Directory, ensureAccount } from '../../acme';
import type { CaConfig } from '../../config/inventory';
import type { RenewerDeps } from './context';

/** The CA as one attempt sees it: its transport, our account there, and its directory. */
export interface CaSession {
  readonly transport: AcmeTransport;
  readonly client: AcmeClient;
  readonly directory: Directory;
}

/** Opens the CA for one attempt: the ACME account (created once per CA, then reused) and the directory. */
export async function openCaSession(deps: RenewerDeps, ca: CaConfig): Promise<CaSession> {
  const transport = deps.transport(ca.directoryUrl);
  const client = await accountFor(deps, ca, transport);
  return { transport, client, directory: await transport.directory() };
}

/**
 * Starts reading our stored account at the CA while the lease and the state are read: the attempt's store keeps
 * it, so `openCaSession` finds it in hand. Nothing reaches the CA before the plan says to order; a failure here is
 * left for `openCaSession` to meet and report.
 */
export function warmCaSession(deps: RenewerDeps, ca: CaConfig): void {
  deps.store.getAccount(ca.directoryUrl).catch(() => {});
}

async function accountFor(deps: RenewerDeps, ca: CaConfig, transport: AcmeTransport): Promise<AcmeClient> {
  const stored = await deps.store.getAccount(ca.directoryUrl);
  const eab = ca.eab
    ? { keyId: ca.eab.keyId, hmacKey: await deps.secrets.getSecret(ca.eab.hmacSecretArn) }
    : undefined;
  const account = await ensureAccount(transport, {
    stored: stored ? { privateJwk: stored.privateJwk, accountUrl: stored.accountUrl } : undefined,
    contact: ca.contact,
    eab,
  });
  if (stored) return account.client;
  const winner = await deps.store.putAccount({
    directoryUrl: ca.directoryUrl,
    accountUrl: account.record.accountUrl,
    privateJwk: account.record.privateJwk,
    createdAt: deps.clock.now().toISOString(),
  });
  if (winner.accountUrl === account.record.accountUrl) return account.client;
  // Another renewer stored its account first: use that one, so every certificate shares one account per CA.
  return (
    await ensureAccount(transport, {
      stored: { privateJwk: winner.privateJwk, accountUrl: winner.accountUrl },
    })
  ).client;
}

/**
 * The profile to order with: the inventory's, when the CA advertises it; otherwise none, and a note saying so
 * (recorded in the state and the outcome, because the certificate's lifetime is then the CA's default).
 * A CA refuses an order naming a profile it does not offer, so ordering without it is the only way the renewal
 * can succeed; the note keeps the difference visible.
 * @see draft-ietf-acme-profiles (directory `meta.profiles`, order `profile`)
 */
export function profileFor(
  wanted: string | undefined,
  directory: Directory,
): { profile?: string; note?: string } {
  if (wanted === undefined) return {};
  const profiles = directory.meta?.profiles;
  if (profiles && Object.hasOwn(profiles, wanted)) return { profile: wanted };
  const offered = profiles ? Object.keys(profiles).join(', ') || 'none' : 'no profiles';
  return { note: `profile "${wanted}" is not advertised by the CA (${offered}); ordered without it` };
}
