import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { freePort, freeTcpUdpPort, waitFor } from './ports';
import { type ManagedProcess, spawnManaged } from './processes';
import { provisionTestBed } from './provision';

/** A running pebble-challtestsrv: a mock DNS server whose TXT records a test sets over HTTP. */
export interface ChallTestSrv {
  /** `127.0.0.1:PORT` of the DNS server (UDP and TCP), e.g. for Pebble's `dnsServer`. */
  readonly dnsAddress: string;
  /** Base URL of the plain-HTTP management API. */
  readonly managementUrl: string;
  /** Operating-system process id. */
  readonly pid: number;
  /**
   * Adds a TXT value for `name` (given without trailing dot); values accumulate, as for an apex and a wildcard
   * order sharing one `_acme-challenge` name, until {@link ChallTestSrv.clearTxt}.
   */
  setTxt(name: string, value: string): Promise<void>;
  /** Removes every TXT value of `name` (given without trailing dot). */
  clearTxt(name: string): Promise<void>;
  /** The last part of the server's output. */
  logs(): string;
  /** Stops the server and waits until it has exited. */
  stop(): Promise<void>;
}

const startTimeoutMs = 10_000;

/** challtestsrv's API wants fully qualified names; tests and the code under test use names without the dot. */
function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/**
 * Starts pebble-challtestsrv with only its DNS server and management API, both on free ports of 127.0.0.1
 * (HTTP-01, HTTPS-01, TLS-ALPN-01 and DoH listeners are disabled).
 */
export async function startChallTestSrv(): Promise<ChallTestSrv> {
  const cacheDir = provisionTestBed();
  let lastError: unknown;
  // A free port can be taken between probing and binding; a few attempts make that race harmless.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(cacheDir);
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error && /address already in use/.test(error.message))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(cacheDir: string): Promise<ChallTestSrv> {
  const [dnsPort, managementPort] = await Promise.all([freeTcpUdpPort(), freePort()]);
  const dnsAddress = `127.0.0.1:${dnsPort}`;
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const child: ManagedProcess = spawnManaged(
    'pebble-challtestsrv',
    join(cacheDir, 'bin/pebble-challtestsrv'),
    [
      // Pebble 2.10's challtestsrv calls its DNS listener -dnsserver (2.6: -dns01).
      '-dnsserver',
      dnsAddress,
      '-management',
      `127.0.0.1:${managementPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-doh',
      '',
    ],
    { env: { PATH: process.env.PATH } },
  );

  const post = async (path: string, body: unknown): Promise<void> => {
    const response = await fetch(`${managementUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`test bed: challtestsrv ${path} answered ${response.status}: ${text}`);
  };
  const alive = (): void => {
    if (child.hasExited()) {
      throw new Error(`test bed: pebble-challtestsrv exited during startup. Its output:\n${child.logs()}`);
    }
  };
  const resolver = new Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([dnsAddress]);
  try {
    await waitFor(
      async () => {
        alive();
        return post('/clear-txt', { host: 'readiness.test.' }).then(
          () => true,
          () => false,
        );
      },
      `challtestsrv's management API at ${managementUrl}`,
      startTimeoutMs,
    );
    await waitFor(
      async () => {
        alive();
        try {
          await resolver.resolveTxt('readiness.test');
          return true;
        } catch (error) {
          // Any DNS answer (even "no such record") proves the server is up; only silence means "not yet".
          const code = (error as NodeJS.ErrnoException).code;
          return code !== 'ECONNREFUSED' && code !== 'ETIMEOUT';
        }
      },
      `challtestsrv's DNS server at ${dnsAddress}`,
      startTimeoutMs,
    );
  } catch (error) {
    await child.stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      message.includes('Its output:') ? message : `${message}\nIts output:\n${child.logs().slice(-8000)}`,
      { cause: error },
    );
  }

  return {
    dnsAddress,
    managementUrl,
    pid: child.pid,
    setTxt: (name, value) => post('/set-txt', { host: fqdn(name), value }),
    clearTxt: (name) => post('/clear-txt', { host: fqdn(name) }),
    logs: () => child.logs(),
    stop: () => child.stop(),
  };
}
