/**
 * Granting and un-queueing: the only code that moves a request into a hold or out of the
 * queue. `grantWaiters` walks the queue once, front to back, and grants every waiter that is
 * compatible with the holders (its own hold aside) and with every earlier waiter still
 * waiting — adjacent SHARED waiters at the head are so granted together, and nothing is
 * granted past an incompatible waiter (no writer starvation). A waiter whose session is not
 * live (closed, expired, or past its deadline and awaiting the leader's expiry) is never
 * granted; it keeps its place and blocks what it conflicts with until it is expired,
 * cancelled or its deadline is extended.
 */
import { finishRequest } from './gc.js';
import { compatible, fitsHolders } from './queue.js';
import { isLive, type LockRecord, type RequestRecord, type TableState } from './state.js';
import type { LockError, LockEvent, LockMode } from './types.js';

export interface Context {
  readonly state: TableState;
  readonly events: LockEvent[];
  /** State-machine time of the command being applied. */
  readonly now: number;
}

/** Adds request `requestId`'s acquire of `mode` to the session's hold (creating it with a new token). */
export function addHold(ctx: Context, lock: LockRecord, sessionId: string, mode: LockMode, requestId: string): bigint {
  let hold = lock.holders.get(sessionId);
  if (!hold) {
    const token = (ctx.state.counters.get(lock.name) ?? 0n) + 1n;
    ctx.state.counters.set(lock.name, token);
    hold = { sessionId, token, shared: 0, exclusive: 0, requests: [] };
    lock.holders.set(sessionId, hold);
    ctx.state.sessions.get(sessionId)?.holds.add(lock.name);
  }
  if (mode === 'SHARED') hold.shared++;
  else hold.exclusive++;
  hold.requests.push(requestId);
  return hold.token;
}

export function grantWaiters(ctx: Context, lock: LockRecord): void {
  const { requests, sessions } = ctx.state;
  const still: string[] = [];
  let earlierAny = false;
  let earlierExclusive = false;
  for (const id of lock.waiters) {
    const r = requests.get(id);
    if (!r) continue;
    const session = sessions.get(r.sessionId);
    const fitsQueue = r.mode === 'SHARED' ? !earlierExclusive : !earlierAny;
    if (session && isLive(session, ctx.now) && fitsQueue && fitsHolders(lock, r.sessionId, r.mode)) {
      const token = addHold(ctx, lock, r.sessionId, r.mode, id);
      session.waits.delete(id);
      r.state = 'GRANTED';
      r.fencingToken = token;
      r.expiresAt = session.expiresAt;
      ctx.events.push({
        type: 'GRANTED',
        requestId: id,
        sessionId: r.sessionId,
        name: lock.name,
        mode: r.mode,
        fencingToken: token.toString(),
        reentrant: false,
        queued: true,
      });
    } else {
      still.push(id);
      earlierAny = true;
      if (!compatible(r.mode, 'SHARED')) earlierExclusive = true;
    }
  }
  lock.waiters = still;
  dropIfEmpty(ctx, lock);
}

/** Takes a waiting request out of its queue and fails it with `error`; grants nothing. */
export function removeWaiter(ctx: Context, request: RequestRecord, error: LockError): void {
  const lock = ctx.state.locks.get(request.name);
  if (lock) lock.waiters = lock.waiters.filter((id) => id !== request.requestId);
  ctx.state.sessions.get(request.sessionId)?.waits.delete(request.requestId);
  request.state = 'FAILED';
  request.error = error;
  finishRequest(ctx, request);
}

/** An empty lock is forgotten; its fencing counter stays in `counters`. */
export function dropIfEmpty(ctx: Context, lock: LockRecord): void {
  if (lock.holders.size === 0 && lock.waiters.length === 0) ctx.state.locks.delete(lock.name);
}
