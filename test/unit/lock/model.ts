/**
 * Test-side helpers for the property tests: a random workload turned into concrete commands
 * against a table, and an independent brute-force deadlock finder that uses the full
 * wait-for relation (every conflicting holder and *every* earlier conflicting waiter).
 */
import fc from 'fast-check';
import type { LockMode, LockTable, LockView } from '../../../src/lock/index.js';

export const SESSIONS = ['s0', 's1', 's2', 's3'];
export const NAMES = ['A', 'B', 'C'];

export type Op =
  | { kind: 'acquire'; s: number; n: number; mode: LockMode; timeoutMs: number; dt: number }
  | { kind: 'retry'; k: number; dt: number }
  | { kind: 'release'; s: number; n: number; stale: boolean; withId: boolean; dt: number }
  | { kind: 'retryRelease'; k: number; dt: number }
  | { kind: 'cancel'; k: number; dt: number }
  | { kind: 'downgrade'; s: number; n: number; dt: number }
  | { kind: 'keepAlive'; s: number; dt: number }
  | { kind: 'expire'; dt: number }
  | { kind: 'extendAll'; dt: number }
  | { kind: 'close'; s: number; dt: number };

const s = fc.nat({ max: SESSIONS.length - 1 });
const n = fc.nat({ max: NAMES.length - 1 });
const dt = fc.nat({ max: 20 });
const k = fc.nat({ max: 1000 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('acquire' as const), s, n, mode: fc.constantFrom<LockMode>('SHARED', 'EXCLUSIVE'), timeoutMs: fc.constantFrom(0, 5000, 60_000, 60_000), dt }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('retry' as const), k, dt }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), s, n, stale: fc.boolean(), withId: fc.boolean(), dt }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('retryRelease' as const), k, dt }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), k, dt }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('downgrade' as const), s, n, dt }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('keepAlive' as const), s, dt }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('expire' as const), dt }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('extendAll' as const), dt }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('close' as const), s, dt }), weight: 1 },
);

export const ttlsArb = fc.array(fc.integer({ min: 300, max: 5000 }), { minLength: SESSIONS.length, maxLength: SESSIONS.length });

export const workloadArb = fc.record({
  ttls: ttlsArb,
  ops: fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
});

/** A concrete command: a method name and its argument, applicable to any table. */
export interface Command {
  readonly method:
    | 'openSession'
    | 'acquire'
    | 'release'
    | 'cancelWait'
    | 'downgrade'
    | 'keepAlive'
    | 'expireSessions'
    | 'extendAll'
    | 'closeSession'
    | 'prune';
  readonly arg: Record<string, unknown>;
}

export function apply(table: LockTable, cmd: Command): unknown {
  return (table[cmd.method] as (a: unknown) => unknown).call(table, cmd.arg);
}

/** Turns abstract ops into concrete commands; reads `table` (the reference) for tokens. */
export class Driver {
  now = 0;
  private readonly requests: { requestId: string; sessionId: string; name: string; mode: LockMode; timeoutMs: number }[] = [];
  /** Releases sent with a requestId, for retries. */
  private readonly releases: { requestId: string; sessionId: string; name: string; fencingToken: string }[] = [];

  openings(ttls: readonly number[]): Command[] {
    return SESSIONS.map((sessionId, i) => ({ method: 'openSession', arg: { sessionId, owner: 'o', ttlMs: ttls[i] ?? 1000, now: 0 } }));
  }

  command(op: Op, table: LockTable): Command {
    this.now += op.dt;
    const now = this.now;
    switch (op.kind) {
      case 'acquire': {
        const r = { requestId: `r${this.requests.length}`, sessionId: SESSIONS[op.s]!, name: NAMES[op.n]!, mode: op.mode, timeoutMs: op.timeoutMs };
        this.requests.push(r);
        return { method: 'acquire', arg: { ...r, now } };
      }
      case 'retry': {
        const r = this.requests[op.k % Math.max(1, this.requests.length)];
        return r ? { method: 'acquire', arg: { ...r, now } } : { method: 'expireSessions', arg: { now } };
      }
      case 'release': {
        const sessionId = SESSIONS[op.s]!;
        const name = NAMES[op.n]!;
        const held = table.lock(name)?.holders.find((h) => h.sessionId === sessionId);
        const fencingToken = held && !op.stale ? held.fencingToken : '1';
        if (!op.withId) return { method: 'release', arg: { sessionId, name, fencingToken, now } };
        const r = { requestId: `x${this.releases.length}`, sessionId, name, fencingToken };
        this.releases.push(r);
        return { method: 'release', arg: { ...r, now } };
      }
      case 'retryRelease': {
        const r = this.releases[op.k % Math.max(1, this.releases.length)];
        return r ? { method: 'release', arg: { ...r, now } } : { method: 'expireSessions', arg: { now } };
      }
      case 'cancel': {
        const r = this.requests[op.k % Math.max(1, this.requests.length)];
        return { method: 'cancelWait', arg: { requestId: r?.requestId ?? 'none', now, reason: op.k % 2 === 0 ? 'TIMEOUT' : 'CANCELLED' } };
      }
      case 'downgrade':
        return { method: 'downgrade', arg: { sessionId: SESSIONS[op.s]!, name: NAMES[op.n]!, now } };
      case 'keepAlive':
        return { method: 'keepAlive', arg: { sessionId: SESSIONS[op.s]!, now } };
      case 'expire':
        return { method: 'expireSessions', arg: { now } };
      case 'extendAll':
        return { method: 'extendAll', arg: { now, ttlFloor: 200 } };
      case 'close':
        return { method: 'closeSession', arg: { sessionId: SESSIONS[op.s]!, now } };
    }
  }
}

function incompatible(a: LockMode, b: LockMode): boolean {
  return a === 'EXCLUSIVE' || b === 'EXCLUSIVE';
}

/** The full wait-for relation between sessions, from the lock views alone. */
export function fullGraph(locks: readonly LockView[]): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  const add = (a: string, b: string) => {
    if (a === b) return;
    if (!g.has(a)) g.set(a, new Set());
    g.get(a)!.add(b);
  };
  for (const l of locks) {
    l.waiters.forEach((w, i) => {
      for (const h of l.holders) if (incompatible(w.mode, h.mode)) add(w.sessionId, h.sessionId);
      for (const e of l.waiters.slice(0, i)) if (incompatible(w.mode, e.mode)) add(w.sessionId, e.sessionId);
    });
  }
  return g;
}

/** True when the relation has a cycle (brute force: can any node reach itself?). */
export function hasCycle(g: Map<string, Set<string>>): boolean {
  for (const start of g.keys()) {
    const seen = new Set<string>();
    const stack = [...(g.get(start) ?? [])];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x === start) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...(g.get(x) ?? []));
    }
  }
  return false;
}
