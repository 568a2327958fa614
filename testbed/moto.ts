import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ManagedProcess, spawnManaged } from './processes';
import { provisionTestBed } from './provision';

/** A running moto server (AWS APIs on localhost), owned by the test that started it. */
export interface MotoServer {
  /** Base URL for SDK clients, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Kills the server and waits for it to exit. */
  stop(): Promise<void>;
  /** Forgets every resource (zones, buckets, certificates) so the next test starts empty. */
  reset(): Promise<void>;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where moto's Python packages were extracted; provisions the test bed on first use. */
function motoPythonPath(): string {
  const cache = process.env.TESTBED_CACHE ?? join(root, '.cache/testbed');
  const sitePackages = join(cache, 'moto/usr/lib/python3/dist-packages');
  if (existsSync(join(sitePackages, 'moto'))) return sitePackages;
  // Normally globalSetup provisioned already; this covers running a file on its own.
  return join(provisionTestBed(), 'moto/usr/lib/python3/dist-packages');
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (private copy: other helpers own the shared one). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts moto on a free port and resolves once it answers HTTP. */
export async function startMoto(): Promise<MotoServer> {
  const pythonPath = motoPythonPath();
  let lastError: unknown;
  // A free port can be taken between probing and binding; a few attempts make that race harmless.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // /usr/bin/python3 on purpose: the python3 on PATH may be a pyenv without the Debian packages.
    // spawnManaged kills it on exit, on SIGINT/SIGTERM and (pdeathsig) when this process dies.
    const child = spawnManaged(
      'moto',
      '/usr/bin/python3',
      [
        '-c',
        'import sys; from moto.server import main; sys.argv=["moto_server","-H","127.0.0.1","-p",sys.argv[1]]; main()',
        String(port),
      ],
      { env: { ...process.env, PYTHONPATH: pythonPath }, maxLogChars: 16 * 1024 },
    );
    try {
      await waitUntilAnswering(endpoint, child);
    } catch (error) {
      lastError = error;
      await child.stop(0);
      continue;
    }
    return {
      endpoint,
      stop: () => child.stop(),
      async reset() {
        const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`moto reset answered HTTP ${response.status}`);
      },
    };
  }
  throw new Error(`moto did not start: ${String(lastError)}`);
}

async function waitUntilAnswering(endpoint: string, child: ManagedProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.hasExited()) throw new Error(`moto exited: ${child.logs().slice(-2000)}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto did not answer at ${endpoint} within 30 s: ${child.logs().slice(-2000)}`);
}

/** SDK v3 client configuration pointing at moto: static dummy credentials, path-style S3 addressing. */
export function awsTestConfig(endpoint: string, region = 'us-east-1') {
  return {
    endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  };
}
