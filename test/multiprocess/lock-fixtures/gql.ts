/**
 * GraphQL over HTTP for the lock tests: one call with a deadline, its error code as a field
 * (NETWORK when the node did not answer), and the codes a client retries on.
 */
import { waitFor } from '../../helpers/wait-for.js';
import { CallError, gql as call, retryable } from './client.mjs';

// One client for the test process and the fixture processes (which run client.mjs as plain JS).
export { CallError, retryable };

export function codeOf(error: unknown): string {
  return error instanceof CallError ? error.code : 'UNKNOWN';
}

export async function gql<T>(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 5_000,
): Promise<T> {
  return (await call(url, token, query, variables, timeoutMs)) as T;
}

/** The meta leader as `url`'s node sees it; undefined when it has none or does not answer. */
export async function leaderOf(url: string, token: string): Promise<string | undefined> {
  try {
    const data = await gql<{ cluster: { leader: string | null } }>(url, token, '{ cluster { leader } }', {}, 1_000);
    return data.cluster.leader ?? undefined;
  } catch {
    return undefined;
  }
}

/** The leader every one of `urls` names (other than `not`, a node just killed). */
export async function agreedLeader(urls: readonly string[], token: string, not?: string, timeoutMs = 15_000): Promise<string> {
  return waitFor(
    async () => {
      const seen = await Promise.all(urls.map((url) => leaderOf(url, token)));
      return seen[0] && seen[0] !== not && seen.every((l) => l === seen[0]) ? seen[0] : undefined;
    },
    timeoutMs,
    `${urls.join(', ')} agree on a leader`,
  );
}

export const OPEN_SESSION = 'mutation($ttl: Int!) { openSession(ttlMs: $ttl) { id expiresAt } }';
export const KEEP_ALIVE = 'mutation($s: ID!) { keepAlive(sessionId: $s) { expiresAt } }';
export const CLOSE_SESSION = 'mutation($s: ID!) { closeSession(sessionId: $s) { state } }';
export const ACQUIRE =
  'mutation($name: String!, $s: ID!, $t: Int!, $r: String!) { acquireLock(name: $name, mode: EXCLUSIVE, sessionId: $s, timeoutMs: $t, requestId: $r) { status requestId fencingToken expiresAt } }';
export const RELEASE =
  'mutation($name: String!, $s: ID!, $f: Int64!, $r: String!) { releaseLock(name: $name, sessionId: $s, fencingToken: $f, requestId: $r) { remaining alreadyReleased } }';

export interface Acquisition {
  status: 'GRANTED' | 'WAITING';
  requestId: string;
  fencingToken: string | null;
  expiresAt: number | null;
}
