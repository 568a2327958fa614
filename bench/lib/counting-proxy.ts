import { createServer, request as httpRequest, type Server } from 'node:http';

/** One AWS API call seen at the endpoint. */
export interface AwsCall {
  /** Signing name from the SigV4 credential scope: `s3`, `route53`, `acm`, `sqs`, … */
  readonly service: string;
  /** Operation name, e.g. `ChangeResourceRecordSets`, `ImportCertificate`, `GetObject`. */
  readonly action: string;
  /** Route 53 hosted zone id, for calls about one zone. */
  readonly zone?: string;
  /** Route 53 change batches: the actions in the batch (`CREATE`, `UPSERT`, `DELETE`). */
  readonly changeActions?: readonly string[];
  /** Time from the request reaching the proxy to the last byte of moto's answer, once it has been sent. */
  ms?: number;
}

/** An HTTP proxy in front of moto that records every AWS call passing through it. */
export interface CountingProxy {
  /** Use this as the SDK endpoint instead of moto's. */
  readonly endpoint: string;
  readonly calls: AwsCall[];
  /** Calls grouped as `service:action` → count. */
  counts(): Map<string, number>;
  /** Summed time of every call, in milliseconds (moto's latency plus the proxy hop). */
  totalMs(): number;
  reset(): void;
  stop(): Promise<void>;
}

function s3Action(method: string, url: URL): string {
  const parts = url.pathname.split('/').filter(Boolean);
  const object = parts.length > 1;
  const q = url.searchParams;
  if (method === 'GET' && !object) return q.has('versions') ? 'ListObjectVersions' : 'ListObjects';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return object ? 'HeadObject' : 'HeadBucket';
  if (method === 'PUT') return object ? 'PutObject' : 'CreateBucket';
  if (method === 'DELETE') return object ? 'DeleteObject' : 'DeleteBucket';
  if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
  return `${method} ${object ? 'object' : 'bucket'}`;
}

function route53Action(method: string, url: URL): { action: string; zone?: string } {
  const path = url.pathname.replace(/^\/2013-04-01/, '');
  const zone = /^\/hostedzone\/([^/]+)/.exec(path)?.[1];
  if (/^\/hostedzone\/[^/]+\/rrset\/?$/.test(path))
    return { action: method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets', zone };
  if (/^\/hostedzone\/[^/]+$/.test(path)) return { action: 'GetHostedZone', zone };
  if (/^\/hostedzone\/?$/.test(path))
    return { action: method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones' };
  if (path.startsWith('/hostedzonesbyname')) return { action: 'ListHostedZonesByName' };
  if (path.startsWith('/change/')) return { action: 'GetChange' };
  return { action: `${method} ${path}` };
}

/** Names one request: JSON protocols by `X-Amz-Target`, query protocols by `Action=`, REST ones by method + path. */
function classify(method: string, rawUrl: string, headers: Record<string, unknown>, body: string): AwsCall {
  const auth = String(headers.authorization ?? '');
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = headers['x-amz-target'];
  const url = new URL(rawUrl, 'http://moto');
  if (typeof target === 'string') return { service, action: target.split('.').pop() ?? target };
  const queryAction = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1] ?? url.searchParams.get('Action');
  if (queryAction) return { service, action: queryAction };
  if (service === 's3') return { service, action: s3Action(method, url) };
  if (service === 'route53') {
    const { action, zone } = route53Action(method, url);
    const changeActions =
      action === 'ChangeResourceRecordSets'
        ? [...body.matchAll(/<Action>([A-Z]+)<\/Action>/g)].map((m) => m[1]!)
        : undefined;
    return { service, action, zone, changeActions };
  }
  return { service, action: `${method} ${url.pathname}` };
}

/** Starts a counting proxy that forwards everything to `target` (moto). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const calls: AwsCall[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const started = performance.now();
      const call = classify(
        request.method ?? 'GET',
        request.url ?? '/',
        request.headers,
        body.toString('utf8'),
      );
      calls.push(call);
      response.on('finish', () => {
        call.ms = performance.now() - started;
      });
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: { ...request.headers, host: upstream.host },
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', (error) => {
        response.writeHead(502).end(String(error));
      });
      forward.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    counts() {
      const counts = new Map<string, number>();
      for (const c of calls)
        counts.set(`${c.service}:${c.action}`, (counts.get(`${c.service}:${c.action}`) ?? 0) + 1);
      return counts;
    },
    totalMs() {
      return calls.reduce((sum, c) => sum + (c.ms ?? 0), 0);
    },
    reset() {
      calls.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
