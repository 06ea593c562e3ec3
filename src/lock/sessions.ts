/**
 * Ending a session (closed by its client, or expired by the leader's proposal): its waits
 * are cancelled, its holds released (CLOSED) or taken away (EXPIRED → a LOST event per
 * hold, so a holder hears of the loss at once), then the queues it touched are re-run so the
 * waiters behind it are granted in FIFO order. The session record stays, readable, in its
 * final state until pruned (see gc.ts); it can never be granted again.
 */
import { finishAcquires, sessionEnded } from './gc.js';
import { dropIfEmpty, grantWaiters, removeWaiter, type Context } from './grants.js';
import { lockError } from './errors.js';
import type { SessionRecord } from './state.js';

export function endSession(ctx: Context, session: SessionRecord, how: 'CLOSED' | 'EXPIRED'): void {
  const { state, events } = ctx;
  session.state = how;
  sessionEnded(ctx, session);
  const touched: string[] = [];
  for (const requestId of [...session.waits]) {
    const request = state.requests.get(requestId);
    if (!request) continue;
    removeWaiter(
      ctx,
      request,
      lockError('SESSION_EXPIRED', `the session was ${how === 'CLOSED' ? 'closed' : 'expired'} while waiting`, {
        name: request.name,
        sessionId: session.sessionId,
      }),
    );
    events.push({
      type: 'WAIT_CANCELLED',
      requestId,
      sessionId: session.sessionId,
      name: request.name,
      reason: how === 'CLOSED' ? 'SESSION_CLOSED' : 'SESSION_EXPIRED',
    });
    touched.push(request.name);
  }
  for (const name of [...session.holds]) {
    const lock = state.locks.get(name);
    const hold = lock?.holders.get(session.sessionId);
    if (!lock || !hold) continue;
    lock.holders.delete(session.sessionId);
    finishAcquires(ctx, hold, 0);
    const fencingToken = hold.token.toString();
    if (how === 'EXPIRED') {
      events.push({ type: 'LOST', sessionId: session.sessionId, name, fencingToken });
    } else {
      session.released.set(name, hold.token);
      events.push({ type: 'RELEASED', sessionId: session.sessionId, name, fencingToken, remaining: 0 });
    }
    touched.push(name);
  }
  session.holds.clear();
  session.waits.clear();
  // Last of the session's own events, so a stream of them can end on it.
  events.push({ type: how, sessionId: session.sessionId });
  for (const name of new Set(touched)) {
    const lock = state.locks.get(name);
    if (!lock) continue;
    grantWaiters(ctx, lock);
    dropIfEmpty(ctx, lock);
  }
}
