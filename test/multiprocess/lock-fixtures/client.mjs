// GraphQL over HTTP for the fixture processes: one call with a deadline, errors as { code }.
export class CallError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export async function gql(url, token, query, variables = {}, timeoutMs = 5_000) {
  let body;
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await res.json();
  } catch (error) {
    throw new CallError('NETWORK', error instanceof Error ? error.message : String(error));
  }
  const first = body.errors?.[0];
  if (first) throw new CallError(first.extensions?.code ?? 'UNKNOWN', first.message);
  if (body.data === undefined) throw new CallError('UNKNOWN', 'no data');
  return body.data;
}

/** Worth retrying, with the same requestId, on this node or another. */
export const retryable = (error) => error instanceof CallError && (error.code === 'UNAVAILABLE' || error.code === 'NETWORK');

/** Calls on urls in turn until one answers; retries UNAVAILABLE and network errors (bounded). */
export async function gqlAny(urls, token, query, variables, timeoutMs = 5_000, tries = 20) {
  let last;
  for (let i = 0; i < tries; i++) {
    try {
      return await gql(urls[i % urls.length], token, query, variables, timeoutMs);
    } catch (error) {
      if (!retryable(error)) throw error;
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

/** Acquires an EXCLUSIVE lock; a retry repeats the requestId, a timed-out wait starts a new one. */
export async function acquire(urls, token, name, sessionId, timeoutMs, idPrefix) {
  const query =
    'mutation($name: String!, $s: ID!, $t: Int!, $r: String!) { acquireLock(name: $name, mode: EXCLUSIVE, sessionId: $s, timeoutMs: $t, requestId: $r) { status fencingToken expiresAt } }';
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const data = await gqlAny(urls, token, query, { name, s: sessionId, t: timeoutMs, r: `${idPrefix}-${attempt}` }, timeoutMs + 5_000);
      return data.acquireLock;
    } catch (error) {
      if (!(error instanceof CallError) || error.code !== 'LOCK_TIMEOUT') throw error;
    }
  }
  throw new Error(`no grant of ${name} in 10 attempts`);
}

export function report(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
}

/** Ends the process after `ms` whatever happens, so a forgotten fixture cannot linger. */
export function lifetime(ms) {
  setTimeout(() => {
    report('lifetime-exceeded');
    process.exit(3);
  }, ms).unref();
}
