/**
 * The benchmarked operation: one small GraphQL mutation with variables, and the check that a
 * response to it is right. Every target (bare, ceiling, node over HTTP, node over graphql-ws)
 * is measured with exactly this request and verified with exactly this check, so a run that
 * measures 401s, GraphQL errors or empty bodies fails instead of printing a flattering number.
 */

export const PING_QUERY =
  'mutation Ping($message: String!) { ping(message: $message) { message nodeId receivedAt } }';
export const PING_VARIABLES = { message: 'hello' } as const;
export const PING_OPERATION_NAME = 'Ping';

/** The POST body, byte for byte as the brief gives it. */
export const PING_BODY = JSON.stringify({
  query: PING_QUERY,
  variables: PING_VARIABLES,
  operationName: PING_OPERATION_NAME,
});

/**
 * Why `result` (an `ExecutionResult`-shaped value) is not a valid answer to the ping, or
 * `undefined` when it is. Checks every field, so a partial answer counts as wrong.
 */
export function pingResultProblem(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return 'result is not an object';
  const { data, errors } = result as { data?: unknown; errors?: unknown };
  if (errors !== undefined) return `result has errors: ${JSON.stringify(errors).slice(0, 300)}`;
  if (typeof data !== 'object' || data === null) return 'result has no data';
  const ping = (data as { ping?: unknown }).ping;
  if (typeof ping !== 'object' || ping === null) return 'data.ping missing';
  const { message, nodeId, receivedAt } = ping as Record<string, unknown>;
  if (message !== PING_VARIABLES.message) return `data.ping.message is ${JSON.stringify(message)}`;
  if (typeof nodeId !== 'string' || nodeId === '') return 'data.ping.nodeId is not a non-empty string';
  if (typeof receivedAt !== 'number' || !Number.isFinite(receivedAt)) return 'data.ping.receivedAt is not a number';
  return undefined;
}

/** Same check on a raw HTTP response body. */
export function pingBodyProblem(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `body is not JSON: ${body.slice(0, 200)}`;
  }
  return pingResultProblem(parsed);
}
