/**
 * The lock table: a deterministic state machine applied from the Raft log on every replica.
 * Guarantees: the same command sequence gives the same state, results and events on every
 * replica and across snapshot/restore; a refused command leaves the state unchanged; a
 * grant is never made to a session that is closed, expired, or past its deadline; fencing
 * tokens strictly increase per lock name. Assumes: time comes only from each command's
 * `now` (the table's clock never runs back: it uses the largest `now` seen); no I/O.
 * Rules are described in README.md beside this file.
 */
import { findCycleThrough, chooseVictim, cycleSessions } from './deadlock.js';
import { badInput, lockError } from './errors.js';
import { collectGarbage, finishAcquires, isGarbageDue } from './gc.js';
import { fitsEarlierWaiters, fitsHolders, insertPosition } from './queue.js';
import { addHold, grantWaiters, removeWaiter, type Context } from './grants.js';
import { answerOf, recordRelease, recordRequest, releaseAnswer } from './requests.js';
import { endSession } from './sessions.js';
import { fromSnapshot, toSnapshot } from './snapshot.js';
import {
  DEFAULT_OPTIONS,
  emptyState,
  holdMode,
  isLive,
  type LockRecord,
  type TableState,
} from './state.js';
import type {
  AcquireCommand,
  AcquireResult,
  CancelWaitCommand,
  CancelWaitResult,
  CheckFenceQuery,
  CheckFenceResult,
  CloseSessionCommand,
  DowngradeCommand,
  DowngradeResult,
  ExpireResult,
  ExpireSessionsCommand,
  ExtendAllCommand,
  KeepAliveCommand,
  KeepAliveResult,
  LockEvent,
  LockTableOptions,
  LockView,
  OpenSessionCommand,
  PruneCommand,
  PruneResult,
  ReleaseCommand,
  ReleaseResult,
  SessionResult,
  SessionView,
  WaitForEdge,
} from './types.js';
import { checkId, checkMode, checkName, checkTime, parseToken } from './validate.js';
import { lockView, sessionView } from './views.js';
import { waitForGraph } from './wait-for-graph.js';

export class LockTable {
  private state: TableState;
  private events: LockEvent[] = [];

