/**
 * The wait-for graph: session → sessions it waits for. A waiting request has an edge to
 * every holder it conflicts with (HOLDER) and to the members of the *nearest* earlier group
 * of the queue that holds a conflicting request (SOFT edges, as in PostgreSQL). A group is
 * a maximal run of adjacent SHARED waiters, or one EXCLUSIVE waiter. Edges to farther
 * groups are implied: the nearest conflicting group itself waits for everything before it
 * that it conflicts with, so reachability — and therefore every cycle — is kept while the
 * waiter-to-waiter edges stay linear in the queue length. Edges to one's own session are
 * dropped (own holds never block: PostgreSQL's rule).
 */
import { compatible } from './queue.js';
import { holdMode, type LockRecord, type RequestRecord, type TableState } from './state.js';
import type { WaitForEdge } from './types.js';

export function edgesOfWaiter(
  lock: LockRecord,
  requests: ReadonlyMap<string, RequestRecord>,
  index: number,
): WaitForEdge[] {
  const me = requests.get(lock.waiters[index] ?? '');
  if (!me) return [];
  const edges: WaitForEdge[] = [];
  const edge = (to: string, kind: WaitForEdge['kind']): WaitForEdge => ({
    from: me.sessionId,
    to,
    requestId: me.requestId,
    name: lock.name,
    kind,
  });
  for (const [holder, hold] of lock.holders) {
    if (holder !== me.sessionId && !compatible(me.mode, holdMode(hold))) edges.push(edge(holder, 'HOLDER'));
  }
  const modeAt = (i: number) => requests.get(lock.waiters[i] ?? '')?.mode;
  let end = index - 1;
  while (end >= 0) {
    let start = end;
    if (modeAt(end) === 'SHARED') {
      while (start > 0 && modeAt(start - 1) === 'SHARED') start--;
    }
    const group: WaitForEdge[] = [];
    for (let i = start; i <= end; i++) {
      const other = requests.get(lock.waiters[i] ?? '');
      if (other && other.sessionId !== me.sessionId && !compatible(me.mode, other.mode)) {
        group.push(edge(other.sessionId, 'SOFT'));
      }
    }
    if (group.length > 0) {
      edges.push(...group);
      break;
    }
    end = start - 1;
  }
  return edges;
}

/** Out-edges of one session, over its waiting requests in the order they were added. */
export function edgesFrom(state: TableState, sessionId: string): WaitForEdge[] {
  const session = state.sessions.get(sessionId);
  if (!session) return [];
  const edges: WaitForEdge[] = [];
  for (const requestId of session.waits) {
    const request = state.requests.get(requestId);
    const lock = request && state.locks.get(request.name);
    if (!lock) continue;
    edges.push(...edgesOfWaiter(lock, state.requests, lock.waiters.indexOf(requestId)));
  }
  return edges;
}

export function waitForGraph(state: TableState): WaitForEdge[] {
  const edges: WaitForEdge[] = [];
  for (const lock of state.locks.values()) {
    for (let i = 0; i < lock.waiters.length; i++) edges.push(...edgesOfWaiter(lock, state.requests, i));
  }
  return edges;
}
