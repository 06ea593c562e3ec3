/** Read-only plain-data views of the internal records (JSON-safe: tokens as strings). */
import { holdMode, type LockRecord, type SessionRecord, type TableState } from './state.js';
import type { LockView, SessionView } from './types.js';

export function sessionView(s: SessionRecord): SessionView {
  return {
    sessionId: s.sessionId,
    owner: s.owner,
    ttlMs: s.ttlMs,
    expiresAt: s.expiresAt,
    state: s.state,
    holds: [...s.holds],
    waits: [...s.waits],
  };
}

export function lockView(state: TableState, lock: LockRecord): LockView {
  return {
    name: lock.name,
    holders: [...lock.holders.values()].map((h) => ({
      sessionId: h.sessionId,
      mode: holdMode(h),
      count: h.shared + h.exclusive,
      fencingToken: h.token.toString(),
    })),
    waiters: lock.waiters.flatMap((id) => {
      const r = state.requests.get(id);
      return r ? [{ requestId: r.requestId, sessionId: r.sessionId, mode: r.mode, arrival: r.arrival, deadline: r.deadline }] : [];
    }),
    lastFencingToken: (state.counters.get(lock.name) ?? 0n).toString(),
  };
}
