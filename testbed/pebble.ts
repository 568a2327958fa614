import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';
import { type ManagedProcess, spawnManaged } from './processes';
import { provisionTestBed } from './provision';
import { testBedTls } from './tls';
import { trustingFetch, type WebFetch } from './trusting-fetch';

/** A certificate profile Pebble advertises in `meta.profiles` and issues with when an order names it. */
export interface PebbleProfile {
  /** Lifetime of certificates issued under this profile, in seconds. */
  readonly validitySeconds: number;
  /**
   * Human-readable description, shown in the directory's `meta.profiles`.
   * @default the profile's name
   */
  readonly description?: string;
}

/** How to start a Pebble (Let's Encrypt's test ACME CA, 2.10 with ARI and profiles). */
export interface PebbleOptions {
  /**
   * Lifetime in seconds of certificates issued under the `default` profile; short lifetimes make renewal
   * timing testable. Pebble 2.10 ignores its old `certificateValidityPeriod` setting, so this becomes
   * `profiles.default.validityPeriod`.
   * @default 157766400 (5 years: what Pebble 2.6 issued and the tests were written against; Pebble 2.10's own
   *   default is 90 days)
   */
  readonly validitySeconds?: number;
  /**
   * Profiles Pebble advertises besides `default` (draft-ietf-acme-profiles), e.g. `shortlived`, `tlsserver`.
   * Pebble 2.10 gives an order that names no profile one of ALL its profiles AT RANDOM (a profile named
   * `default` gets no preference), so with extra profiles only orders that name their profile have a
   * deterministic lifetime. Without them every order is issued under `default`.
   * @default none
   */
  readonly extraProfiles?: Readonly<Record<string, PebbleProfile>>;
  /**
   * Percentage of good nonces Pebble rejects with `badNonce` (`PEBBLE_WFE_NONCEREJECT`); Pebble's own default of
   * 5 is opt-in so ordinary tests are deterministic.
   * @default 0
   */
  readonly nonceRejectPercent?: number;
  /**
   * Percentage of authorizations Pebble reuses for a new order (`PEBBLE_AUTHZREUSE`, 0 to 100; 100 reuses every
   * valid one). Even 0 reuses about 1 in 100: Pebble 2.10 makes a new authorization only when
   * `rand.Intn(100) > percent`, and a reused one needs no challenge (no DNS change). A test that needs a fresh
   * challenge deactivates the account's valid authorizations first (test/support/authorizations.ts).
   * @default 0
   */
  readonly authzReusePercent?: number;
  /** External Account Binding keys (kid → base64url HMAC key); when set, Pebble requires EAB. */
  readonly eabKeys?: Readonly<Record<string, string>>;
  /** `127.0.0.1:PORT` of the DNS server where Pebble resolves `_acme-challenge` TXT records. */
  readonly dnsServer?: string;
  /**
   * Seconds Pebble puts in `Retry-After` while an authorization or order is processing.
   * @default { authz: 1, order: 1 }
   */
  readonly retryAfter?: { readonly authz: number; readonly order: number };
  /** Extra environment for Pebble (e.g. `PEBBLE_CHAIN_LENGTH`, `PEBBLE_ALTERNATE_ROOTS`); wins over the above. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The renewal information Pebble answers for one certificate from now on, set through its management API: a
 * window (past, far-future and inverted windows are all accepted), or a raw body served as it is (a malformed
 * answer).
 * @see RFC 9773 §4.2 (RenewalInfo objects)
 */
export type PebbleRenewalInfo =
  | {
      /** Start of the suggested window; a string is sent as written (e.g. a malformed timestamp). */
      readonly start: Date | string;
      /** End of the suggested window; a string is sent as written. */
      readonly end: Date | string;
      /** RFC 9773 §4.2 `explanationURL`, a page about why the window is what it is. */
      readonly explanationURL?: string;
    }
  | {
      /** The whole response body, served verbatim with `Content-Type: application/json`. */
      readonly raw: string;
    };

/** A running Pebble, owned by the test that started it. */
export interface PebbleInstance {
  /** The ACME directory URL, e.g. `https://127.0.0.1:41234/dir`. */
  readonly directoryUrl: string;
  /** Base URL of Pebble's management API (HTTPS, same certificate). */
  readonly managementUrl: string;
  /** CA certificate (PEM) to trust for Pebble's own TLS (not the CA that issues ACME certificates). */
  readonly caPem: string;
  /** A fetch that trusts {@link PebbleInstance.caPem}. */
  readonly fetch: WebFetch;
  /** Operating-system process id of Pebble. */
  readonly pid: number;
  /** Root certificate (PEM) of the issuing hierarchy; new on every start. `index` > 0 selects an alternate. */
  issuerRootsPem(index?: number): Promise<string>;
  /** Intermediate certificate (PEM) of the issuing hierarchy; `index` > 0 selects an alternate chain's. */
  issuerIntermediatesPem(index?: number): Promise<string>;
  /**
   * Makes Pebble answer `info` for this certificate's renewalInfo from now on (`POST /set-renewal-info/` on
   * the management port). `certificate` is the certificate's PEM (a chain's first block is the leaf) or its ARI
   * certID, whose serial is looked up in this Pebble run. Pebble 2.10.0 keeps answering `Retry-After: 21600`
   * (6 hours) whatever the window; its management API has no setting for it.
   * @see RFC 9773 §4.1 (certID), §4.2 (RenewalInfo objects)
   */
  setRenewalInfo(certificate: string, info: PebbleRenewalInfo): Promise<void>;
  /** The last part of Pebble's output. */
  logs(): string;
  /** Stops Pebble, waits until it has exited, and removes its temporary config. */
  stop(): Promise<void>;
}

const startTimeoutMs = 20_000;

/** Starts Pebble on free ports of 127.0.0.1 and resolves once its directory answers. */
export async function startPebble(options: PebbleOptions = {}): Promise<PebbleInstance> {
  const cacheDir = provisionTestBed();
  const tls = testBedTls(cacheDir);
  const fetch = trustingFetch(tls.caPem);
  let lastError: unknown;
  // A free port can be taken between probing and binding; a few attempts make that race harmless.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(cacheDir, tls, fetch, options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error && /address already in use/.test(error.message))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(
  cacheDir: string,
  tls: { caPem: string; certPath: string; keyPath: string },
  fetch: WebFetch,
  options: PebbleOptions,
): Promise<PebbleInstance> {
  const [wfePort, managementPort, httpPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const configDir = mkdtempSync(join(tmpdir(), 'pebble-'));
  const eab = options.eabKeys !== undefined;
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${wfePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: tls.certPath,
      privateKey: tls.keyPath,
      // Ports Pebble's VA would connect to for HTTP-01 / TLS-ALPN-01; free ones, so nothing answers by accident.
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: eab,
      ...(eab ? { externalAccountMACKeys: options.eabKeys } : {}),
      retryAfter: options.retryAfter ?? { authz: 1, order: 1 },
      profiles: pebbleProfiles(options),
    },
  };
  const configPath = join(configDir, 'pebble-config.json');
  // The config holds EAB keys: readable by this user only.
  writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });

  const args = ['-config', configPath];
  if (options.dnsServer !== undefined) args.push('-dnsserver', options.dnsServer);
  let child: ManagedProcess;
  try {
    child = spawnManaged('pebble', join(cacheDir, 'bin/pebble'), args, {
      cwd: configDir,
      env: {
        PATH: process.env.PATH,
        // Validations happen at once instead of after a random sleep of up to 15 s.
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
        PEBBLE_AUTHZREUSE: String(options.authzReusePercent ?? 0),
        ...options.env,
      },
    });
  } catch (error) {
    rmSync(configDir, { recursive: true, force: true });
    throw error;
  }

  const directoryUrl = `https://127.0.0.1:${wfePort}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const stop = async (): Promise<void> => {
    await child.stop();
    rmSync(configDir, { recursive: true, force: true });
  };
  const answers = async (url: string): Promise<boolean> => {
    if (child.hasExited()) {
      throw new Error(
        `test bed: pebble exited during startup (${await child.exited}). Its output:\n${child.logs()}`,
      );
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  };
  try {
    await waitFor(() => answers(directoryUrl), `Pebble's directory at ${directoryUrl}`, startTimeoutMs);
    await waitFor(() => answers(`${managementUrl}/roots/0`), `Pebble's management API`, startTimeoutMs);
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      message.includes('Its output:')
        ? message
        : `${message}\nPebble's output:\n${child.logs().slice(-8000)}`,
      { cause: error },
    );
  }

  const managementPem = async (path: string): Promise<string> => {
    const response = await fetch(`${managementUrl}${path}`);
    const text = await response.text();
    if (!response.ok) throw new Error(`test bed: Pebble ${path} answered ${response.status}: ${text}`);
    return text;
  };
  return {
    directoryUrl,
    managementUrl,
    caPem: tls.caPem,
    fetch,
    pid: child.pid,
    issuerRootsPem: (index = 0) => managementPem(`/roots/${index}`),
    issuerIntermediatesPem: (index = 0) => managementPem(`/intermediates/${index}`),
    setRenewalInfo: (certificate, info) => setRenewalInfo(fetch, managementUrl, certificate, info),
    logs: () => child.logs(),
    stop,
  };
}

