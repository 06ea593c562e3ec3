/**
 * Garbage collection: what keeps the table's memory bounded. A request record finishes when it
 * fails, or when the acquire it counted is released — a release undoes the hold's last-granted
 * acquire, and a hold that goes (released in full, closed, expired) finishes all of its own; a
 * release record is finished when it is made. A finished record is dropped `requestRetentionMs`
 * after it finished, an ended session `sessionRetentionMs` after it ended, together with any of
 * its records still there. Finishing appends to a queue; the stamps come from the clock, which never runs
 * back, so each queue is in stamp order and pruning looks at its head only: amortized O(1) per
 * record, and `garbageDue` is O(1). An entry whose record already went with its session is
 * skipped when it reaches the head (so `garbageDue` may answer true once for a prune that
 * removes nothing). The queues are not in snapshots: restore rebuilds them from the stamps.
 */
import type { Context } from './grants.js';
import type { GcEntry, GcQueue, HoldRecord, RequestRecord, SessionRecord, TableState } from './state.js';

export interface Pruned {
  readonly requests: number;
  readonly sessions: number;
}

export function finishRequest(ctx: Context, r: RequestRecord): void {
  if (r.finishedAt !== undefined) return;
  r.finishedAt = ctx.now;
  // Nobody can retry a generated id: keeping it would only grow the table and its snapshots.
  if (r.ephemeral === true) drop(ctx.state, r.requestId);
  else queueFinished(ctx, r.requestId);
}

/** Queues a record stamped `finishedAt = ctx.now`. */
export function queueFinished(ctx: Context, id: string): void {
  ctx.state.gc.records.items.push({ id, at: ctx.now });
}

/** Finishes the hold's last-granted acquires until `remaining` are left (0: the hold is gone). */
export function finishAcquires(ctx: Context, hold: HoldRecord, remaining: number): void {
  while (hold.requests.length > remaining) {
    const r = ctx.state.requests.get(hold.requests.pop()!);
    if (r) finishRequest(ctx, r);
  }
}

export function sessionEnded(ctx: Context, session: SessionRecord): void {
  session.endedAt = ctx.now;
  ctx.state.gc.sessions.items.push({ id: session.sessionId, at: ctx.now });
}

/** True when a prune at `now` has something to remove. */
export function isGarbageDue(state: TableState, now: number): boolean {
  const t = Math.max(state.clock, now);
  const r = peek(state.gc.records);
  const s = peek(state.gc.sessions);
  const { requestRetentionMs, sessionRetentionMs } = state.options;
  return (r !== undefined && r.at + requestRetentionMs <= t) || (s !== undefined && s.at + sessionRetentionMs <= t);
}

/** Drops every finished record and ended session whose retention has passed at `now`. */
export function collectGarbage(state: TableState, now: number): Pruned {
  const { requestRetentionMs, sessionRetentionMs } = state.options;
  let requests = 0;
  let sessions = 0;
  for (let e = peek(state.gc.sessions); e && e.at + sessionRetentionMs <= now; e = peek(state.gc.sessions)) {
    shift(state.gc.sessions);
    const s = state.sessions.get(e.id);
    if (!s || s.endedAt !== e.at) continue;
    for (const id of [...s.requests]) if (drop(state, id)) requests++;
    state.sessions.delete(e.id);
    sessions++;
  }
  for (let e = peek(state.gc.records); e && e.at + requestRetentionMs <= now; e = peek(state.gc.records)) {
    shift(state.gc.records);
    const r = state.requests.get(e.id) ?? state.releases.get(e.id);
    if (r?.finishedAt === e.at && drop(state, e.id)) requests++;
  }
  return { requests, sessions };
}

/**
 * After restore: the per-session record ids, the queues, and what old snapshots lack — the
 * acquires counted on each hold in `derive` (unfinished grants with its token, the newest beyond
 * its count taken as released) and the stamps, a missing one counting as the snapshot's clock.
 */
export function rebuildGc(state: TableState, derive: ReadonlySet<HoldRecord>): void {
  const now = state.clock;
  const attached = new Set<string>();
  for (const lock of state.locks.values()) {
    for (const hold of lock.holders.values()) if (!derive.has(hold)) for (const id of hold.requests) attached.add(id);
  }
  for (const r of state.requests.values()) {
    state.sessions.get(r.sessionId)?.requests.add(r.requestId);
    if (r.finishedAt !== undefined || r.state === 'WAITING' || attached.has(r.requestId)) continue;
    const hold = state.locks.get(r.name)?.holders.get(r.sessionId);
    if (r.state === 'GRANTED' && hold && hold.token === r.fencingToken && derive.has(hold)) hold.requests.push(r.requestId);
    else r.finishedAt = now;
  }
  for (const hold of derive) {
    while (hold.requests.length > hold.shared + hold.exclusive) state.requests.get(hold.requests.pop()!)!.finishedAt = now;
  }
  for (const r of state.releases.values()) state.sessions.get(r.sessionId)?.requests.add(r.requestId);
  for (const s of state.sessions.values()) if (s.state !== 'OPEN') s.endedAt ??= now;

  const records: GcEntry[] = [];
  for (const r of [...state.requests.values(), ...state.releases.values()]) {
    if (r.finishedAt !== undefined) records.push({ id: r.requestId, at: r.finishedAt });
  }
  const sessions: GcEntry[] = [];
  for (const s of state.sessions.values()) if (s.endedAt !== undefined) sessions.push({ id: s.sessionId, at: s.endedAt });
  // Stable sorts: equal stamps fall due together, so their order does not matter.
  state.gc.records.items = records.sort((a, b) => a.at - b.at);
  state.gc.records.head = 0;
  state.gc.sessions.items = sessions.sort((a, b) => a.at - b.at);
  state.gc.sessions.head = 0;
}

function drop(state: TableState, id: string): boolean {
  const r = state.requests.get(id) ?? state.releases.get(id);
  if (!r) return false;
  state.requests.delete(id);
  state.releases.delete(id);
  state.sessions.get(r.sessionId)?.requests.delete(id);
  return true;
}

function peek(q: GcQueue): GcEntry | undefined {
  return q.items[q.head];
}

function shift(q: GcQueue): void {
  q.head++;
  // Compact once the consumed part is at least half of the array.
  if (q.head * 2 >= q.items.length) {
    q.items = q.items.slice(q.head);
    q.head = 0;
  }
}
