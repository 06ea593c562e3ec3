/**
 * Snapshot format: plain JSON-safe data, bigints as decimal strings, every Map and Set as an
 * array in its insertion order so a restored table iterates — and so decides — exactly as
 * the original. Undrained events are not state and are not included.
 */
import { DEFAULT_OPTIONS, type LockRecord, type RequestRecord, type SessionRecord, type TableOptions, type TableState } from './state.js';
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
}
interface LockData {
  name: string;
  holders: { sessionId: string; token: string; shared: number; exclusive: number }[];
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
}

export function toSnapshot(s: TableState): SnapshotData {
  return {
    format: SNAPSHOT_FORMAT,
    clock: s.clock,
    arrival: s.arrival,
    options: { ...s.options },
    sessions: [...s.sessions.values()].map((x) => ({
      sessionId: x.sessionId,
      owner: x.owner,
      ttlMs: x.ttlMs,
      expiresAt: x.expiresAt,
      state: x.state,
      holds: [...x.holds],
      waits: [...x.waits],
      released: [...x.released].map(([n, t]) => [n, t.toString()]),
    })),
    locks: [...s.locks.values()].map((l) => ({
      name: l.name,
      holders: [...l.holders.values()].map((h) => ({
        sessionId: h.sessionId,
        token: h.token.toString(),
        shared: h.shared,
        exclusive: h.exclusive,
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
      return d;
    }),
  };
}

export function fromSnapshot(data: unknown): TableState {
  const d = data as SnapshotData;
  if (!d || typeof d !== 'object' || d.format !== SNAPSHOT_FORMAT) {
    throw new Error(`not a lock table snapshot (expected format ${SNAPSHOT_FORMAT})`);
  }
  const sessions = new Map<string, SessionRecord>();
  for (const x of d.sessions) {
    sessions.set(x.sessionId, {
      sessionId: x.sessionId,
      owner: x.owner,
      ttlMs: x.ttlMs,
      expiresAt: x.expiresAt,
      state: x.state,
      holds: new Set(x.holds),
      waits: new Set(x.waits),
      released: new Map(x.released.map(([n, t]) => [n, BigInt(t)])),
    });
  }
  const locks = new Map<string, LockRecord>();
  for (const l of d.locks) {
    locks.set(l.name, {
      name: l.name,
      holders: new Map(l.holders.map((h) => [h.sessionId, { ...h, token: BigInt(h.token) }])),
      waiters: [...l.waiters],
    });
  }
  const requests = new Map<string, RequestRecord>();
  for (const r of d.requests) {
    const { fencingToken, ...rest } = r;
    const rec: RequestRecord = { ...rest };
    if (fencingToken !== undefined) rec.fencingToken = BigInt(fencingToken);
    requests.set(r.requestId, rec);
  }
  return {
    clock: d.clock,
    arrival: d.arrival,
    options: { ...DEFAULT_OPTIONS, ...d.options },
    sessions,
    locks,
    counters: new Map(d.counters.map(([n, t]) => [n, BigInt(t)])),
    requests,
  };
}
