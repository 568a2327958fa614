import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '../../testbed/ports';

/** What a Lambda `Invoke` returns: the function's answer, and `functionError` when it threw. */
export interface InvokeResult {
  readonly payload: string;
  /** `Unhandled` when the handler threw, as Lambda reports in `X-Amz-Function-Error`. */
  readonly functionError?: 'Unhandled';
}

/** Runs one function for a Lambda `Invoke` call (moto cannot run Lambda code without Docker). */
export type InvokeHandler = (functionName: string, payload: string) => Promise<InvokeResult>;

/** An HTTP front for moto that makes it usable by the CDK CLI and by the deployed functions. */
export interface MotoFront {
  /** `http://localhost:<port>`: CloudFormation reads path-style template URLs only from a `localhost` host. */
  readonly endpoint: string;
  /** Lambda `Invoke` calls answered by the invoke handler, by function name, in order. */
  readonly invocations: { readonly functionName: string; readonly payload: string }[];
  stop(): Promise<void>;
}

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'host',
]);

// Lambda's REST path for Invoke: POST /2015-03-31/functions/{FunctionName}/invocations
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolveBody(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * Starts the front on a free port, forwarding to `motoEndpoint`. It collapses the duplicated `Date` header moto
 * sends (the CDK CLI's SDK rejects it as an invalid date), and answers Lambda `Invoke` with `invoke` when given,
 * so a function that invokes another runs that function's own deployed code.
 */
export async function startMotoFront(motoEndpoint: string, invoke?: InvokeHandler): Promise<MotoFront> {
  const target = new URL(motoEndpoint);
  const port = await freePort();
  const sockets = new Set<Socket>();
  const invocations: { functionName: string; payload: string }[] = [];

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }>(
      (resolveForward, reject) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (!hopByHop.has(name) && value !== undefined) headers[name] = value;
        }
        // moto's own host: with `localhost` it routes some JSON-protocol calls (SQS) wrongly and answers 500.
        headers.host = target.host;
        headers['content-length'] = String(body.length);
        const out = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers,
            agent: false,
          },
          (incoming) => {
            readAll(incoming).then((answer) => {
              const responseHeaders: Record<string, string | string[]> = {};
              for (const [name, value] of Object.entries(incoming.headers)) {
                if (hopByHop.has(name) || value === undefined) continue;
                // moto sends Date twice; node joins repeated headers into "a, b", an unparseable date.
                responseHeaders[name] =
                  name === 'date' ? String(value).split(/,\s*(?=[A-Z][a-z]{2},)/)[0]! : value;
              }
              resolveForward({ status: incoming.statusCode ?? 502, headers: responseHeaders, body: answer });
            }, reject);
          },
        );
        out.once('error', reject);
        out.end(body);
      },
    );

  const server: Server = createServer((req, res) => {
    (async () => {
      const body = await readAll(req);
      const match = req.method === 'POST' ? INVOKE_PATH.exec(req.url ?? '') : null;
      if (match && invoke) {
        const functionName = decodeURIComponent(match[1]!);
        const payload = body.toString('utf8');
        invocations.push({ functionName, payload });
        const result = await invoke(functionName, payload);
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(result.payload)),
          'x-amz-executed-version': '$LATEST',
          ...(result.functionError ? { 'x-amz-function-error': result.functionError } : {}),
        });
        res.end(result.payload);
        return;
      }
      const answer = await forward(req, body);
      // MOTO_FRONT_DEBUG=1 prints each call moto fails with HTTP 5xx (request and moto's answer) to stderr.
      if (answer.status >= 500 && process.env.MOTO_FRONT_DEBUG)
        process.stderr.write(
          `moto front: ${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''} ${body.toString().slice(0, 2000)} -> ${answer.status} ${answer.body.toString().slice(0, 4000)}\n`,
        );
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
      res.end(answer.body);
    })().catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`moto front: ${error instanceof Error ? error.message : String(error)}`);
      } else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // `localhost` may resolve to ::1 or 127.0.0.1: listen on both (dual-stack), or IPv4 only without IPv6.
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') return reject(error);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolveListen);
    });
    server.listen({ port, host: '::', ipv6Only: false }, resolveListen);
  });
  return {
    endpoint: `http://localhost:${port}`,
    invocations,
    stop: () =>
      new Promise<void>((resolveStop) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveStop());
      }),
  };
}
