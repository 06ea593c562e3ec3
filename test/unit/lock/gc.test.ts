import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockModule } from '../../../src/lock/meta-module.js';
import { LockTable, REQUEST_RETENTION_MS as RR, SESSION_RETENTION_MS as SR } from '../../../src/lock/index.js';
import type { SnapshotData } from '../../../src/lock/snapshot.js';
import { acq, holders, tokenOf, viaJson, waiters } from './helpers.js';
import { apply, Driver, opArb, ttlsArb, type Op } from './model.js';

const DAY = 24 * 3_600_000;

/** Sessions that stay live for a day. */
function longLived(ids: string[]): LockTable {
  const t = new LockTable();
  for (const sessionId of ids) t.openSession({ sessionId, owner: 'o', ttlMs: DAY, now: 0 });
  return t;
}

const snap = (t: LockTable) => t.snapshot() as SnapshotData;
const requestIds = (t: LockTable) => [...snap(t).requests, ...(snap(t).releases ?? [])].map((r) => r.requestId).sort();

describe('pruning request records', () => {
  it('drops a released grant exactly REQUEST_RETENTION_MS after the release, not before', () => {
    const t = longLived(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE', { now: 1000 }));
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 2000 });
    expect(t.garbageDue(2000 + RR - 1)).toBe(false);
    expect(t.prune({ now: 2000 + RR - 1 })).toEqual({ ok: true, requests: 0, sessions: 0 });
    expect(requestIds(t)).toEqual(['r1']);
    expect(acq(t, 'r1', 'a', 'EXCLUSIVE', { now: 2000 + RR - 1 })).toEqual({ ok: true, status: 'GRANTED', fencingToken: tok, expiresAt: DAY });
    expect(t.garbageDue(2000 + RR)).toBe(true);
    expect(t.prune({ now: 2000 + RR })).toEqual({ ok: true, requests: 1, sessions: 0 });
    expect(requestIds(t)).toEqual([]);
    expect(t.garbageDue(2000 + RR)).toBe(false);
  });

  it('drops a service-generated (ephemeral) request as soon as it finishes, and keeps a waiting one', () => {
    const t = longLived(['a', 'b']);
    const tok = tokenOf(acq(t, 'gen-1', 'a', 'EXCLUSIVE', { now: 1, ephemeral: true }));
    acq(t, 'gen-2', 'b', 'EXCLUSIVE', { now: 2, timeoutMs: DAY, ephemeral: true });
    acq(t, 'client-1', 'a', 'EXCLUSIVE', { now: 3 });
    expect(requestIds(t)).toEqual(['client-1', 'gen-1', 'gen-2']);
    // a's hold counts two acquires; releasing both finishes both: only the client's record stays.
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 4 });
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 5 });
    expect(requestIds(t)).toEqual(['client-1', 'gen-2']);
    expect(holders(t)).toEqual(['b:E']);
    const restored = LockTable.restore(viaJson(t.snapshot()));
    t.closeSession({ sessionId: 'b', now: 6 });
    restored.closeSession({ sessionId: 'b', now: 6 });
    for (const table of [t, restored]) expect(requestIds(table)).toEqual(['client-1']);
  });

  it('drops failed requests and release records after their retention', () => {
    const t = longLived(['a', 'b']);
    const tok = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE', { now: 1 }));
    acq(t, 'rb', 'b', 'EXCLUSIVE', { now: 1, timeoutMs: DAY });
    t.cancelWait({ requestId: 'rb', now: 100, reason: 'TIMEOUT' });
    acq(t, 'ra2', 'a', 'EXCLUSIVE', { now: 200 });
    t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 300 });
    // ra2 was counted last, so the release finished it; ra still counts.
    expect(requestIds(t)).toEqual(['ra', 'ra2', 'rb', 'rel']);
    expect(t.prune({ now: 100 + RR })).toMatchObject({ requests: 1 });
    expect(requestIds(t)).toEqual(['ra', 'ra2', 'rel']);
    expect(t.prune({ now: 300 + RR })).toMatchObject({ requests: 2 });
    expect(requestIds(t)).toEqual(['ra']);
    expect(holders(t)).toEqual(['a:E']);
  });

  it('a release finishes the hold’s last-granted acquire, so a long-lived re-entrant hold keeps only what it counts', () => {
    const t = longLived(['a']);
    const tok = tokenOf(acq(t, 'base', 'a', 'SHARED', { now: 1 }));
    for (let i = 0; i < 50; i++) {
      acq(t, `n${i}`, 'a', 'SHARED', { now: 10 + i });
      t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 10 + i });
    }
    t.prune({ now: 60 + RR });
    expect(requestIds(t)).toEqual(['base']);
    expect(snap(t).locks[0]?.holders[0]?.requests).toEqual(['base']);
    expect(t.lock('L')?.holders[0]?.count).toBe(1);
  });

  it('the leader’s expireSessions prunes too', () => {
    const t = longLived(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'SHARED', { now: 1 }));
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 1 });
    expect(t.expireSessions({ now: 1 + RR })).toEqual({ ok: true, expired: [] });
    expect(requestIds(t)).toEqual([]);
  });

  it('never prunes a waiting request or the grant a hold still counts', () => {
    const t = longLived(['a', 'b']);
    const tok = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE', { now: 1 }));
    acq(t, 'rb', 'b', 'EXCLUSIVE', { now: 1, timeoutMs: DAY });
    expect(t.garbageDue(10 * SR)).toBe(false);
    expect(t.prune({ now: 10 * SR })).toEqual({ ok: true, requests: 0, sessions: 0 });
    expect(requestIds(t)).toEqual(['ra', 'rb']);
    expect(waiters(t)).toEqual(['rb']);
    expect(acq(t, 'ra', 'a', 'EXCLUSIVE', { now: 10 * SR })).toMatchObject({ status: 'GRANTED', fencingToken: tok });
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 10 * SR });
    expect(holders(t)).toEqual(['b:E']);
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE', { now: 10 * SR })).toMatchObject({ status: 'GRANTED' });
  });

  it('a retry whose record was pruned is a new request', () => {
    const t = longLived(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE', { now: 1 }));
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 1 });
    t.prune({ now: 1 + RR });
    expect(acq(t, 'r1', 'a', 'EXCLUSIVE', { now: 2 + RR })).toMatchObject({ status: 'GRANTED', fencingToken: '2' });
  });
});

