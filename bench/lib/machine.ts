import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';

/** Reads the distribution's pretty name, e.g. "Debian GNU/Linux 12 (bookworm)". */
function distribution(): string | undefined {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** One line describing the machine the numbers come from: CPUs, memory, OS and Node.js. */
export function describeMachine(): string {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  const gib = (totalmem() / 1024 ** 3).toFixed(1);
  const os = distribution() ?? `${platform()} ${release()}`;
  return `${list.length} × ${model}, ${gib} GiB RAM, ${os} (${platform()} ${release()} ${arch()}), Node.js ${process.version}`;
}
