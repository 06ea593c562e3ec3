/**
 * Error results of the lock table. The table never throws on a bad command: it answers
 * `{ ok: false, code, message, ...details }` and leaves its state unchanged, so one bad
 * log entry cannot stop a replica. The codes are meant to join `src/errors.ts` when the
 * table is wired into the API (not done here: that file is outside src/lock).
 */
import type { LockError, LockErrorCode } from './types.js';

export function lockError(code: LockErrorCode, message: string, details: Record<string, unknown> = {}): LockError {
  return { ...details, ok: false, code, message };
}

export function badInput(message: string, details: Record<string, unknown> = {}): LockError {
  return lockError('BAD_INPUT', message, details);
}
