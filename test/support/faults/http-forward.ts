import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { Socket } from 'node:net';

/** Headers a proxy must not pass on as they came: they describe one connection, or are set again per hop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'host',
]);

/** An upstream answer, read whole. */
export interface ForwardedAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/** Reads a request or response body to the end. */
export function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolveBody(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** The end-to-end headers of a message, without `undefined` values. */
export function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) kept[name] = value;
  }
  return kept;
}

/**
 * Sends a request read by a proxy on to `target` (plain HTTP, a fresh connection each time), with the target's
 * own host: moto routes some JSON-protocol calls (SQS) wrongly under another host name and answers 500.
 */
export function forwardTo(
  target: URL,
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  body: Buffer,
): Promise<ForwardedAnswer> {
  return new Promise((resolveForward, reject) => {
    const headers = {
      ...endToEndHeaders(req.headers),
      host: target.host,
      'content-length': String(body.length),
    };
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
      (incoming) => {
        readAll(incoming).then((answer) => {
          const status = incoming.statusCode ?? 502;
          resolveForward({ status, headers: endToEndHeaders(incoming.headers), body: answer });
        }, reject);
      },
    );
    out.once('error', reject);
    out.end(body);
  });
}

/** Tracks a server's sockets so `stop()` ends open keep-alive connections instead of waiting for them. */
export function stoppable(server: Pick<Server, 'on' | 'close' | 'closeAllConnections'>): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return () =>
    new Promise<void>((resolveStop) => {
      server.close(() => resolveStop());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
}
