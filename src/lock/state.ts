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
  /** Ids of the acquires counted on the hold, in grant order; a release finishes the last one. */
  readonly requests: string[];
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
  /** When the request finished: it failed, or the acquire it counted was released. */
  finishedAt?: number;
  /** A service-generated id: dropped when it finishes, never retried. */
  ephemeral?: true;
}

/** The answer of a release that carried a requestId (recorded when it answers OK). */
export interface ReleaseRecord {
  readonly requestId: string;
  readonly sessionId: string;
  readonly name: string;
  readonly token: bigint;
  readonly remaining: number;
  readonly alreadyReleased: boolean;
  /** A release is finished when it is recorded. */
  readonly finishedAt: number;
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
  /** When the session was closed or expired. */
  endedAt?: number;
  /** Ids of this session's request and release records (not in snapshots: rebuilt on restore). */
  readonly requests: Set<string>;
}

export interface TableOptions {
  readonly acquireLimit: number;
  readonly maxWaitersPerLock: number;
  readonly detectDeadlocks: boolean;
  readonly requestRetentionMs: number;
  readonly sessionRetentionMs: number;
}

/** A finished record or an ended session, and when it finished or ended. */
export interface GcEntry {
  readonly id: string;
  readonly at: number;
}

/** Entries in the order they were added, which is also the order of `at` (the clock never runs back). */
export interface GcQueue {
  items: GcEntry[];
  head: number;
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
  readonly releases: Map<string, ReleaseRecord>;
  /** What prune looks at: finished records (requests and releases) and ended sessions. Rebuilt on restore. */
  readonly gc: { readonly records: GcQueue; readonly sessions: GcQueue };
}

/** How long a finished request or release record is kept for retries. */
export const REQUEST_RETENTION_MS = 2 * 60_000;
/** How long an ended session stays readable. */
export const SESSION_RETENTION_MS = 60 * 60_000;

export const DEFAULT_OPTIONS: TableOptions = {
  acquireLimit: 1000,
  maxWaitersPerLock: 1000,
  detectDeadlocks: true,
  requestRetentionMs: REQUEST_RETENTION_MS,
  sessionRetentionMs: SESSION_RETENTION_MS,
};

export function emptyState(options: TableOptions): TableState {
  return {
    clock: 0,
    arrival: 0,
    options,
    sessions: new Map(),
    locks: new Map(),
    counters: new Map(),
    requests: new Map(),
    releases: new Map(),
    gc: { records: { items: [], head: 0 }, sessions: { items: [], head: 0 } },
  };
}

export function holdMode(hold: HoldRecord): LockMode {
  return hold.exclusive > 0 ? 'EXCLUSIVE' : 'SHARED';
}

/** A session may be granted only while it is open and its deadline lies ahead. */
export function isLive(session: SessionRecord, now: number): boolean {
  return session.state === 'OPEN' && session.expiresAt > now;
}
