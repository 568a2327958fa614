import { createServer, type Server } from 'node:http';
import { freePort } from '../../../testbed/ports';
import { forwardTo, readAll, stoppable } from '../faults/http-forward';

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

// Lambda's REST path for Invoke: POST /2015-03-31/functions/{FunctionName}/invocations
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

/**
 * Starts the front on a free port, forwarding to `motoEndpoint`. It collapses the duplicated `Date` header moto
 * sends (the CDK CLI's SDK rejects it as an invalid date), and answers Lambda `Invoke` with `invoke` when given,
 * so a function that invokes another runs that function's own deployed code.
 */
export async function startMotoFront(motoEndpoint: string, invoke?: InvokeHandler): Promise<MotoFront> {
  const target = new URL(motoEndpoint);
  const port = await freePort();
  const invocations: { functionName: string; payload: string }[] = [];

  const forward = async (req: Parameters<typeof forwardTo>[1], body: Buffer) => {
    const answer = await forwardTo(target, req, body);
    // moto sends Date twice; node joins repeated headers into "a, b", an unparseable date.
    const date = answer.headers.date;
    if (date !== undefined) answer.headers.date = String(date).split(/,\s*(?=[A-Z][a-z]{2},)/)[0]!;
    return answer;
  };

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
  const stop = stoppable(server);
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
    stop,
  };
}
