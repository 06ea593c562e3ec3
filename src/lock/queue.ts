/**
 * Per-lock holders and the FIFO queue of waiters: where a request joins the queue and
 * whether it can be granted. The rules (see README.md):
 * - a request is grantable when it is compatible with every holder and every earlier
 *   waiter, ignoring its own session's hold (PostgreSQL's rule);
 * - a request from a session that already holds the lock joins the queue ahead of the
 *   first waiter that conflicts with what it holds; others join at the tail.
 * A session has at most one waiting request per lock, so "earlier waiters" never include
 * its own.
 */
import { holdMode, type LockRecord, type RequestRecord } from './state.js';
import type { LockMode } from './types.js';

export function compatible(a: LockMode, b: LockMode): boolean {
  return a === 'SHARED' && b === 'SHARED';
}

/** True when `mode` fits beside every holder other than `sessionId`'s own hold. */
export function fitsHolders(lock: LockRecord | undefined, sessionId: string, mode: LockMode): boolean {
  if (!lock) return true;
  for (const [holder, hold] of lock.holders) {
    if (holder !== sessionId && !compatible(mode, holdMode(hold))) return false;
  }
  return true;
}

export function insertPosition(
  lock: LockRecord | undefined,
  requests: ReadonlyMap<string, RequestRecord>,
  sessionId: string,
): number {
  if (!lock) return 0;
  const own = lock.holders.get(sessionId);
  if (!own) return lock.waiters.length;
  const held = holdMode(own);
  const index = lock.waiters.findIndex((id) => {
    const w = requests.get(id);
    return w !== undefined && w.sessionId !== sessionId && !compatible(w.mode, held);
  });
  return index === -1 ? lock.waiters.length : index;
}

/** True when a request at `position` of the queue is compatible with every earlier waiter. */
export function fitsEarlierWaiters(
  lock: LockRecord | undefined,
  requests: ReadonlyMap<string, RequestRecord>,
  position: number,
  mode: LockMode,
): boolean {
  if (!lock) return true;
  for (let i = 0; i < position; i++) {
    const w = requests.get(lock.waiters[i] ?? '');
    if (w && !compatible(mode, w.mode)) return false;
  }
  return true;
}
