import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpsFetch } from '../../../functions/adapters/https-fetch';
import { guardedFetch, readBoundedText } from '../../../functions/core/http';
import { type BedTlsServer, startBedTlsServer } from '../../support/tls-server';

// The scheduler's shape of load: many renewalInfo GETs, 50 in flight, through one client and guardedFetch.
let server: BedTlsServer;

beforeAll(async () => {
  server = await startBedTlsServer((req, res) => {
    // Every tenth answer is cut mid-body, so failed bodies are in the mix too.
    if (req.url?.endsWith('0')) {
      res.writeHead(200, { 'content-length': '100' }).write('{"partial":');
      setImmediate(() => req.socket.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"suggestedWindow":{}}');
  });
});

afterAll(() => server.close());

describe('the functions’ HTTP client under the scheduler’s load', () => {
  it('leaves no abort listener, warning or extra connection behind after 2,000 requests, 50 in flight', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(String(warning));
    process.on('warning', onWarning);
    const pass = new AbortController();
    const client = createHttpsFetch({ ca: server.caPem });
    const signals: AbortSignal[] = [];
    let next = 0;
    let failed = 0;
    try {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < 2000) {
            const i = next++;
            const signal = AbortSignal.any([pass.signal, AbortSignal.timeout(5000)]);
            signals.push(signal);
            const response = await guardedFetch(
              (url, init) => client(url, { ...init, signal }),
              `${server.origin}/renewalInfo/${i}`,
              { method: 'GET' },
              { timeoutMs: 5000, signal: pass.signal, code: 'ari-invalid' },
            );
            await readBoundedText(response, 1024, 'ari-invalid', 'renewalInfo').catch(() => failed++);
          }
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(failed).toBe(200);
    expect(signals.filter((signal) => getEventListeners(signal, 'abort').length > 0)).toHaveLength(0);
    expect(warnings).toEqual([]);
    // One connection per request in flight, plus one for each answer cut (its connection is gone).
    expect(server.connections.size).toBeLessThanOrEqual(50 + 200);
  }, 20_000);
});
