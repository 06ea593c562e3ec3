/**
 * The table's internal records. Maps and Sets keep insertion order, and every iteration
 * in the table goes through them, so replicas that apply the same commands iterate in
 * the same order; snapshots store them as arrays in that order to keep it across restore.
 */
import type { LockError, LockMode, SessionState } from './types.js';

export interface HoldRecord {
  readonly sessionId: string;
  readonly token: bigint;
  /** Re-entrant counts per mode; the hold is EXCLUSIVE while `exclusive > 0`. */
  shared: number;
  exclusive: number;
}

export interface LockRecord {
  readonly name: string;
  /** By session; a session has at most one hold per lock. */
  readonly holders: Map<string, HoldRecord>;
  /** Request ids in queue order. */
  waiters: string[];
}

export interface RequestRecord {
  readonly requestId: string;
  readonly sessionId: string;
  readonly name: string;
  readonly mode: LockMode;
  /** Arrival order of waiting requests (0 for requests granted at once). */
  readonly arrival: number;
  readonly deadline: number;
  state: 'WAITING' | 'GRANTED' | 'FAILED';
  fencingToken?: bigint;
  expiresAt?: number;
  error?: LockError;
}

export interface SessionRecord {
  readonly sessionId: string;
  readonly owner: string;
  readonly ttlMs: number;
  expiresAt: number;
  state: SessionState;
  /** Names of the locks this session holds. */
  readonly holds: Set<string>;
  /** Ids of this session's waiting requests. */
  readonly waits: Set<string>;
  /** Per lock name, the token of the last hold this session released in full (retries). */
  readonly released: Map<string, bigint>;
}

export interface TableOptions {
  readonly acquireLimit: number;
  readonly maxWaitersPerLock: number;
  readonly detectDeadlocks: boolean;
}

export interface TableState {
  /** State-machine time: the largest `now` applied; never runs back. */
  clock: number;
  /** Last arrival number handed to a waiting request. */
  arrival: number;
  readonly options: TableOptions;
  readonly sessions: Map<string, SessionRecord>;
  /** Only locks with holders or waiters. */
  readonly locks: Map<string, LockRecord>;
  /** Last fencing token per lock name; kept after the lock empties so tokens only grow. */
  readonly counters: Map<string, bigint>;
  readonly requests: Map<string, RequestRecord>;
}

export const DEFAULT_OPTIONS: TableOptions = { acquireLimit: 1000, maxWaitersPerLock: 1000, detectDeadlocks: true };

export function emptyState(options: TableOptions): TableState {
  return {
    clock: 0,
    arrival: 0,
    options,
    sessions: new Map(),
    locks: new Map(),
    counters: new Map(),
    requests: new Map(),
  };
}

export function holdMode(hold: HoldRecord): LockMode {
  return hold.exclusive > 0 ? 'EXCLUSIVE' : 'SHARED';
}

/** A session may be granted only while it is open and its deadline lies ahead. */
export function isLive(session: SessionRecord, now: number): boolean {
  return session.state === 'OPEN' && session.expiresAt > now;
}
