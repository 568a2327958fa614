import { createServer, type Server } from 'node:http';
import { freePort } from '../../../testbed/ports';
import { forwardTo, readAll, stoppable } from './http-forward';

/** One AWS API call as the proxy saw it. */
export interface AwsCall {
  readonly method: string;
  /** Path and query, e.g. `/2013-04-01/hostedzone/Z1/rrset`. */
  readonly path: string;
  /** `X-Amz-Target` of JSON protocols (e.g. `AWSEvents.PutEvents`). */
  readonly target?: string;
  /** The signing service from the Authorization header (`route53`, `s3`, `acm`, `events`, …). */
  readonly service?: string;
  readonly body: string;
  /** The status the client received. */
  status?: number;
  answeredBy?: 'rule' | 'upstream';
}

/** A rule's answer: a canned response, or forward and rewrite the upstream answer's body. */
export type AwsFault =
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  | { readonly rewrite: (body: string) => string };

/** Decides about one call (with a 1-based count per method, path and target): a fault, or `undefined`. */
export type AwsFaultRule = (call: AwsCall & { readonly count: number }) => AwsFault | undefined;

/** An HTTP proxy in front of moto that records AWS calls and injects faults the real services produce. */
export interface AwsFaultProxy {
  /** Give this to the runtime as its AWS endpoint. */
  readonly endpoint: string;
  readonly calls: AwsCall[];
  addRule(rule: AwsFaultRule): void;
  clearRules(): void;
  stop(): Promise<void>;
}

/** A Route 53 error document (REST-XML), as the service sends for `Throttling` or `PriorRequestNotComplete`. */
export function route53Error(code: string, message: string, status = 400): AwsFault {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}

/** Starts the proxy on a free port of 127.0.0.1, forwarding to `targetEndpoint` (moto). */
export async function startAwsFaultProxy(targetEndpoint: string): Promise<AwsFaultProxy> {
  const upstream = new URL(targetEndpoint);
  const port = await freePort();
  const rules: AwsFaultRule[] = [];
  const calls: AwsCall[] = [];
  const counts = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    (async () => {
      const body = await readAll(req);
      const auth = String(req.headers.authorization ?? '');
      const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1];
      const target = req.headers['x-amz-target'];
      const call: AwsCall = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        ...(typeof target === 'string' ? { target } : {}),
        ...(service ? { service } : {}),
        body: body.toString('utf8'),
      };
      calls.push(call);
      const key = `${call.method} ${call.path.split('?')[0]} ${call.target ?? ''}`;
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      let fault: AwsFault | undefined;
      for (const rule of rules) {
        fault = rule({ ...call, count });
        if (fault !== undefined) break;
      }
      if (fault && 'status' in fault) {
        call.answeredBy = 'rule';
        call.status = fault.status;
        res.writeHead(fault.status, {
          ...fault.headers,
          'content-length': String(Buffer.byteLength(fault.body ?? '')),
        });
        res.end(fault.body ?? '');
        return;
      }
      const answer = await forwardTo(upstream, req, body);
      const out = fault ? Buffer.from(fault.rewrite(answer.body.toString('utf8'))) : answer.body;
      call.answeredBy = 'upstream';
      call.status = answer.status;
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(out.length) });
      res.end(out);
    })().catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`aws fault proxy: ${error instanceof Error ? error.message : String(error)}`);
      } else res.destroy();
    });
  });
  const stop = stoppable(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    addRule: (rule) => {
      rules.push(rule);
    },
    clearRules: () => {
      rules.length = 0;
    },
    stop,
  };
}