describe('pruning ended sessions', () => {
  it('drops a closed session exactly SESSION_RETENTION_MS after it ended, with its records', () => {
    const t = longLived(['a', 'b']);
    acq(t, 'ra', 'a', 'EXCLUSIVE', { now: 1 });
    t.closeSession({ sessionId: 'a', now: 5000 });
    const tb = tokenOf(acq(t, 'rb', 'b', 'SHARED', { name: 'M', now: 6000 }));
    // A release recorded after the end: it goes with the session, before its own retention.
    t.release({ requestId: 'late', sessionId: 'a', name: 'L', fencingToken: '1', now: 5000 + SR - 10 });
    expect(requestIds(t)).toEqual(['late', 'ra', 'rb']);
    expect(t.prune({ now: 5000 + RR })).toEqual({ ok: true, requests: 1, sessions: 0 });
    expect(t.session('a')).toMatchObject({ state: 'CLOSED' });
    expect(t.garbageDue(5000 + SR - 1)).toBe(false);
    expect(t.prune({ now: 5000 + SR - 1 })).toEqual({ ok: true, requests: 0, sessions: 0 });
    expect(t.session('a')).toMatchObject({ state: 'CLOSED' });
    expect(t.garbageDue(5000 + SR)).toBe(true);
    expect(t.prune({ now: 5000 + SR })).toEqual({ ok: true, requests: 1, sessions: 1 });
    expect(t.session('a')).toBeUndefined();
    expect(requestIds(t)).toEqual(['rb']);
    // The open session and its live hold are untouched.
    expect(t.session('b')).toMatchObject({ state: 'OPEN', holds: ['M'] });
    expect(t.checkFence({ name: 'M', fencingToken: tb })).toMatchObject({ valid: true });
    // The id is free again; the queue entry of the pruned release must not drop its new record.
    const again = acq(t, 'late', 'b', 'SHARED', { name: 'N', now: 5000 + SR });
    expect(t.prune({ now: 5000 + SR - 10 + RR })).toEqual({ ok: true, requests: 0, sessions: 0 });
    expect(acq(t, 'late', 'b', 'SHARED', { name: 'N', now: 5000 + SR - 10 + RR })).toEqual(again);
    expect(t.prune({ now: 10 * SR })).toEqual({ ok: true, requests: 0, sessions: 0 });
    expect(t.garbageDue(10 * SR)).toBe(false);
  });

  it('drops an expired session; an open idle session is never dropped', () => {
    const t = longLived(['idle']);
    t.openSession({ sessionId: 'x', owner: 'o', ttlMs: 100, now: 0 });
    acq(t, 'rx', 'x', 'SHARED', { now: 1 });
    expect(t.expireSessions({ now: 100 })).toEqual({ ok: true, expired: ['x'] });
    expect(t.expireSessions({ now: 100 + SR - 1 })).toEqual({ ok: true, expired: [] });
    expect(t.session('x')).toMatchObject({ state: 'EXPIRED' });
    expect(t.prune({ now: 100 + SR })).toEqual({ ok: true, requests: 0, sessions: 1 });
    expect(t.sessions().map((s) => s.sessionId)).toEqual(['idle']);
    expect(acq(t, 'rx', 'x', 'SHARED', { now: 200 + SR })).toMatchObject({ ok: false, code: 'SESSION_NOT_FOUND' });
  });

  it('keeps fencing counters: an acquire after pruning gets a larger token', () => {
    const t = longLived(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE', { now: 1 }));
    t.closeSession({ sessionId: 'a', now: 2 });
    // The record is gone (not listed); the name keeps its last token.
    expect(t.locks().map((l) => l.name)).not.toContain('L');
    expect(t.lock('L')).toEqual({ name: 'L', holders: [], waiters: [], lastFencingToken: tok });
    expect(t.prune({ now: 2 + SR })).toEqual({ ok: true, requests: 1, sessions: 1 });
    const restored = LockTable.restore(viaJson(t.snapshot()));
    for (const table of [t, restored]) {
      table.openSession({ sessionId: 'a', owner: 'o', ttlMs: DAY, now: 3 + SR });
      const next = tokenOf(acq(table, 'r1', 'a', 'EXCLUSIVE', { now: 3 + SR }));
      expect(BigInt(next)).toBeGreaterThan(BigInt(tok));
      expect(table.lock('L')?.lastFencingToken).toBe(next);
    }
  });

  it('leaves no empty lock records behind, and pruning keeps the counters', () => {
    const t = longLived(['a', 'b']);
    const tok = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE', { name: 'X', now: 1 }));
    expect(acq(t, 'try', 'b', 'SHARED', { name: 'X', timeoutMs: 0, now: 1 })).toMatchObject({ code: 'LOCK_TIMEOUT' });
    acq(t, 'rb', 'b', 'EXCLUSIVE', { name: 'X', now: 1 });
    acq(t, 'rb2', 'b', 'SHARED', { name: 'Y', now: 1 });
    t.cancelWait({ requestId: 'rb', now: 2, reason: 'CANCELLED' });
    t.release({ sessionId: 'a', name: 'X', fencingToken: tok, now: 3 });
    t.closeSession({ sessionId: 'b', now: 4 });
    expect(t.locks()).toEqual([]);
    expect(snap(t).locks).toEqual([]);
    expect(t.prune({ now: 4 + SR })).toEqual({ ok: true, requests: 3, sessions: 1 });
    expect(snap(t)).toMatchObject({
      sessions: [{ sessionId: 'a' }],
      locks: [],
      requests: [],
      releases: [],
      counters: [
        ['X', '1'],
        ['Y', '1'],
      ],
    });
  });
});

describe('prune as a command', () => {
  it('refuses a bad now, table unchanged', () => {
    const t = longLived(['a']);
    const before = t.snapshot();
    expect(t.prune({ now: -1 })).toMatchObject({ ok: false, code: 'BAD_INPUT' });
    expect(t.snapshot()).toEqual(before);
  });

  it('is dispatched by the meta module, and garbageDue is on its view', () => {
    const m = new LockModule();
    m.apply({ op: 'openSession', sessionId: 'a', owner: 'o', ttlMs: DAY }, { index: 1, now: 0 });
    const granted = m.apply({ op: 'acquire', requestId: 'r', sessionId: 'a', name: 'L', mode: 'SHARED', timeoutMs: 0 }, { index: 2, now: 1 });
    m.apply({ op: 'release', sessionId: 'a', name: 'L', fencingToken: tokenOf(granted as never) }, { index: 3, now: 1 });
    expect(m.view().garbageDue(1 + RR)).toBe(true);
    expect(m.apply({ op: 'prune' }, { index: 4, now: 1 + RR })).toEqual({ ok: true, requests: 1, sessions: 0 });
    expect(m.view().garbageDue(1 + RR)).toBe(false);
  });
});

describe('restore of a snapshot written before gc', () => {
  /** What an older writer produced: no stamps, no per-hold request lists, no release records. */
  function oldFormat(t: LockTable): unknown {
    const d = viaJson(snap(t)) as unknown as Record<string, unknown[]>;
    delete (d as { releases?: unknown }).releases;
    for (const s of d.sessions as { endedAt?: number }[]) delete s.endedAt;
    for (const r of d.requests as { finishedAt?: number }[]) delete r.finishedAt;
    for (const l of d.locks as { holders: { requests?: string[] }[] }[]) for (const h of l.holders) delete h.requests;
    return d;
  }

  it('counts what is finished as finished at the snapshot’s clock, and rebuilds what each hold counts', () => {
    const t = longLived(['a', 'b', 'c']);
    const ta = tokenOf(acq(t, 'a1', 'a', 'SHARED', { now: 1 }));
    acq(t, 'a2', 'a', 'SHARED', { now: 2 });
    acq(t, 'a3', 'a', 'SHARED', { now: 3 });
    t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 4 });
    acq(t, 'b1', 'b', 'EXCLUSIVE', { now: 5, timeoutMs: DAY });
    acq(t, 'c1', 'c', 'SHARED', { name: 'M', now: 6 });
    t.closeSession({ sessionId: 'c', now: 7 });
    t.keepAlive({ sessionId: 'a', now: 1000 });

    const r = LockTable.restore(oldFormat(t));
    const data = snap(r);
    const finishedAt = Object.fromEntries(data.requests.map((x) => [x.requestId, x.finishedAt]));
    // a3 was the newest acquire past the count; a1 and a2 still count; b1 waits.
    expect(finishedAt).toEqual({ a1: undefined, a2: undefined, a3: 1000, b1: undefined, c1: 1000 });
    expect(data.locks.find((l) => l.name === 'L')?.holders[0]?.requests).toEqual(['a1', 'a2']);
    expect(data.sessions.find((s) => s.sessionId === 'c')?.endedAt).toBe(1000);
    expect(data.releases).toEqual([]);

    expect(r.prune({ now: 1000 + RR })).toEqual({ ok: true, requests: 2, sessions: 0 });
    expect(r.prune({ now: 1000 + SR })).toEqual({ ok: true, requests: 0, sessions: 1 });
    expect(r.session('c')).toBeUndefined();
    // The live hold goes on as before: two releases end it and grant the waiter.
    r.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 1000 + SR });
    expect(r.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 1000 + SR })).toMatchObject({ remaining: 0 });
    expect(holders(r)).toEqual(['b:E']);
    expect(r.prune({ now: 1000 + SR + RR })).toEqual({ ok: true, requests: 2, sessions: 0 });
    expect(requestIds(r)).toEqual(['b1']);
  });
});

