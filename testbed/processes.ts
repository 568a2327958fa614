import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A child process started by the test bed, with its output kept in memory for diagnostics. */
export interface ManagedProcess {
  /** Short name used in messages, e.g. `pebble`. */
  readonly name: string;
  /** The operating-system process id. */
  readonly pid: number;
  /** True once the process has exited (for any reason). */
  hasExited(): boolean;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** The last part of the process's stdout and stderr, interleaved in arrival order. */
  logs(): string;
  /** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** How a test-bed process is started. */
export interface SpawnOptions {
  /** Environment of the child; nothing from the parent is inherited unless passed here. */
  readonly env: Record<string, string | undefined>;
  /** Working directory of the child. */
  readonly cwd?: string;
  /**
   * Largest number of characters of output kept for {@link ManagedProcess.logs}.
   * @default 256 KiB
   */
  readonly maxLogChars?: number;
}

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

// `setpriv --pdeathsig KILL` asks the kernel to kill the child when this process dies, which also covers the
// cases no JavaScript hook sees (SIGKILL, OOM kill, a crashed worker).
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

function killAllNow(): void {
  for (const entry of live) {
    try {
      process.kill(entry.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllNow();
      // Adding a listener disables Node's default "exit on signal"; restore it when nobody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts a test-bed process and registers it, so {@link stopAll} and the exit hooks can end it; no process
 * started here outlives the test run.
 */
export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ManagedProcess {
  installHooks();
  const maxLogChars = options.maxLogChars ?? 256 * 1024;
  const [file, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, [...args]];
  const child: ChildProcess = spawn(file, argv, {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > maxLogChars) output = output.slice(-maxLogChars);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  // Without a listener an 'error' (e.g. ENOENT) would crash the test run instead of failing one start.
  child.once('error', (error) => append(Buffer.from(`\n[test bed] ${name}: ${error.message}\n`)));
  if (child.pid === undefined) {
    throw new Error(`test bed: could not start ${name} (${command}); is the test bed provisioned?`);
  }

  let exitedFlag = false;
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(managed);
      resolveExit(code ?? signal ?? 'unknown');
    });
  });

  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    hasExited: () => exitedFlag,
    exited,
    logs: () => output,
    async stop(graceMs = 3000): Promise<void> {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  live.add(managed);
  return managed;
}

/** Stops every process the test bed started in this process and waits until all are gone. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((entry) => entry.stop()));
}

/** The processes started by the test bed that are still running (for assertions and diagnostics). */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}