  constructor(options: LockTableOptions = {}) {
    const acquireLimit = options.acquireLimit ?? DEFAULT_OPTIONS.acquireLimit;
    const maxWaitersPerLock = options.maxWaitersPerLock ?? DEFAULT_OPTIONS.maxWaitersPerLock;
    if (!Number.isSafeInteger(acquireLimit) || acquireLimit < 1) throw new RangeError('acquireLimit must be ≥ 1');
    if (!Number.isSafeInteger(maxWaitersPerLock) || maxWaitersPerLock < 1) {
      throw new RangeError('maxWaitersPerLock must be ≥ 1');
    }
    const detectDeadlocks = options.detectDeadlocks ?? DEFAULT_OPTIONS.detectDeadlocks;
    const requestRetentionMs = options.requestRetentionMs ?? DEFAULT_OPTIONS.requestRetentionMs;
    const sessionRetentionMs = options.sessionRetentionMs ?? DEFAULT_OPTIONS.sessionRetentionMs;
    for (const [what, ms] of [['requestRetentionMs', requestRetentionMs], ['sessionRetentionMs', sessionRetentionMs]] as const) {
      if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${what} must be ≥ 0`);
    }
    this.state = emptyState({ acquireLimit, maxWaitersPerLock, detectDeadlocks, requestRetentionMs, sessionRetentionMs });
  }

  static restore(data: unknown): LockTable {
    const table = new LockTable();
    table.state = fromSnapshot(data);
    return table;
  }

  snapshot(): unknown {
    return toSnapshot(this.state);
  }

  /** Returns and forgets the events appended since the last drain, in order. */
  drainEvents(): LockEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  // ---- sessions -----------------------------------------------------------------------

  openSession(cmd: OpenSessionCommand): SessionResult {
    const bad = checkId('sessionId', cmd.sessionId) ?? checkId('owner', cmd.owner) ?? checkTime('now', cmd.now);
    if (bad) return bad;
    if (!Number.isSafeInteger(cmd.ttlMs) || cmd.ttlMs < 1) return badInput('ttlMs must be a positive integer');
    const existing = this.state.sessions.get(cmd.sessionId);
    if (existing) {
      // A retried open of the same session answers again; any other reuse of the id is refused.
      if (existing.owner === cmd.owner && existing.ttlMs === cmd.ttlMs) return { ok: true, session: sessionView(existing) };
      return badInput('sessionId is already in use', { sessionId: cmd.sessionId });
    }
    const now = this.advance(cmd.now);
    const session = {
      sessionId: cmd.sessionId,
      owner: cmd.owner,
      ttlMs: cmd.ttlMs,
      expiresAt: now + cmd.ttlMs,
      state: 'OPEN' as const,
      holds: new Set<string>(),
      waits: new Set<string>(),
      released: new Map<string, bigint>(),
      requests: new Set<string>(),
    };
    this.state.sessions.set(session.sessionId, session);
    return { ok: true, session: sessionView(session) };
  }

  keepAlive(cmd: KeepAliveCommand): KeepAliveResult {
    const bad = checkId('sessionId', cmd.sessionId) ?? checkTime('now', cmd.now);
    if (bad) return bad;
    const session = this.state.sessions.get(cmd.sessionId);
    if (!session) return notFound(cmd.sessionId);
    const now = Math.max(this.state.clock, cmd.now);
    if (!isLive(session, now)) return expired(cmd.sessionId);
    this.advance(now);
    session.expiresAt = Math.max(session.expiresAt, now + session.ttlMs);
    return { ok: true, expiresAt: session.expiresAt };
  }

  closeSession(cmd: CloseSessionCommand): SessionResult {
    const bad = checkId('sessionId', cmd.sessionId) ?? checkTime('now', cmd.now);
    if (bad) return bad;
    const session = this.state.sessions.get(cmd.sessionId);
    if (!session) return notFound(cmd.sessionId);
    const now = this.advance(cmd.now);
    if (session.state === 'OPEN') endSession(this.ctx(now), session, 'CLOSED');
    return { ok: true, session: sessionView(session) };
  }

  /** Leader-proposed: expires every open session whose deadline is ≤ now, in open order, then prunes. */
  expireSessions(cmd: ExpireSessionsCommand): ExpireResult {
    const bad = checkTime('now', cmd.now);
    if (bad) return bad;
    const now = this.advance(cmd.now);
    const due = [...this.state.sessions.values()].filter((s) => s.state === 'OPEN' && s.expiresAt <= now);
    for (const s of due) endSession(this.ctx(now), s, 'EXPIRED');
    collectGarbage(this.state, now);
    return { ok: true, expired: due.map((s) => s.sessionId) };
  }

  /** Proposed by a new leader first: every open deadline becomes ≥ now + max(TTL, ttlFloor). */
  extendAll(cmd: ExtendAllCommand): ExpireResult {
    const bad = checkTime('now', cmd.now) ?? checkTime('ttlFloor', cmd.ttlFloor);
    if (bad) return bad;
    const now = this.advance(cmd.now);
    for (const s of this.state.sessions.values()) {
      if (s.state === 'OPEN') s.expiresAt = Math.max(s.expiresAt, now + Math.max(s.ttlMs, cmd.ttlFloor));
    }
    // Waiters of sessions that were past their deadline could not be granted; now they may.
    for (const lock of [...this.state.locks.values()]) grantWaiters(this.ctx(now), lock);
    return { ok: true, expired: [] };
  }

  // ---- acquire / cancel ---------------------------------------------------------------

  acquire(cmd: AcquireCommand): AcquireResult {
    const bad =
      checkId('requestId', cmd.requestId) ??
      checkId('sessionId', cmd.sessionId) ??
      checkName(cmd.name) ??
      checkMode(cmd.mode) ??
      checkTime('timeoutMs', cmd.timeoutMs) ??
      checkTime('now', cmd.now);
    if (bad) return bad;
    const { state } = this;
    const previous = state.requests.get(cmd.requestId);
    if (previous) {
      if (previous.sessionId !== cmd.sessionId || previous.name !== cmd.name || previous.mode !== cmd.mode) {
        return badInput('requestId was used for a different request', { requestId: cmd.requestId });
      }
      return answerOf(previous);
    }
    if (state.releases.has(cmd.requestId)) return badInput('requestId was used for a different request', { requestId: cmd.requestId });
    const session = state.sessions.get(cmd.sessionId);
    if (!session) return notFound(cmd.sessionId);
    const now = Math.max(state.clock, cmd.now);
    if (!isLive(session, now)) return expired(cmd.sessionId);

    const lock = state.locks.get(cmd.name);
    const own = lock?.holders.get(cmd.sessionId);
    const { acquireLimit, maxWaitersPerLock } = state.options;
    if (own && own.shared + own.exclusive >= acquireLimit) {
      return lockError('ACQUIRE_LIMIT', `at most ${acquireLimit} acquires of one lock per session`, { name: cmd.name });
    }
    if (own && (holdMode(own) === 'EXCLUSIVE' || cmd.mode === 'SHARED')) {
      // Re-entry within what is held: always granted, same token.
      this.advance(now);
      if (cmd.mode === 'SHARED') own.shared++;
      else own.exclusive++;
      own.requests.push(cmd.requestId);
      return answerOf(recordRequest(this.ctx(now), cmd, 0, 'GRANTED', own.token, session.expiresAt, true));
    }
    for (const id of session.waits) {
      if (state.requests.get(id)?.name === cmd.name) {
        return badInput('the session already waits on this lock', { name: cmd.name, waitingRequestId: id });
      }
    }
    const position = insertPosition(lock, state.requests, cmd.sessionId);
    if (fitsHolders(lock, cmd.sessionId, cmd.mode) && fitsEarlierWaiters(lock, state.requests, position, cmd.mode)) {
      this.advance(now);
      const target = this.lockFor(cmd.name);
      const token = addHold(this.ctx(now), target, cmd.sessionId, cmd.mode, cmd.requestId);
      return answerOf(recordRequest(this.ctx(now), cmd, 0, 'GRANTED', token, session.expiresAt, false));
    }
    if (cmd.timeoutMs === 0) return lockError('LOCK_TIMEOUT', 'the lock is not available (try-lock)', { name: cmd.name });
    if ((lock?.waiters.length ?? 0) >= maxWaitersPerLock) {
      return lockError('TOO_MANY_WAITERS', `at most ${maxWaitersPerLock} waiters per lock`, { name: cmd.name });
    }
    this.advance(now);
    const request = recordRequest(this.ctx(now), cmd, ++state.arrival, 'WAITING', undefined, undefined, false);
    this.lockFor(cmd.name).waiters.splice(position, 0, cmd.requestId);
    session.waits.add(cmd.requestId);
    this.breakDeadlocks(cmd.sessionId, now);
    return answerOf(request);
  }

  /** Ends a wait unless a grant (or another end) applied first; then it only reports. */
  cancelWait(cmd: CancelWaitCommand): CancelWaitResult {
    const bad = checkId('requestId', cmd.requestId) ?? checkTime('now', cmd.now);
    if (bad) return bad;
    if (cmd.reason !== 'TIMEOUT' && cmd.reason !== 'CANCELLED') return badInput('reason must be TIMEOUT or CANCELLED');
    const request = this.state.requests.get(cmd.requestId);
    if (!request) return { ok: true, cancelled: false, outcome: undefined };
    if (cmd.sessionId !== undefined && request.sessionId !== cmd.sessionId) {
      return badInput('the request belongs to another session', { requestId: cmd.requestId });
    }
    if (request.state !== 'WAITING') return { ok: true, cancelled: false, outcome: answerOf(request) };
    const now = this.advance(cmd.now);
    const message = cmd.reason === 'TIMEOUT' ? 'timed out waiting for the lock' : 'the wait was cancelled';
    removeWaiter(this.ctx(now), request, lockError('LOCK_TIMEOUT', message, { name: request.name, reason: cmd.reason }));
    this.events.push({ type: 'WAIT_CANCELLED', requestId: request.requestId, sessionId: request.sessionId, name: request.name, reason: cmd.reason });
    const lock = this.state.locks.get(request.name);
    if (lock) grantWaiters(this.ctx(now), lock);
    return { ok: true, cancelled: true, outcome: answerOf(request) };
  }

  // ---- release / downgrade / fence ----------------------------------------------------

  release(cmd: ReleaseCommand): ReleaseResult {
    const { requestId } = cmd;
    const bad =
      (requestId === undefined ? undefined : checkId('requestId', requestId)) ??
      checkId('sessionId', cmd.sessionId) ??
      checkName(cmd.name) ??
      checkTime('now', cmd.now);
    if (bad) return bad;
    const token = parseToken(cmd.fencingToken);
    if (token === undefined) return badInput('fencingToken must be a decimal 64-bit integer');
    if (requestId !== undefined) {
      // A retry answers the recorded result and counts nothing down.
      const previous = this.state.releases.get(requestId);
      if (previous && previous.sessionId === cmd.sessionId && previous.name === cmd.name && previous.token === token) {
        return releaseAnswer(previous);
      }
      if (previous || this.state.requests.has(requestId)) {
        return badInput('requestId was used for a different request', { requestId });
      }
    }
    const session = this.state.sessions.get(cmd.sessionId);
    if (!session) return notFound(cmd.sessionId);
    const lock = this.state.locks.get(cmd.name);
    const hold = lock?.holders.get(cmd.sessionId);
    if (lock && hold && hold.token === token) {
      const now = this.advance(cmd.now);
      const wasExclusive = hold.exclusive > 0;
      // One release undoes one acquire, the strongest first.
      if (hold.exclusive > 0) hold.exclusive--;
      else hold.shared--;
      const remaining = hold.shared + hold.exclusive;
      finishAcquires(this.ctx(now), hold, remaining);
      if (remaining === 0) {
        lock.holders.delete(cmd.sessionId);
        session.holds.delete(cmd.name);
        session.released.set(cmd.name, token);
      }
      this.events.push({ type: 'RELEASED', sessionId: cmd.sessionId, name: cmd.name, fencingToken: token.toString(), remaining });
      if (remaining === 0 || (wasExclusive && hold.exclusive === 0)) grantWaiters(this.ctx(now), lock);
      if (requestId === undefined) return { ok: true, remaining, alreadyReleased: false };
      return recordRelease(this.ctx(now), requestId, cmd.sessionId, cmd.name, token, remaining, false);
    }
    if (session.released.get(cmd.name) === token) {
      const remaining = hold ? hold.shared + hold.exclusive : 0;
      if (requestId === undefined) return { ok: true, remaining, alreadyReleased: true };
      return recordRelease(this.ctx(this.advance(cmd.now)), requestId, cmd.sessionId, cmd.name, token, remaining, true);
    }
    if (session.state !== 'OPEN') return expired(cmd.sessionId);
    if (hold) {
      return lockError('STALE_FENCING_TOKEN', 'the token is not the one of this session’s hold', {
        name: cmd.name,
        fencingToken: cmd.fencingToken,
      });
    }
    return lockError('NOT_HELD', 'the session does not hold this lock', { name: cmd.name, fencingToken: cmd.fencingToken });
  }

  downgrade(cmd: DowngradeCommand): DowngradeResult {
    const bad = checkId('sessionId', cmd.sessionId) ?? checkName(cmd.name) ?? checkTime('now', cmd.now);
    if (bad) return bad;
    const session = this.state.sessions.get(cmd.sessionId);
    if (!session) return notFound(cmd.sessionId);
    if (session.state !== 'OPEN') return expired(cmd.sessionId);
    const lock = this.state.locks.get(cmd.name);
    const hold = lock?.holders.get(cmd.sessionId);
    if (!lock || !hold) return lockError('NOT_HELD', 'the session does not hold this lock', { name: cmd.name });
    if (hold.exclusive === 0) return { ok: true, mode: 'SHARED' };
    const now = this.advance(cmd.now);
    hold.shared += hold.exclusive;
    hold.exclusive = 0;
    this.events.push({ type: 'DOWNGRADED', sessionId: cmd.sessionId, name: cmd.name, fencingToken: hold.token.toString() });
    grantWaiters(this.ctx(now), lock);
    return { ok: true, mode: 'SHARED' };
  }

  checkFence(query: CheckFenceQuery): CheckFenceResult {
    const bad = checkName(query.name);
    if (bad) return bad;
    const token = parseToken(query.fencingToken);
    if (token === undefined) return badInput('fencingToken must be a decimal 64-bit integer');
    for (const hold of this.state.locks.get(query.name)?.holders.values() ?? []) {
      if (hold.token === token) return { ok: true, valid: true, mode: holdMode(hold) };
    }
    return { ok: true, valid: false };
  }

  // ---- garbage collection -------------------------------------------------------------

  /**
   * Drops finished request and release records and ended sessions past their retention (see
   * gc.ts); `expireSessions` does the same. A pure function of the state and `now`.
   */
  prune(cmd: PruneCommand): PruneResult {
    const bad = checkTime('now', cmd.now);
    if (bad) return bad;
    return { ok: true, ...collectGarbage(this.state, this.advance(cmd.now)) };
  }

  /** True when a prune at `now` has something to drop (O(1)): for the leader to decide to propose one. */
  garbageDue(now: number): boolean {
    return isGarbageDue(this.state, now);
  }

  // ---- reads --------------------------------------------------------------------------

  /** The lock's view; a name nobody holds or waits for but that issued tokens shows its last one. */
  lock(name: string): LockView | undefined {
    const lock = this.state.locks.get(name);
    if (lock) return lockView(this.state, lock);
    const last = this.state.counters.get(name);
    return last === undefined ? undefined : { name, holders: [], waiters: [], lastFencingToken: last.toString() };
  }

  /** Up to `limit` waiting requests whose deadline is at or before `now` (for the leader to cancel). */
  overdueWaits(now: number, limit: number): string[] {
    const due: string[] = [];
    for (const lock of this.state.locks.values()) {
      for (const id of lock.waiters) {
        const r = this.state.requests.get(id);
        if (r && r.deadline <= now) {
          due.push(id);
          if (due.length >= limit) return due;
        }
      }
    }
    return due;
  }

  /** Whether an open session's deadline is at or before `now` (for the leader to expire it). */
  sessionsDue(now: number): boolean {
    for (const s of this.state.sessions.values()) if (s.state === 'OPEN' && s.expiresAt <= now) return true;
    return false;
  }

  locks(): LockView[] {
    return [...this.state.locks.keys()].sort().map((n) => lockView(this.state, this.state.locks.get(n)!));
  }

  session(sessionId: string): SessionView | undefined {
    const s = this.state.sessions.get(sessionId);
    return s ? sessionView(s) : undefined;
  }

  /** The session's owner, without building a view (the meta module checks it on every command). */
  sessionOwner(sessionId: string): string | undefined {
    return this.state.sessions.get(sessionId)?.owner;
  }

  sessions(): SessionView[] {
    return [...this.state.sessions.values()].map(sessionView);
  }

  waitForGraph(): WaitForEdge[] {
    return waitForGraph(this.state);
  }

  // ---- internals ----------------------------------------------------------------------

  private advance(now: number): number {
    this.state.clock = Math.max(this.state.clock, now);
    return this.state.clock;
  }

  private ctx(now: number): Context {
    return { state: this.state, events: this.events, now };
  }

  private lockFor(name: string): LockRecord {
    let lock = this.state.locks.get(name);
    if (!lock) {
      lock = { name, holders: new Map(), waiters: [] };
      this.state.locks.set(name, lock);
    }
    return lock;
  }

  /** Aborts the youngest request of each cycle through `sessionId` until none is left. */
  private breakDeadlocks(sessionId: string, now: number): void {
    if (!this.state.options.detectDeadlocks) return;
    for (;;) {
      const cycle = findCycleThrough(this.state, sessionId);
      if (!cycle) return;
      const victim = this.state.requests.get(chooseVictim(cycle, this.state.requests))!;
      const sessions = cycleSessions(cycle);
      removeWaiter(
        this.ctx(now),
        victim,
        lockError('DEADLOCK', 'aborted as a deadlock victim', { name: victim.name, cycle: sessions }),
      );
      this.events.push({ type: 'DEADLOCK_VICTIM', requestId: victim.requestId, sessionId: victim.sessionId, name: victim.name, cycle: sessions });
      const lock = this.state.locks.get(victim.name);
      if (lock) grantWaiters(this.ctx(now), lock);
    }
  }
}

function notFound(sessionId: string) {
  return lockError('SESSION_NOT_FOUND', 'no such session', { sessionId });
}

function expired(sessionId: string) {
  return lockError('SESSION_EXPIRED', 'the session has expired or was closed', { sessionId });
}
