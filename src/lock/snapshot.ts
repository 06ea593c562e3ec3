/**
 * Snapshot format: plain JSON-safe data, bigints as decimal strings, every Map and Set as an
 * array in its insertion order so a restored table iterates — and so decides — exactly as
 * the original. Undrained events are not state and are not included. Fields marked "since
 * gc" are missing from older snapshots of the same format; restore derives them (gc.ts).
 */
import { rebuildGc } from './gc.js';
import {
  DEFAULT_OPTIONS,
  emptyState,
  type HoldRecord,
  type LockRecord,
  type ReleaseRecord,
  type RequestRecord,
  type SessionRecord,
  type TableOptions,
  type TableState,
} from './state.js';
import type { LockError, LockMode, SessionState } from './types.js';

export const SNAPSHOT_FORMAT = 'distsync.lock/1';

interface SessionData {
  sessionId: string;
  owner: string;
  ttlMs: number;
  expiresAt: number;
  state: SessionState;
  holds: string[];
  waits: string[];
  released: [string, string][];
  /** Since gc. */
  endedAt?: number;
}
interface LockData {
  name: string;
  /** `requests` since gc. */
  holders: { sessionId: string; token: string; shared: number; exclusive: number; requests?: string[] }[];
  waiters: string[];
}
interface RequestData {
  requestId: string;
  sessionId: string;
  name: string;
  mode: LockMode;
  arrival: number;
  deadline: number;
  state: RequestRecord['state'];
  fencingToken?: string;
  expiresAt?: number;
  error?: LockError;
  /** Since gc. */
  finishedAt?: number;
  ephemeral?: true;
}
interface ReleaseData {
  requestId: string;
  sessionId: string;
  name: string;
  token: string;
  remaining: number;
  alreadyReleased: boolean;
  finishedAt: number;
}
export interface SnapshotData {
  format: typeof SNAPSHOT_FORMAT;
  clock: number;
  arrival: number;
  options: TableOptions;
  sessions: SessionData[];
  locks: LockData[];
  counters: [string, string][];
  requests: RequestData[];
  /** Since gc. */
  releases?: ReleaseData[];
}

export function toSnapshot(s: TableState): SnapshotData {
  return {
    format: SNAPSHOT_FORMAT,
    clock: s.clock,
    arrival: s.arrival,
    options: { ...s.options },
    sessions: [...s.sessions.values()].map((x) => {
      const d: SessionData = {
        sessionId: x.sessionId,
        owner: x.owner,
        ttlMs: x.ttlMs,
        expiresAt: x.expiresAt,
        state: x.state,
        holds: [...x.holds],
        waits: [...x.waits],
        released: [...x.released].map(([n, t]) => [n, t.toString()]),
      };
      if (x.endedAt !== undefined) d.endedAt = x.endedAt;
      return d;
    }),
    locks: [...s.locks.values()].map((l) => ({
      name: l.name,
      holders: [...l.holders.values()].map((h) => ({
        sessionId: h.sessionId,
        token: h.token.toString(),
        shared: h.shared,
        exclusive: h.exclusive,
        requests: [...h.requests],
      })),
      waiters: [...l.waiters],
    })),
    counters: [...s.counters].map(([n, t]) => [n, t.toString()]),
    requests: [...s.requests.values()].map((r) => {
      const d: RequestData = {
        requestId: r.requestId,
        sessionId: r.sessionId,
        name: r.name,
        mode: r.mode,
        arrival: r.arrival,
        deadline: r.deadline,
        state: r.state,
      };
      if (r.fencingToken !== undefined) d.fencingToken = r.fencingToken.toString();
      if (r.expiresAt !== undefined) d.expiresAt = r.expiresAt;
      if (r.error !== undefined) d.error = r.error;
      if (r.finishedAt !== undefined) d.finishedAt = r.finishedAt;
      if (r.ephemeral === true) d.ephemeral = true;
      return d;
    }),
    releases: [...s.releases.values()].map((r) => ({ ...r, token: r.token.toString() })),
  };
}

export function fromSnapshot(data: unknown): TableState {
  const d = data as SnapshotData;
  if (!d || typeof d !== 'object' || d.format !== SNAPSHOT_FORMAT) {
    throw new Error(`not a lock table snapshot (expected format ${SNAPSHOT_FORMAT})`);
  }
  const state: TableState = {
    ...emptyState({ ...DEFAULT_OPTIONS, ...d.options }),
    clock: d.clock,
    arrival: d.arrival,
    counters: new Map(d.counters.map(([n, t]) => [n, BigInt(t)])),
  };
  for (const x of d.sessions) {
    const session: SessionRecord = {
      sessionId: x.sessionId,
      owner: x.owner,
      ttlMs: x.ttlMs,
      expiresAt: x.expiresAt,
      state: x.state,
      holds: new Set(x.holds),
      waits: new Set(x.waits),
      released: new Map(x.released.map(([n, t]) => [n, BigInt(t)])),
      requests: new Set(),
    };
    if (x.endedAt !== undefined) session.endedAt = x.endedAt;
    state.sessions.set(x.sessionId, session);
  }
  // Holds of an older snapshot have no list of their acquires: rebuildGc derives it.
  const derive = new Set<HoldRecord>();
  for (const l of d.locks) {
    const lock: LockRecord = { name: l.name, holders: new Map(), waiters: [...l.waiters] };
    for (const h of l.holders) {
      const { sessionId, shared, exclusive } = h;
      const hold: HoldRecord = { sessionId, token: BigInt(h.token), shared, exclusive, requests: [...(h.requests ?? [])] };
      if (h.requests === undefined) derive.add(hold);
      lock.holders.set(sessionId, hold);
    }
    state.locks.set(l.name, lock);
  }
  for (const r of d.requests) {
    const { fencingToken, ...rest } = r;
    const rec: RequestRecord = { ...rest };
    if (fencingToken !== undefined) rec.fencingToken = BigInt(fencingToken);
    state.requests.set(r.requestId, rec);
  }
  for (const r of d.releases ?? []) {
    const rec: ReleaseRecord = { ...r, token: BigInt(r.token) };
    state.releases.set(r.requestId, rec);
  }
  rebuildGc(state, derive);
  return state;
}
