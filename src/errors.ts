/**
 * The one registry of error codes a user can see. Resolvers and services throw
 * `appError(code, ...)`; yoga masks every other error as an unexpected one, so a client
 * only ever branches on the codes listed here.
 */
import { GraphQLError } from 'graphql';

interface ErrorSpec {
  readonly message: string;
  /** True when the same call may succeed if retried later unchanged. */
  readonly retryable: boolean;
  /** HTTP status for errors that reject the whole request; field errors leave it at 200. */
  readonly httpStatus?: number;
}

export const ERROR_CODES = {
  UNAUTHENTICATED: {
    message: 'A valid bearer token is required',
    retryable: false,
    httpStatus: 401,
  },
  FORBIDDEN: { message: 'The token lacks the scope this field needs', retryable: false },
  BAD_USER_INPUT: { message: 'Invalid input', retryable: false },
  NOT_FOUND: { message: 'Not found', retryable: false },
  UNAVAILABLE: { message: 'The cluster cannot serve this request right now', retryable: true },
  INTERNAL: { message: 'Unexpected error', retryable: false },
  SESSION_NOT_FOUND: { message: 'No such lock session', retryable: false },
  SESSION_EXPIRED: { message: 'The lock session has expired or was closed', retryable: false },
  NOT_HELD: { message: 'The session does not hold this lock', retryable: false },
  STALE_FENCING_TOKEN: { message: 'The fencing token is not the current hold’s', retryable: false },
  LOCK_TIMEOUT: { message: 'The lock was not granted within the timeout', retryable: true },
  DEADLOCK: { message: 'The request was chosen as a deadlock victim', retryable: true },
  TOO_MANY_WAITERS: { message: 'Too many requests are waiting for this lock', retryable: true },
  ACQUIRE_LIMIT: { message: 'The session holds this lock too many times', retryable: false },
  CURSOR_EXPIRED: { message: 'The cursor is older than the retained event history', retryable: false },
  SUBSCRIBER_TOO_SLOW: { message: 'The subscriber fell too far behind the event stream', retryable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  /** Extra fields for `extensions` (e.g. the cycle of a deadlock). */
  readonly details?: Record<string, unknown>;
  readonly cause?: unknown;
}

/** Builds the GraphQL error for a registered code, with `extensions.code` and `retryable`. */
export function appError(code: ErrorCode, message?: string, options: AppErrorOptions = {}): GraphQLError {
  const spec: ErrorSpec = ERROR_CODES[code];
  const extensions: Record<string, unknown> = {
    code,
    retryable: spec.retryable,
    ...options.details,
  };
  if (spec.httpStatus !== undefined) {
    extensions['http'] = {
      status: spec.httpStatus,
      ...(code === 'UNAUTHENTICATED' ? { headers: { 'WWW-Authenticate': 'Bearer' } } : {}),
    };
  }
  return new GraphQLError(message ?? spec.message, {
    extensions,
    originalError: options.cause instanceof Error ? options.cause : undefined,
  });
}

export function errorCodeOf(error: unknown): string | undefined {
  if (error instanceof GraphQLError) {
    const code = error.extensions['code'];
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