describe('pruning property', () => {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  const params = { numRuns: 150, ...(seed === undefined ? {} : { seed }) };
  type GcOp = Op | { kind: 'prune' } | { kind: 'restore' };
  const gcOpArb: fc.Arbitrary<GcOp> = fc.oneof(
    { arbitrary: opArb, weight: 8 },
    { arbitrary: fc.constant({ kind: 'prune' as const }), weight: 2 },
    { arbitrary: fc.constant({ kind: 'restore' as const }), weight: 1 },
  );

  /** `a` (a table that never prunes) as it is once everything due by `at` is dropped. */
  function prunedView(a: SnapshotData, at: number, rr: number, sr: number): Omit<SnapshotData, 'options'> {
    const gone = new Set(a.sessions.filter((s) => s.endedAt !== undefined && s.endedAt + sr <= at).map((s) => s.sessionId));
    const kept = (r: { sessionId: string; finishedAt?: number }) =>
      !gone.has(r.sessionId) && !(r.finishedAt !== undefined && r.finishedAt + rr <= at);
    const { options: _, ...rest } = a;
    return {
      ...rest,
      sessions: a.sessions.filter((s) => !gone.has(s.sessionId)),
      requests: a.requests.filter(kept),
      releases: (a.releases ?? []).filter(kept),
    };
  }

  it('pruning at any time changes no answer for what is still there, and drops exactly what is due', () => {
    let prunedRecords = 0;
    let prunedSessions = 0;
    fc.assert(
      fc.property(
        ttlsArb,
        fc.array(gcOpArb, { minLength: 10, maxLength: 80, size: 'max' }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 900 }),
        (ttls, ops, rr, sr) => {
          // `a` never prunes within the test's time; `b` prunes with short retentions.
          const a = new LockTable({ requestRetentionMs: Number.MAX_SAFE_INTEGER, sessionRetentionMs: Number.MAX_SAFE_INTEGER });
          let b = new LockTable({ requestRetentionMs: rr, sessionRetentionMs: sr });
          const driver = new Driver();
          for (const c of driver.openings(ttls)) expect(apply(b, c)).toEqual(apply(a, c));
          let lastPrune = -1;
          for (const op of ops) {
            if (op.kind === 'restore') {
              b = LockTable.restore(viaJson(b.snapshot()));
              continue;
            }
            if (op.kind === 'prune') {
              const now = driver.now;
              const due = b.garbageDue(now);
              const r = b.prune({ now });
              if (!due) expect(r).toEqual({ ok: true, requests: 0, sessions: 0 });
              expect(b.garbageDue(now)).toBe(false);
              lastPrune = now;
            } else {
              const cmd = driver.command(op, a);
              const before = snap(b);
              const ids = new Set([...before.requests, ...(before.releases ?? [])].map((r) => r.requestId));
              const sessions = new Set(before.sessions.map((s) => s.sessionId));
              const { requestId, sessionId } = cmd.arg as { requestId?: string; sessionId?: string };
              const known = snap(a);
              const everKnown = [...known.requests, ...(known.releases ?? [])].some((r) => r.requestId === requestId);
              const prunedId = requestId !== undefined && !ids.has(requestId) && everKnown;
              const prunedSession = sessionId !== undefined && !sessions.has(sessionId);
              // A command about a pruned record or session is answered differently, by design.
              if (prunedId || prunedSession) continue;
              expect(viaJson(apply(b, cmd))).toEqual(viaJson(apply(a, cmd)));
              expect(b.drainEvents()).toEqual(a.drainEvents());
              if (cmd.method === 'expireSessions') lastPrune = cmd.arg.now as number;
            }
            expect(b.locks()).toEqual(a.locks());
            expect(b.waitForGraph()).toEqual(a.waitForGraph());
            // A prune command moves b's clock, as any command does; the next command moves a's.
            const expected = { ...prunedView(snap(a), lastPrune, rr, sr), clock: Math.max(snap(a).clock, lastPrune) };
            const { options: _, ...actual } = snap(b);
            expect(actual).toEqual(expected);
            if (actual.requests.length < snap(a).requests.length) prunedRecords++;
            if (actual.sessions.length < snap(a).sessions.length) prunedSessions++;
            // What a hold counts is exactly its listed grants; no empty lock is kept.
            for (const l of actual.locks) {
              expect(l.holders.length + l.waiters.length).toBeGreaterThan(0);
              for (const h of l.holders) expect(h.requests).toHaveLength(h.shared + h.exclusive);
            }
          }
        },
      ),
      params,
    );
    // The workload must actually prune, or this property proves nothing.
    expect(prunedRecords).toBeGreaterThan(300);
    expect(prunedSessions).toBeGreaterThan(100);
  });
});
