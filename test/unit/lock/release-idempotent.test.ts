import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/lock/index.js';
import type { SnapshotData } from '../../../src/lock/snapshot.js';
import { acq, tableWith, tokenOf, viaJson } from './helpers.js';

const snap = (t: LockTable) => t.snapshot() as SnapshotData;

describe('release with a requestId', () => {
  it('a retry on a count-2 hold answers the first result and leaves count 1', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    acq(t, 'r2', 'a', 'EXCLUSIVE');
    const first = t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 2 });
    expect(first).toEqual({ ok: true, remaining: 1, alreadyReleased: false });
    t.drainEvents();
    const before = t.snapshot();
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 3 })).toEqual(first);
    expect(t.lock('L')?.holders).toEqual([{ sessionId: 'a', mode: 'EXCLUSIVE', count: 1, fencingToken: tok }]);
    expect(t.snapshot()).toEqual(before);
    expect(t.drainEvents()).toEqual([]);
    // A new id is a new release.
    expect(t.release({ requestId: 'rel2', sessionId: 'a', name: 'L', fencingToken: tok, now: 4 })).toEqual({
      ok: true,
      remaining: 0,
      alreadyReleased: false,
    });
    // The record is gone (not listed); the name keeps its last token.
    expect(t.locks().map((l) => l.name)).not.toContain('L');
    expect(t.lock('L')).toEqual({ name: 'L', holders: [], waiters: [], lastFencingToken: tok });
  });

  it('a retry of the release that ended the hold answers it unchanged, even after a new hold and after close', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    const first = t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 2 });
    expect(first).toEqual({ ok: true, remaining: 0, alreadyReleased: false });
    acq(t, 'r2', 'a', 'SHARED', { now: 3 });
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 4 })).toEqual(first);
    expect(t.lock('L')?.holders[0]?.count).toBe(1);
    t.closeSession({ sessionId: 'a', now: 5 });
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 6 })).toEqual(first);
  });

  it('records an alreadyReleased answer too, and answers it again', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    t.closeSession({ sessionId: 'a', now: 2 });
    const first = t.release({ requestId: 'late', sessionId: 'a', name: 'L', fencingToken: tok, now: 3 });
    expect(first).toEqual({ ok: true, remaining: 0, alreadyReleased: true });
    expect(snap(t).releases).toEqual([
      { requestId: 'late', sessionId: 'a', name: 'L', token: tok, remaining: 0, alreadyReleased: true, finishedAt: 3 },
    ]);
    expect(t.release({ requestId: 'late', sessionId: 'a', name: 'L', fencingToken: tok, now: 4 })).toEqual(first);
  });

  it('reusing the id for another call is BAD_INPUT, table unchanged', () => {
    const t = tableWith(['a', 'b']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    acq(t, 'r2', 'a', 'SHARED');
    const tb = tokenOf(acq(t, 'rb', 'b', 'SHARED', { name: 'M' }));
    t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 2 });
    t.drainEvents();
    const before = t.snapshot();
    const others: [string, () => unknown][] = [
      ['another token', () => t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: '7', now: 3 })],
      ['another name', () => t.release({ requestId: 'rel', sessionId: 'b', name: 'M', fencingToken: tb, now: 3 })],
      ['another session', () => t.release({ requestId: 'rel', sessionId: 'b', name: 'L', fencingToken: tok, now: 3 })],
      ['an acquire', () => acq(t, 'rel', 'a', 'SHARED', { now: 3 })],
      ['an acquire’s id', () => t.release({ requestId: 'r1', sessionId: 'a', name: 'L', fencingToken: tok, now: 3 })],
      ['an empty id', () => t.release({ requestId: '', sessionId: 'a', name: 'L', fencingToken: tok, now: 3 })],
    ];
    for (const [what, run] of others) {
      expect(run(), what).toMatchObject({ ok: false, code: 'BAD_INPUT' });
      expect(t.snapshot(), what).toEqual(before);
      expect(t.drainEvents(), what).toEqual([]);
    }
    expect(t.lock('L')?.holders[0]?.count).toBe(1);
  });

  it('a refused release records nothing', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    const before = t.snapshot();
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'M', fencingToken: tok, now: 2 })).toMatchObject({ code: 'NOT_HELD' });
    expect(t.snapshot()).toEqual(before);
    // So the id is still free; the release that succeeds is the one recorded.
    const ok = { ok: true, remaining: 0, alreadyReleased: false };
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 2 })).toEqual(ok);
    expect(t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 3 })).toEqual(ok);
  });

  it('without a requestId a retry counts down again, as before, and nothing is recorded', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    acq(t, 'r2', 'a', 'SHARED');
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 2 })).toMatchObject({ remaining: 1 });
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 2 })).toMatchObject({ remaining: 0 });
    expect(snap(t).releases).toEqual([]);
  });

  it('release records and the gc stamps survive snapshot and restore', () => {
    const t = tableWith(['a', 'b']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    acq(t, 'r2', 'a', 'EXCLUSIVE');
    acq(t, 'rb', 'b', 'SHARED', { name: 'M' });
    const first = t.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 2 });
    t.closeSession({ sessionId: 'b', now: 3 });
    const data = snap(t);
    expect(data.releases).toHaveLength(1);
    expect(data.requests.find((r) => r.requestId === 'r2')?.finishedAt).toBe(2);
    expect(data.requests.find((r) => r.requestId === 'rb')?.finishedAt).toBe(3);
    expect(data.requests.find((r) => r.requestId === 'r1')?.finishedAt).toBeUndefined();
    expect(data.sessions.find((s) => s.sessionId === 'b')?.endedAt).toBe(3);
    expect(data.locks[0]?.holders[0]?.requests).toEqual(['r1']);

    const restored = LockTable.restore(viaJson(data));
    expect(restored.snapshot()).toEqual(t.snapshot());
    expect(restored.release({ requestId: 'rel', sessionId: 'a', name: 'L', fencingToken: tok, now: 4 })).toEqual(first);
    expect(restored.lock('L')?.holders[0]?.count).toBe(1);
  });
});
