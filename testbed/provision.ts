import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'testbed/provision.sh');

const aptPackages =
  'openssl python3-boto3 python3-botocore python3-werkzeug python3-flask python3-flask-cors ' +
  'python3-xmltodict python3-responses python3-cryptography python3-jinja2 python3-dateutil python3-requests ' +
  'python3-yaml';

let cacheDir: string | undefined;

/**
 * Provisions the local test bed (Pebble 2.10 with ARI and profiles, pebble-challtestsrv, moto, openssl) once
 * per process and returns its cache folder; throws with the script's stderr and what to install when that is
 * impossible, so a test run never skips the integration tests silently.
 */
export function provisionTestBed(): string {
  if (cacheDir !== undefined) return cacheDir;
  const result = spawnSync('bash', [script], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // The first run downloads from the Debian mirror and may apt-get install; later runs take a second.
    timeout: 15 * 60_000,
  });
  const stderr = (result.stderr ?? '').trim();
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error ? result.error.message : `exited with ${result.status ?? result.signal}`;
    throw new Error(
      [
        `test bed: provisioning failed (bash ${script} ${why}).`,
        stderr ? `Its stderr:\n${stderr.slice(-4000)}` : 'It wrote nothing to stderr.',
        'To fix: run the tests as root (the script apt-get installs what is missing), or install',
        `  sudo apt-get install -y ${aptPackages}`,
        "and allow access to the system's Debian mirror once (sid and trixie suites), to fetch pebble (sid) and",
        'python3-moto (trixie) into .cache/testbed (or TESTBED_CACHE).',
      ].join('\n'),
    );
  }
  // The script prints the cache folder as its last line of stdout.
  const printed = result.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (
    !printed ||
    !existsSync(join(printed, 'bin/pebble')) ||
    !existsSync(join(printed, 'bin/pebble-challtestsrv'))
  ) {
    throw new Error(
      `test bed: ${script} succeeded but printed "${printed}", which holds no bin/pebble and ` +
        `bin/pebble-challtestsrv; delete the cache folder and run it again.\n${stderr.slice(-2000)}`,
    );
  }
  cacheDir = printed;
  return cacheDir;
}
