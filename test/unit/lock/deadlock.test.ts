import { describe, expect, it } from 'vitest';
import { acq, holders, tableWith, tokenOf, waiters } from './helpers.js';

describe('deadlock detection', () => {
  it('breaks a 2-cycle by failing the youngest request with DEADLOCK and the cycle', () => {
    const t = tableWith(['a', 'b']);
    acq(t, 'a1', 'a', 'EXCLUSIVE', { name: 'X' });
    acq(t, 'b1', 'b', 'EXCLUSIVE', { name: 'Y' });
    expect(acq(t, 'a2', 'a', 'EXCLUSIVE', { name: 'Y' })).toEqual({ ok: true, status: 'WAITING' });
    t.drainEvents();
    const r = acq(t, 'b2', 'b', 'EXCLUSIVE', { name: 'X' });
    expect(r).toMatchObject({ ok: false, code: 'DEADLOCK', cycle: ['b', 'a'] });
    expect(t.drainEvents()).toEqual([{ type: 'DEADLOCK_VICTIM', requestId: 'b2', sessionId: 'b', name: 'X', cycle: ['b', 'a'] }]);
    expect(waiters(t, 'X')).toEqual([]);
    expect(waiters(t, 'Y')).toEqual(['a2']);
    expect(t.waitForGraph()).toEqual([{ from: 'a', to: 'b', requestId: 'a2', name: 'Y', kind: 'HOLDER' }]);
    // The victim's answer is kept for retries.
    expect(acq(t, 'b2', 'b', 'EXCLUSIVE', { name: 'X' })).toMatchObject({ code: 'DEADLOCK' });
  });

  it('breaks a 3-cycle', () => {
    const t = tableWith(['a', 'b', 'c']);
    acq(t, 'a1', 'a', 'EXCLUSIVE', { name: 'X' });
    acq(t, 'b1', 'b', 'SHARED', { name: 'Y' });
    acq(t, 'c1', 'c', 'EXCLUSIVE', { name: 'Z' });
    acq(t, 'a2', 'a', 'EXCLUSIVE', { name: 'Y' });
    acq(t, 'b2', 'b', 'SHARED', { name: 'Z' });
    expect(acq(t, 'c2', 'c', 'SHARED', { name: 'X' })).toMatchObject({ code: 'DEADLOCK', cycle: ['c', 'a', 'b'] });
    expect(t.waitForGraph().map((e) => `${e.from}->${e.to}`)).toEqual(['a->b', 'b->c']);
  });

  it('two sharers that both upgrade are a real deadlock; the first upgrade proceeds once the victim releases', () => {
    const t = tableWith(['a', 'b']);
    tokenOf(acq(t, 'a1', 'a', 'SHARED'));
    const tb = tokenOf(acq(t, 'b1', 'b', 'SHARED'));
    expect(acq(t, 'a2', 'a', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(acq(t, 'b2', 'b', 'EXCLUSIVE')).toMatchObject({ code: 'DEADLOCK', cycle: ['b', 'a'] });
    expect(holders(t)).toEqual(['a:S', 'b:S']);
    t.release({ sessionId: 'b', name: 'L', fencingToken: tb, now: 2 });
    expect(holders(t)).toEqual(['a:E']);
  });

  it('finds a soft-edge cycle: A waits behind B’s queued conflicting request, not behind a holder of B', () => {
    const t = tableWith(['a', 'b', 'h']);
    // h holds X; B queues EXCLUSIVE on X; A holds Y.
    acq(t, 'h1', 'h', 'SHARED', { name: 'X' });
    acq(t, 'b1', 'b', 'EXCLUSIVE', { name: 'X' });
    acq(t, 'a1', 'a', 'EXCLUSIVE', { name: 'Y' });
    // A asks X SHARED: compatible with h, but it must queue behind B's writer (soft edge A → B).
    expect(acq(t, 'a2', 'a', 'SHARED', { name: 'X' })).toEqual({ ok: true, status: 'WAITING' });
    expect(t.waitForGraph()).toContainEqual({ from: 'a', to: 'b', requestId: 'a2', name: 'X', kind: 'SOFT' });
    // B asks Y, held by A: B → A, and A → B only through the queue.
    expect(acq(t, 'b2', 'b', 'SHARED', { name: 'Y' })).toMatchObject({ code: 'DEADLOCK', cycle: ['b', 'a'] });
  });

  it('keeps soft edges linear: a waiter points at the nearest conflicting group only', () => {
    const t = tableWith(['h', 'w1', 'r1', 'r2', 'w2']);
    acq(t, 'h', 'h', 'EXCLUSIVE');
    acq(t, 'w1', 'w1', 'EXCLUSIVE');
    acq(t, 'r1', 'r1', 'SHARED');
    acq(t, 'r2', 'r2', 'SHARED');
    acq(t, 'w2', 'w2', 'EXCLUSIVE');
    expect(t.waitForGraph().map((e) => `${e.from}->${e.to}:${e.kind[0]}`)).toEqual([
      'w1->h:H',
      'r1->h:H',
      'r1->w1:S',
      'r2->h:H',
      'r2->w1:S',
      'w2->h:H',
      'w2->r1:S',
      'w2->r2:S',
    ]);
  });
});
