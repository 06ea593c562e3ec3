// Types for client.mjs, which the fixture processes run as plain JavaScript.
export declare class CallError extends Error {
  constructor(code: string, message: string);
  readonly code: string;
}
export declare function gql(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
  timeoutMs?: number,
): Promise<unknown>;
export declare function retryable(error: unknown): boolean;
