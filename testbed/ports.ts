import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). Another process may take
 * it before the caller binds it; callers that start servers retry on "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True when a UDP socket can bind `port` on 127.0.0.1 right now. */
function udpPortIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolveFree(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolveFree(true)));
  });
}

/** A port free for both TCP and UDP on 127.0.0.1, for servers such as DNS that listen on both. */
export async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (await udpPortIsFree(port)) return port;
  }
  throw new Error('test bed: found no port on 127.0.0.1 that is free for both TCP and UDP');
}

/**
 * Polls `check` until it returns true, or throws after `timeoutMs` naming `what` was awaited. `check` returns
 * false for "not yet"; an error thrown by `check` ends the wait at once (e.g. the server process exited).
 */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() >= deadline) {
      throw new Error(`test bed: timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, intervalMs));
  }
}