/** Pebble 2.6 issued 5-year certificates unless told otherwise; the bed keeps that lifetime for `default`. */
const defaultValiditySeconds = 157_766_400;

/** The `profiles` section of Pebble 2.10's config: `default` always, plus the extra profiles asked for. */
function pebbleProfiles(
  options: PebbleOptions,
): Record<string, { description: string; validityPeriod: number }> {
  const profiles: Record<string, { description: string; validityPeriod: number }> = {
    default: {
      description: 'The default profile',
      validityPeriod: options.validitySeconds ?? defaultValiditySeconds,
    },
  };
  for (const [name, profile] of Object.entries(options.extraProfiles ?? {})) {
    if (name === 'default') {
      throw new Error('test bed: extraProfiles must not redefine "default"; set validitySeconds instead');
    }
    profiles[name] = { description: profile.description ?? name, validityPeriod: profile.validitySeconds };
  }
  return profiles;
}

const certIdPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The certificate's PEM: as given, or looked up by the serial of an ARI certID (RFC 9773 §4.1). */
async function certificatePem(fetch: WebFetch, managementUrl: string, certificate: string): Promise<string> {
  if (certificate.includes('-----BEGIN CERTIFICATE-----')) return certificate;
  if (!certIdPattern.test(certificate)) {
    throw new Error(`test bed: "${certificate.slice(0, 80)}" is neither a certificate PEM nor an ARI certID`);
  }
  // certID = base64url(AKI keyIdentifier) "." base64url(DER serial, with any leading zero byte)
  const serialHex = BigInt(
    `0x${Buffer.from(certificate.split('.')[1]!, 'base64url').toString('hex') || '0'}`,
  ).toString(16);
  const response = await fetch(`${managementUrl}/cert-status-by-serial/${serialHex}`);
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `test bed: Pebble knows no certificate with serial ${serialHex} (HTTP ${response.status})`,
    );
  }
  const parsed = JSON.parse(text) as { Certificate?: unknown };
  if (typeof parsed.Certificate !== 'string') {
    throw new Error(`test bed: Pebble's cert-status-by-serial/${serialHex} carried no certificate`);
  }
  return parsed.Certificate;
}

