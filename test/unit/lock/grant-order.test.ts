import { describe, expect, it } from 'vitest';
import { acq, holders, tableWith, tokenOf, waiters } from './helpers.js';

describe('grant order', () => {
  it('grants exclusive requests in arrival order (FIFO)', () => {
    const t = tableWith(['a', 'b', 'c', 'd']);
    const ta = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE'));
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(acq(t, 'rc', 'c', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(acq(t, 'rd', 'd', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    t.drainEvents();
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 2 })).toMatchObject({ ok: true, remaining: 0 });
    expect(holders(t)).toEqual(['b:E']);
    expect(waiters(t)).toEqual(['rc', 'rd']);
    const events = t.drainEvents();
    expect(events.map((e) => e.type)).toEqual(['RELEASED', 'GRANTED']);
    expect(events[1]).toMatchObject({ requestId: 'rb', sessionId: 'b', queued: true, fencingToken: '2' });
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toMatchObject({ ok: true, status: 'GRANTED', fencingToken: '2' });
  });

  it('grants adjacent SHARED waiters at the head together, and stops at the first EXCLUSIVE', () => {
    const t = tableWith(['w', 'r1', 'r2', 'x', 'r3']);
    const tw = tokenOf(acq(t, 'rw', 'w', 'EXCLUSIVE'));
    acq(t, 'q1', 'r1', 'SHARED');
    acq(t, 'q2', 'r2', 'SHARED');
    acq(t, 'qx', 'x', 'EXCLUSIVE');
    acq(t, 'q3', 'r3', 'SHARED');
    t.release({ sessionId: 'w', name: 'L', fencingToken: tw, now: 2 });
    expect(holders(t)).toEqual(['r1:S', 'r2:S']);
    expect(waiters(t)).toEqual(['qx', 'q3']);
  });

  it('does not starve a writer under a stream of readers', () => {
    const readers = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const t = tableWith(['w', ...readers]);
    const tokens = new Map<string, string>();
    tokens.set('r0', tokenOf(acq(t, 'q-r0', 'r0', 'SHARED')));
    expect(acq(t, 'q-w', 'w', 'EXCLUSIVE')).toMatchObject({ status: 'WAITING' });
    // Readers keep coming and the earlier ones leave: none may overtake the writer.
    for (let i = 1; i < readers.length; i++) {
      expect(acq(t, `q-r${i}`, `r${i}`, 'SHARED')).toMatchObject({ status: 'WAITING' });
    }
    t.release({ sessionId: 'r0', name: 'L', fencingToken: tokens.get('r0')!, now: 3 });
    expect(holders(t)).toEqual(['w:E']);
    expect(waiters(t)).toHaveLength(19);
  });

  it('try-lock (timeoutMs 0) fails with LOCK_TIMEOUT and leaves the table unchanged', () => {
    const t = tableWith(['a', 'b']);
    acq(t, 'ra', 'a', 'EXCLUSIVE');
    const before = t.snapshot();
    expect(acq(t, 'rb', 'b', 'SHARED', { timeoutMs: 0 })).toMatchObject({ ok: false, code: 'LOCK_TIMEOUT' });
    expect(t.snapshot()).toEqual(before);
    expect(acq(t, 'rb2', 'b', 'SHARED', { name: 'other', timeoutMs: 0 })).toMatchObject({ status: 'GRANTED' });
  });

  it('a SHARED request queues behind a waiting writer even when the holders are all SHARED', () => {
    const t = tableWith(['a', 'b', 'c']);
    acq(t, 'ra', 'a', 'SHARED');
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    expect(acq(t, 'rc', 'c', 'SHARED', { timeoutMs: 0 })).toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect(acq(t, 'rc2', 'c', 'SHARED')).toMatchObject({ status: 'WAITING' });
  });

  it('refuses waiters past the per-lock cap with TOO_MANY_WAITERS', () => {
    const t = tableWith(['a', 'b', 'c', 'd'], { maxWaitersPerLock: 2 });
    acq(t, 'ra', 'a', 'EXCLUSIVE');
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    acq(t, 'rc', 'c', 'EXCLUSIVE');
    const before = t.snapshot();
    expect(acq(t, 'rd', 'd', 'EXCLUSIVE')).toMatchObject({ ok: false, code: 'TOO_MANY_WAITERS' });
    expect(t.snapshot()).toEqual(before);
  });
});

describe('timeouts through cancelWait', () => {
  it('cancels a wait, records LOCK_TIMEOUT for the request, and grants those behind it', () => {
    const t = tableWith(['a', 'b', 'c']);
    acq(t, 'ra', 'a', 'SHARED');
    acq(t, 'rb', 'b', 'EXCLUSIVE', { timeoutMs: 100, now: 1 });
    acq(t, 'rc', 'c', 'SHARED');
    expect(t.lock('L')?.waiters[0]).toMatchObject({ requestId: 'rb', deadline: 101 });
    t.drainEvents();
    const r = t.cancelWait({ requestId: 'rb', now: 101, reason: 'TIMEOUT' });
    expect(r).toMatchObject({ ok: true, cancelled: true, outcome: { ok: false, code: 'LOCK_TIMEOUT' } });
    expect(holders(t)).toEqual(['a:S', 'c:S']);
    expect(t.drainEvents().map((e) => e.type)).toEqual(['WAIT_CANCELLED', 'GRANTED']);
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toMatchObject({ ok: false, code: 'LOCK_TIMEOUT' });
  });

  it('a client cancel names its session: another session cannot cancel the wait, and nothing changes', () => {
    const t = tableWith(['a', 'b']);
    acq(t, 'ra', 'a', 'EXCLUSIVE');
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    const before = t.snapshot();
    expect(t.cancelWait({ requestId: 'rb', sessionId: 'a', now: 2, reason: 'CANCELLED' })).toMatchObject({ ok: false, code: 'BAD_INPUT' });
    expect(t.snapshot()).toEqual(before);
    expect(t.cancelWait({ requestId: 'rb', sessionId: 'b', now: 2, reason: 'CANCELLED' })).toMatchObject({ ok: true, cancelled: true });
    expect(t.lock('L')?.waiters).toEqual([]);
  });

  it('a cancel that arrives after the grant changes nothing: the grant wins', () => {
    const t = tableWith(['a', 'b']);
    const ta = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE'));
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 2 });
    const before = t.snapshot();
    const r = t.cancelWait({ requestId: 'rb', now: 3, reason: 'TIMEOUT' });
    expect(r).toMatchObject({ ok: true, cancelled: false, outcome: { status: 'GRANTED', fencingToken: '2' } });
    expect(t.snapshot()).toEqual(before);
    expect(holders(t)).toEqual(['b:E']);
  });

  it('a cancel of an unknown request is a harmless no-op', () => {
    const t = tableWith(['a']);
    const before = t.snapshot();
    expect(t.cancelWait({ requestId: 'nope', now: 1, reason: 'CANCELLED' })).toEqual({ ok: true, cancelled: false, outcome: undefined });
    expect(t.snapshot()).toEqual(before);
  });
});
