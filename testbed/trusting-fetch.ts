import { Agent, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';

/**
 * The WHATWG `fetch` as tests and the bed call it (`json()`, `text()`, `clone()`): the functions' `Fetch` port is
 * a subset of it, so one of these can be handed to the runtime as its `fetch`.
 */
export type WebFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * A `fetch` that trusts the test bed's CA for this fetch only (an undici `Agent` with `connect.ca`), so the
 * process's global trust store and `fetch` stay untouched.
 */
export function trustingFetch(caPem: string): WebFetch {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return (url, init) =>
    // The DOM lib and undici declare the same WHATWG types separately; undici's Response implements the
    // standard interface (it is what Node's global fetch is built on), so only the static types differ.
    undiciFetch(url, { ...(init as UndiciRequestInit), dispatcher }) as unknown as Promise<Response>;
}
