import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fetch } from '../../functions/core/http';
import { freePort, waitFor } from './ports';
import { type ManagedProcess, spawnManaged } from './processes';
import { provisionTestBed } from './provision';
import { testBedTls } from './tls';
import { trustingFetch } from './trusting-fetch';

/** How to start a Pebble (Let's Encrypt's test ACME CA, 2.6 with ARI). */
export interface PebbleOptions {
  /**
   * Lifetime of issued certificates in seconds; short lifetimes make renewal timing testable.
   * @default Pebble's own (5 years)
   */
  readonly validitySeconds?: number;
  /**
   * Percentage of good nonces Pebble rejects with `badNonce` (`PEBBLE_WFE_NONCEREJECT`); Pebble's own default of
   * 5 is opt-in so ordinary tests are deterministic.
   * @default 0
   */
  readonly nonceRejectPercent?: number;
  /**
   * Percentage of authorizations Pebble reuses for a new order (`PEBBLE_AUTHZREUSE`).
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

/** A running Pebble, owned by the test that started it. */
export interface PebbleInstance {
  /** The ACME directory URL, e.g. `https://127.0.0.1:41234/dir`. */
  readonly directoryUrl: string;
  /** Base URL of Pebble's management API (HTTPS, same certificate). */
  readonly managementUrl: string;
  /** CA certificate (PEM) to trust for Pebble's own TLS (not the CA that issues ACME certificates). */
  readonly caPem: string;
  /** A fetch that trusts {@link PebbleInstance.caPem}. */
  readonly fetch: Fetch;
  /** Operating-system process id of Pebble. */
  readonly pid: number;
  /** Root certificate (PEM) of the issuing hierarchy; new on every start. `index` > 0 selects an alternate. */
  issuerRootsPem(index?: number): Promise<string>;
  /** Intermediate certificate (PEM) of the issuing hierarchy; `index` > 0 selects an alternate chain's. */
  issuerIntermediatesPem(index?: number): Promise<string>;
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
  fetch: Fetch,
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
      ...(options.validitySeconds !== undefined
        ? { certificateValidityPeriod: options.validitySeconds }
        : {}),
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
    logs: () => child.logs(),
    stop,
  };
}
