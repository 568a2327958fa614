import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { testBedTls } from '../../testbed/tls';

/** A running {@link startBedTlsServer}. */
export interface BedTlsServer {
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The PEM a client must trust to reach it (the test bed's TLS CA). */
  readonly caPem: string;
  /** Every TLS connection accepted so far, as long as the test keeps them (it may clear the set). */
  readonly connections: Set<Socket>;
  /** Closes the connections that carry no request, as a server's keep-alive timeout would. */
  closeIdleConnections(): void;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 with the test bed's certificate, so an HTTP client's TLS, keep-alive and streaming
 * are exercised as against a CA.
 */
export async function startBedTlsServer(listener: RequestListener): Promise<BedTlsServer> {
  const tls = testBedTls();
  const server = createServer({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) }, listener);
  const connections = new Set<Socket>();
  server.on('secureConnection', (socket) => connections.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caPem: tls.caPem,
    connections,
    closeIdleConnections: () => server.closeIdleConnections(),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
