/**
 * Plain-data types of the lock table: commands in, results and events out. Everything a
 * caller sees is JSON-safe (fencing tokens travel as decimal strings; the table keeps them
 * as bigint inside), so results can be replicated, logged and sent to clients unchanged.
 */

export type LockMode = 'SHARED' | 'EXCLUSIVE';

/** A 64-bit fencing token as a decimal string (bigint inside the table). */
export type FencingToken = string;

export type LockErrorCode =
  | 'SESSION_NOT_FOUND'
  | 'SESSION_EXPIRED'
  | 'NOT_HELD'
  | 'STALE_FENCING_TOKEN'
  | 'LOCK_TIMEOUT'
  | 'DEADLOCK'
  | 'BAD_INPUT'
  | 'TOO_MANY_WAITERS'
  | 'ACQUIRE_LIMIT'
  /** The caller does not own the session (checked by the meta module, not the table). */
  | 'FORBIDDEN';

export interface LockError {
  readonly ok: false;
  readonly code: LockErrorCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

export type Result<T> = ({ readonly ok: true } & T) | LockError;

export type SessionState = 'OPEN' | 'EXPIRED' | 'CLOSED';

export interface LockTableOptions {
  /** Most acquires one session may hold on one lock at once (re-entrant count). */
  readonly acquireLimit?: number;
  /** Most waiters queued on one lock; more are refused with TOO_MANY_WAITERS. */
  readonly maxWaitersPerLock?: number;
  /**
   * Deadlock detection on added waits (default true). Off only to let tests compare the
   * detector with an independent cycle finder on the same state.
   */
  readonly detectDeadlocks?: boolean;
  /** How long a finished request or release record is kept for retries (default 10 min). */
  readonly requestRetentionMs?: number;
  /** How long an ended session stays readable (default 1 h). */
  readonly sessionRetentionMs?: number;
}

// ---- commands -------------------------------------------------------------------------

export interface OpenSessionCommand {
  readonly sessionId: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly now: number;
}
export interface KeepAliveCommand {
  readonly sessionId: string;
  readonly now: number;
}
export type CloseSessionCommand = KeepAliveCommand;
export interface ExpireSessionsCommand {
  readonly now: number;
}
export interface ExtendAllCommand {
  readonly now: number;
  /** Every open deadline becomes at least now + max(session TTL, ttlFloor). */
  readonly ttlFloor: number;
}
export interface AcquireCommand {
  readonly requestId: string;
  readonly sessionId: string;
  readonly name: string;
  readonly mode: LockMode;
  readonly now: number;
  /** 0 = try-lock. */
  readonly timeoutMs: number;
}
export interface CancelWaitCommand {
  readonly requestId: string;
  readonly now: number;
  readonly reason: 'TIMEOUT' | 'CANCELLED';
}
export interface ReleaseCommand {
  /** When set, an OK answer is recorded under it: a retry answers it again, counting nothing down. */
  readonly requestId?: string;
  readonly sessionId: string;
  readonly name: string;
  readonly fencingToken: FencingToken;
  readonly now: number;
}
export interface DowngradeCommand {
  readonly sessionId: string;
  readonly name: string;
  readonly now: number;
}
export interface PruneCommand {
  readonly now: number;
}
export interface CheckFenceQuery {
  readonly name: string;
  readonly fencingToken: FencingToken;
}

// ---- results --------------------------------------------------------------------------

export type AcquireOutcome =
  | { readonly status: 'GRANTED'; readonly fencingToken: FencingToken; readonly expiresAt: number }
  | { readonly status: 'WAITING' };

export type AcquireResult = Result<AcquireOutcome>;
export type SessionResult = Result<{ readonly session: SessionView }>;
export type KeepAliveResult = Result<{ readonly expiresAt: number }>;
export type ExpireResult = Result<{ readonly expired: readonly string[] }>;
export type CancelWaitResult = Result<{
  /** True when this command ended the wait; false when a grant or another end came first. */
  readonly cancelled: boolean;
  /** The request's answer after this command (undefined for an unknown request). */
  readonly outcome: AcquireResult | undefined;
}>;
export type ReleaseResult = Result<{
  /** Acquires still counted on the hold (0 = the hold is gone). */
  readonly remaining: number;
  /** True when the token had already been released (a retried release). */
  readonly alreadyReleased: boolean;
}>;
export type DowngradeResult = Result<{ readonly mode: LockMode }>;
/** How many records (requests and releases) and ended sessions were dropped. */
export type PruneResult = Result<{ readonly requests: number; readonly sessions: number }>;
export type CheckFenceResult = Result<{ readonly valid: boolean; readonly mode?: LockMode }>;

// ---- reads ----------------------------------------------------------------------------

export interface HolderView {
  readonly sessionId: string;
  readonly mode: LockMode;
  readonly count: number;
  readonly fencingToken: FencingToken;
}
export interface WaiterView {
  readonly requestId: string;
  readonly sessionId: string;
  readonly mode: LockMode;
  readonly arrival: number;
  readonly deadline: number;
}
export interface LockView {
  readonly name: string;
  readonly holders: readonly HolderView[];
  readonly waiters: readonly WaiterView[];
  /** The last fencing token issued on this name ("0" when none). */
  readonly lastFencingToken: FencingToken;
}
export interface SessionView {
  readonly sessionId: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly expiresAt: number;
  readonly state: SessionState;
  readonly holds: readonly string[];
  readonly waits: readonly string[];
}
export interface WaitForEdge {
  readonly from: string;
  readonly to: string;
  readonly requestId: string;
  readonly name: string;
  /** HOLDER: `to` holds the lock; SOFT: `to` waits ahead in the queue with a conflicting request. */
  readonly kind: 'HOLDER' | 'SOFT';
}

// ---- events ---------------------------------------------------------------------------

export type LockEvent =
  | {
      readonly type: 'GRANTED';
      readonly requestId: string;
      readonly sessionId: string;
      readonly name: string;
      readonly mode: LockMode;
      readonly fencingToken: FencingToken;
      readonly reentrant: boolean;
      readonly queued: boolean;
    }
  | {
      readonly type: 'RELEASED';
      readonly sessionId: string;
      readonly name: string;
      readonly fencingToken: FencingToken;
      readonly remaining: number;
    }
  | { readonly type: 'DOWNGRADED'; readonly sessionId: string; readonly name: string; readonly fencingToken: FencingToken }
  | { readonly type: 'EXPIRED'; readonly sessionId: string }
  | { readonly type: 'CLOSED'; readonly sessionId: string }
  | { readonly type: 'LOST'; readonly sessionId: string; readonly name: string; readonly fencingToken: FencingToken }
  | {
      readonly type: 'DEADLOCK_VICTIM';
      readonly requestId: string;
      readonly sessionId: string;
      readonly name: string;
      readonly cycle: readonly string[];
    }
  | {
      readonly type: 'WAIT_CANCELLED';
      readonly requestId: string;
      readonly sessionId: string;
      readonly name: string;
      readonly reason: 'TIMEOUT' | 'CANCELLED' | 'SESSION_EXPIRED' | 'SESSION_CLOSED';
    };
