import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The peer tools found (or installed) on this machine. */
export interface Peers {
  readonly lego?: { readonly path: string; readonly version: string };
  readonly certbot?: { readonly path: string; readonly version: string };
  /** What was missing and why, for the report. */
  readonly notes: readonly string[];
}

const PACKAGES = { lego: '/usr/bin/lego', certbot: '/usr/bin/certbot', time: '/usr/bin/time' } as const;

function version(path: string, args: readonly string[]): string {
  const out = spawnSync(path, args, { encoding: 'utf8' });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
}

function dpkgVersion(name: string): string | undefined {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format field, not a JS template
  const out = spawnSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/**
 * Finds lego, certbot and GNU time, installing the missing ones from the Debian archive (bookworm: lego 4.9.1,
 * certbot 2.1.0) when running as root. Never fails: a missing peer is reported and its column left empty.
 */
export function ensurePeers(): Peers {
  const notes: string[] = [];
  const missing = Object.entries(PACKAGES)
    .filter(([, path]) => !existsSync(path))
    .map(([name]) => name);
  if (missing.length > 0) {
    if (process.getuid?.() === 0) {
      const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
        encoding: 'utf8',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        timeout: 10 * 60_000,
      });
      if (install.status !== 0) {
        notes.push(
          `apt-get install ${missing.join(' ')} failed (${install.status ?? install.error?.message}): ` +
            `${(install.stderr ?? '').trim().split('\n').slice(-2).join(' ')}. To fix: sudo apt-get update && ` +
            `sudo apt-get install -y ${missing.join(' ')}`,
        );
      }
    } else {
      notes.push(
        `not root, so not installing ${missing.join(', ')}: run sudo apt-get install -y ${missing.join(' ')}`,
      );
    }
  }
  const lego = existsSync(PACKAGES.lego)
    ? { path: PACKAGES.lego, version: dpkgVersion('lego') ?? version(PACKAGES.lego, ['--version']) }
    : undefined;
  const certbot = existsSync(PACKAGES.certbot)
    ? { path: PACKAGES.certbot, version: dpkgVersion('certbot') ?? version(PACKAGES.certbot, ['--version']) }
    : undefined;
  if (!lego) notes.push('lego is not installed: its column is empty');
  if (!certbot) notes.push('certbot is not installed: its column is empty');
  if (!existsSync(PACKAGES.time)) notes.push('GNU time (/usr/bin/time) is missing: peak RSS is not reported');
  return { lego, certbot, notes };
}