/** `POST /set-renewal-info/`: Pebble 2.10 reads `{ Certificate: PEM, ARIResponse: string }`, serves the string. */
async function setRenewalInfo(
  fetch: WebFetch,
  managementUrl: string,
  certificate: string,
  info: PebbleRenewalInfo,
): Promise<void> {
  const time = (value: Date | string): string => (value instanceof Date ? value.toISOString() : value);
  const ariResponse =
    'raw' in info
      ? info.raw
      : JSON.stringify({
          suggestedWindow: { start: time(info.start), end: time(info.end) },
          ...(info.explanationURL !== undefined ? { explanationURL: info.explanationURL } : {}),
        });
  const response = await fetch(`${managementUrl}/set-renewal-info/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      Certificate: await certificatePem(fetch, managementUrl, certificate),
      ARIResponse: ariResponse,
    }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`test bed: Pebble /set-renewal-info/ answered ${response.status}: ${text.slice(0, 500)}`);
  }
}

/**
 * Every root of this Pebble's issuing hierarchies (`/roots/0`, then `/roots/1` … for the alternate chains of
 * `PEBBLE_ALTERNATE_ROOTS`), PEM, one per entry: the `trustAnchors` an inventory needs for this Pebble. They are
 * new on every start, so read them after starting and before renewing.
 */
export async function pebbleRootsPem(
  pebble: Pick<PebbleInstance, 'managementUrl' | 'fetch'>,
): Promise<string[]> {
  const roots: string[] = [];
  // Pebble answers 404 past its last root; the bound only stops a misbehaving one from looping forever.
  for (let index = 0; index < 16; index += 1) {
    const response = await pebble.fetch(`${pebble.managementUrl}/roots/${index}`);
    const text = await response.text();
    if (response.status === 404 && index > 0) return roots;
    if (!response.ok)
      throw new Error(`test bed: Pebble /roots/${index} answered ${response.status}: ${text}`);
    roots.push(text);
  }
  return roots;
}
