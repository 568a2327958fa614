import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One process run under GNU time. */
export interface MeasuredRun {
  /** Wall time seen by this process, from spawn to exit (GNU time's own figure has 10 ms resolution). */
  readonly wallMs: number;
  /** GNU time's "Maximum resident set size", in KiB; `undefined` when GNU time is missing. */
  readonly maxRssKib?: number;
  /** User + system CPU time of the process, in milliseconds (GNU time). */
  readonly cpuMs?: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run a measured process. */
export interface MeasureOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Kill the process after this long. @default 180_000 */
  readonly timeoutMs?: number;
}

/** Where GNU time lives (Debian package `time`); the shell builtin has no `-v`. */
export const GNU_TIME = '/usr/bin/time';

/** True when GNU time is installed. */
export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * Runs a command under `/usr/bin/time -v` so every tool (ours, lego, certbot) is measured the same way: wall time
 * from spawn to exit and the peak resident set size the kernel reports for the process.
 */
export async function measure(
  command: string,
  args: readonly string[],
  options: MeasureOptions = {},
): Promise<MeasuredRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const timeFile = join(scratch, 'time.txt');
  const gnu = hasGnuTime();
  const [file, argv] = gnu ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]] : [command, [...args]];
  const started = performance.now();
  try {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(file, argv, {
          cwd: options.cwd,
          env: options.env ?? process.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    const wallMs = performance.now() - started;
    let maxRssKib: number | undefined;
    let cpuMs: number | undefined;
    if (gnu && existsSync(timeFile)) {
      const text = readFileSync(timeFile, 'utf8');
      const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
      if (match) maxRssKib = Number(match[1]);
      const user = /User time \(seconds\): ([\d.]+)/.exec(text);
      const system = /System time \(seconds\): ([\d.]+)/.exec(text);
      if (user && system) cpuMs = (Number(user[1]) + Number(system[1])) * 1000;
    }
    return { wallMs, maxRssKib, cpuMs, exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Throws with the tail of the process's output when it did not exit 0. */
export function assertSucceeded(what: string, run: MeasuredRun): MeasuredRun {
  if (run.exitCode !== 0) {
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${what} exited with ${run.exitCode}:\n${tail}`);
  }
  return run;
}
