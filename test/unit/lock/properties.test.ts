/**
 * Property tests over random workloads (fast-check prints the seed and path of a failure;
 * set FC_SEED to replay one).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/lock/index.js';
import type { LockEvent } from '../../../src/lock/index.js';
import { apply, Driver, fullGraph, hasCycle, workloadArb } from './model.js';
import { viaJson } from './helpers.js';

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const params = { numRuns: 150, ...(seed === undefined ? {} : { seed }) };

function checkSafety(table: LockTable, events: readonly LockEvent[]): void {
  for (const l of table.locks()) {
    const exclusive = l.holders.filter((h) => h.mode === 'EXCLUSIVE');
    expect(exclusive.length).toBeLessThanOrEqual(1);
    if (exclusive.length === 1) expect(l.holders).toHaveLength(1);
    for (const h of l.holders) expect(table.session(h.sessionId)?.state).toBe('OPEN');
  }
  for (const e of events) {
    if (e.type === 'GRANTED') expect(table.session(e.sessionId)?.state).toBe('OPEN');
  }
}

describe('lock table properties', () => {
  it('safety: never two EXCLUSIVE holds, never EXCLUSIVE beside another session’s SHARED, no grant to a dead session, one grant per request id', () => {
    fc.assert(
      fc.property(workloadArb, ({ ttls, ops }) => {
        const table = new LockTable();
        const driver = new Driver();
        const granted = new Set<string>();
        for (const c of driver.openings(ttls)) apply(table, c);
        for (const op of ops) {
          const cmd = driver.command(op, table);
          const sessionsBefore = new Map(table.sessions().map((s) => [s.sessionId, s]));
          apply(table, cmd);
          const events = table.drainEvents();
          checkSafety(table, events);
          // A grant goes only to a session whose deadline lies beyond the command's time.
          for (const e of events) {
            if (e.type === 'GRANTED') {
              // A request id is granted at most once, however often it is retried.
              expect(granted.has(e.requestId)).toBe(false);
              granted.add(e.requestId);
              const now = cmd.arg.now as number;
              expect(table.session(e.sessionId)!.expiresAt).toBeGreaterThan(now);
              expect(sessionsBefore.get(e.sessionId)?.state).toBe('OPEN');
            }
          }
        }
      }),
      params,
    );
  });

  it('deadlock: a victim only when the full wait-for graph has a cycle, and no cycle is ever left', () => {
    let victims = 0;
    fc.assert(
      fc.property(workloadArb, ({ ttls, ops }) => {
        const table = new LockTable();
        const driver = new Driver();
        for (const c of driver.openings(ttls)) apply(table, c);
        for (const op of ops) {
          const cmd = driver.command(op, table);
          // The same command on a copy with detection off shows the graph at the moment the
          // wait is added, before any victim is taken out.
          const shadowData = viaJson(table.snapshot()) as { options: Record<string, unknown> };
          shadowData.options.detectDeadlocks = false;
          const shadow = LockTable.restore(shadowData);
          apply(shadow, cmd);
          const cycleAtMoment = hasCycle(fullGraph(shadow.locks()));
          apply(table, cmd);
          const deadlocks = table.drainEvents().filter((e) => e.type === 'DEADLOCK_VICTIM');
          expect(deadlocks.length > 0).toBe(cycleAtMoment);
          const first = deadlocks[0];
          if (first) {
            victims++;
            // The reported cycle is made of real wait-for edges at that moment.
            const g = fullGraph(shadow.locks());
            first.cycle.forEach((from, i) => {
              const to = first.cycle[(i + 1) % first.cycle.length]!;
              expect(g.get(from)?.has(to)).toBe(true);
            });
          }
          expect(hasCycle(fullGraph(table.locks()))).toBe(false);
        }
      }),
      params,
    );
    // The workload must actually produce deadlocks, or this property proves nothing.
    expect(victims).toBeGreaterThan(10);
  });

  it('determinism: two tables, one snapshotted and restored midway, give identical results, events and state', () => {
    fc.assert(
      fc.property(workloadArb, fc.nat(), ({ ttls, ops }, cut) => {
        const a = new LockTable();
        let b = new LockTable();
        const driver = new Driver();
        for (const c of driver.openings(ttls)) {
          expect(apply(b, c)).toEqual(apply(a, c));
        }
        const restoreAt = ops.length === 0 ? 0 : cut % ops.length;
        ops.forEach((op, i) => {
          if (i === restoreAt) {
            expect(b.drainEvents()).toEqual(a.drainEvents());
            b = LockTable.restore(viaJson(b.snapshot()));
          }
          const cmd = driver.command(op, a);
          expect(viaJson(apply(b, cmd))).toEqual(viaJson(apply(a, cmd)));
          expect(b.drainEvents()).toEqual(a.drainEvents());
          expect(b.waitForGraph()).toEqual(a.waitForGraph());
        });
        expect(b.snapshot()).toEqual(a.snapshot());
      }),
      params,
    );
  });

  it('results and snapshots are JSON-safe', () => {
    fc.assert(
      fc.property(workloadArb, ({ ttls, ops }) => {
        const table = new LockTable();
        const driver = new Driver();
        for (const c of driver.openings(ttls)) apply(table, c);
        for (const op of ops) {
          const result = apply(table, driver.command(op, table));
          expect(viaJson(result)).toEqual(result);
        }
        expect(viaJson(table.snapshot())).toEqual(table.snapshot());
      }),
      { ...params, numRuns: 50 },
    );
  });
});
