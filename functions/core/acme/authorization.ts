import type { AcmeClient } from './client';
import { type PollOptions, pollUntil } from './poll';
import { AcmeProblemError } from './problem';
import {
  type Authorization,
  authorizationSchema,
  type Challenge,
  challengeSchema,
  parseResource,
} from './resources';

/** Fetches an authorization. @see RFC 8555 §7.5 */
export async function getAuthorization(client: AcmeClient, url: string): Promise<Authorization> {
  const response = await client.postAsGet(url);
  return parseResource(authorizationSchema, response.body, `the authorization ${url}`);
}

/**
 * Tells the CA the challenge is ready to validate.
 * @see RFC 8555 §7.5.1 "The client indicates to the server that it is ready for the challenge validation by
 * sending an empty JSON body ('{}')"
 */
export async function respondToChallenge(client: AcmeClient, challengeUrl: string): Promise<Challenge> {
  const response = await client.post(challengeUrl, {});
  return parseResource(challengeSchema, response.body, `the challenge ${challengeUrl}`);
}

/** Polls an authorization until it is valid; an invalid one throws the challenge's problem document. */
export async function waitForAuthorization(
  client: AcmeClient,
  url: string,
  poll: PollOptions,
): Promise<Authorization> {
  return pollUntil<Authorization>(`authorization ${url}`, poll, async () => {
    const response = await client.postAsGet(url);
    const authz = parseResource(authorizationSchema, response.body, `the authorization ${url}`);
    if (authz.status === 'valid') return { done: authz };
    if (authz.status !== 'pending') throw authorizationFailure(authz, url);
    return { retryAfter: response.headers.get('retry-after') };
  });
}

/**
 * The first of `urls` that failed, as its challenge's problem document; undefined when none has (or they cannot
 * be read): the caller then reports what it has.
 */
export async function failedAuthorization(
  client: AcmeClient,
  urls: readonly string[],
): Promise<AcmeProblemError | undefined> {
  const authzs = await Promise.all(urls.map((url) => getAuthorization(client, url))).catch(() => []);
  const i = authzs.findIndex((a) => a.status !== 'valid' && a.status !== 'pending');
  return i < 0 ? undefined : authorizationFailure(authzs[i]!, urls[i]!);
}

/** An authorization that will not become valid, as the problem its failed challenge carries. */
function authorizationFailure(authz: Authorization, url: string): AcmeProblemError {
  const failed =
    authz.challenges.find((c) => c.status === 'invalid' && c.error) ?? authz.challenges.find((c) => c.error);
  return new AcmeProblemError(
    {
      type: failed?.error?.type,
      detail: `${authz.identifier.value}: ${failed?.error?.detail ?? `authorization ${authz.status}`}`,
      status: 403,
      identifier: authz.identifier,
    },
    `authorization ${url}`,
  );
}
