/** graphql-ws clients for tests: connect with a token, collect results, close cleanly. */
import { createClient, type Client, type FormattedExecutionResult as ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

export function connect(httpUrl: string, authorization: string | undefined): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: authorization ? { authorization } : {},
    onNonLazyError: () => undefined,
  });
}

/** Runs one query or mutation and returns its single result. */
export function once<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<ExecutionResult<T, unknown>> {
  return new Promise((resolve, reject) => {
    let result: ExecutionResult<T, unknown> | undefined;
    client.subscribe<T>(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (value) => {
          result = value;
        },
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}

/** Waits for the socket to close and returns its close code. */
export function closeCodeOf(client: Client): Promise<number> {
  return new Promise((resolve) => {
    client.on('closed', (event) => resolve((event as { code: number }).code));
  });
}
