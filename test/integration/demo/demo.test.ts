import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { liveProcesses } from '../../../testbed/processes';

// Quiet Powertools before the handlers are imported, as scripts/demo.ts does.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { runDemo } = await import('../../../functions/cli/demo');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** True when something accepts TCP connections on `port` of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

/** Every process whose ancestry leads to `pid` (read from /proc, so nothing is assumed about the tree). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent; the command name (field 2) may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited while we looked.
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  it('issues the demo inventory, renews the revoked certificate through ARI with replaces, and leaves nothing running', async () => {
    const lines: string[] = [];
    const result = await runDemo({ out: (line) => lines.push(line) });
    const rows = new Map(result.report.certificates.map((row) => [row.id, row]));

    // Every certificate of examples/demo-inventory.json was issued and imported.
    expect([...rows.keys()]).toEqual(['shop', 'api-multi-zone', 'legacy-rsa']);
    for (const row of rows.values()) {
      expect(row.serial).toMatch(/^[0-9a-f]+$/);
      expect(row.lastResult).toBe('renewed');
      expect(row.daysLeft).toBeGreaterThan(89);
      expect(row.ari?.selectedTime).toBeDefined();
      expect(Object.keys(row.acm).length).toBeGreaterThan(0);
    }
    expect(Object.keys(rows.get('api-multi-zone')!.acm).sort()).toEqual(['eu-west-1', 'us-east-1']);

    // The revoked one: renewed because the CA moved its ARI window, with replaces naming its predecessor.
    expect(result.revoked).toBe('shop');
    expect(rows.get('shop')).toMatchObject({ lastReason: 'ari-window', replaced: result.replaced });
    expect(result.replaced).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(rows.get('legacy-rsa')!.lastReason).toBe('new');

    // The final table (what the operator reads) says the same.
    expect(lines.at(-2)).toBe(result.table);
    expect(result.table).toMatch(
      /^shop\s+shop\.test\s+Pebble Intermediate CA \w+\s+.*renewed \(ari-window\)/m,
    );
    expect(result.table).toContain(`replaces ${result.replaced!.slice(0, 16)}…`);
    expect(result.table).toMatch(/^legacy-rsa\s+legacy\.example\.test\s+.*renewed \(new\)/m);
    const text = lines.join('\n');
    expect(text).toContain('scheduler enqueued shop (ari-window); the others are not due yet');
    expect(text).toContain(`its newOrder carried "replaces": "${result.replaced}"`);
    expect(text).toContain('re-imported into the same ACM ARN');

    // Nothing left running: no child process, every port closed.
    expect(liveProcesses()).toEqual([]);
    expect(result.ports).toHaveLength(4);
    for (const port of result.ports) expect(await listening(port)).toBe(false);
    expect(result.seconds).toBeLessThan(60);
  });

  it('Ctrl-C stops everything it started and exits 130', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: root,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    // Wait until the bed is up and the first issuance has started: the middle of the work.
    const deadline = Date.now() + 60_000;
    while (!/scheduler enqueued/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`demo did not get going:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const ports = [...output.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const started = descendants(child.pid!);
    expect(ports.length).toBeGreaterThanOrEqual(3);
    expect(started.length).toBeGreaterThanOrEqual(2);

    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output).toContain('SIGINT: stopping everything the demo started');
    expect(output).not.toMatch(/\n\s+at /);
    const survivors = started.filter(alive).map((pid) => `${pid} ${command(pid)}`);
    expect(survivors).toEqual([]);
    for (const port of ports) expect(await listening(port), `port ${port} still open`).toBe(false);
  });
});
