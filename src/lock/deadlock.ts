/**
 * Deadlock detection, run when a wait is added. Every edge a new wait creates touches the
 * waiting session, so any new cycle passes through it: a depth-first search from that
 * session, in the graph's deterministic edge order, finds one if it exists. The victim is
 * the youngest request labelling an edge of the cycle (highest arrival number; ties, which
 * arrival numbers make impossible, by the greater request id).
 */
import type { RequestRecord, TableState } from './state.js';
import type { WaitForEdge } from './types.js';
import { edgesFrom } from './wait-for-graph.js';

/** The edges of a cycle from `start` back to `start`, or undefined when there is none. */
export function findCycleThrough(state: TableState, start: string): WaitForEdge[] | undefined {
  const visited = new Set<string>([start]);
  const path: WaitForEdge[] = [];
  // Iterative DFS: a frame per session on the path, with its out-edges and a cursor.
  const frames: { edges: WaitForEdge[]; next: number }[] = [{ edges: edgesFrom(state, start), next: 0 }];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const edge = frame.edges[frame.next++];
    if (!edge) {
      frames.pop();
      path.pop();
      continue;
    }
    if (edge.to === start) return [...path, edge];
    if (visited.has(edge.to)) continue;
    visited.add(edge.to);
    path.push(edge);
    frames.push({ edges: edgesFrom(state, edge.to), next: 0 });
  }
  return undefined;
}

export function chooseVictim(cycle: readonly WaitForEdge[], requests: ReadonlyMap<string, RequestRecord>): string {
  let victim: RequestRecord | undefined;
  for (const edge of cycle) {
    const r = requests.get(edge.requestId);
    if (!r) continue;
    if (!victim || r.arrival > victim.arrival || (r.arrival === victim.arrival && r.requestId > victim.requestId)) {
      victim = r;
    }
  }
  if (!victim) throw new Error('deadlock cycle without a waiting request');
  return victim.requestId;
}

/** The cycle as session ids, starting at `start`'s successor order (start first). */
export function cycleSessions(cycle: readonly WaitForEdge[]): string[] {
  return cycle.map((e) => e.from);
}
