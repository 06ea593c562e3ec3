import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/lock/index.js';
import { acq, holders, tableWith, tokenOf, viaJson, waiters } from './helpers.js';

describe('re-entrancy', () => {
  it('counts re-entrant acquires, returns the hold’s token, and counts releases down', () => {
    const t = tableWith(['a', 'b']);
    const t1 = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    expect(tokenOf(acq(t, 'r2', 'a', 'EXCLUSIVE'))).toBe(t1);
    expect(tokenOf(acq(t, 'r3', 'a', 'SHARED'))).toBe(t1);
    expect(t.lock('L')?.holders).toEqual([{ sessionId: 'a', mode: 'EXCLUSIVE', count: 3, fencingToken: t1 }]);
    acq(t, 'rb', 'b', 'SHARED');
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 2 })).toMatchObject({ ok: true, remaining: 2 });
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 2 })).toMatchObject({ ok: true, remaining: 1 });
    // The last exclusive acquire is undone: what is left is SHARED, so the waiting sharer fits.
    expect(holders(t)).toEqual(['a:S', 'b:S']);
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 2 })).toMatchObject({ ok: true, remaining: 0 });
    expect(holders(t)).toEqual(['b:S']);
  });

  it('refuses acquires past the configured limit with ACQUIRE_LIMIT, table unchanged', () => {
    const t = tableWith(['a'], { acquireLimit: 2 });
    acq(t, 'r1', 'a', 'SHARED');
    acq(t, 'r2', 'a', 'SHARED');
    const before = t.snapshot();
    expect(acq(t, 'r3', 'a', 'SHARED')).toMatchObject({ ok: false, code: 'ACQUIRE_LIMIT' });
    expect(acq(t, 'r4', 'a', 'EXCLUSIVE')).toMatchObject({ ok: false, code: 'ACQUIRE_LIMIT' });
    expect(t.snapshot()).toEqual(before);
  });

  it('grants re-entry at once, with its token, even with a conflicting waiter queued', () => {
    const t = tableWith(['a', 'b']);
    const ta = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    expect(acq(t, 'r2', 'a', 'SHARED')).toMatchObject({ status: 'GRANTED', fencingToken: ta });
    expect(t.drainEvents().some((e) => e.type === 'DEADLOCK_VICTIM')).toBe(false);
  });
});

describe('upgrade and downgrade', () => {
  it('upgrades at once when the session is the sole holder, even with a writer waiting', () => {
    const t = tableWith(['a', 'b']);
    const ta = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    expect(acq(t, 'r2', 'a', 'EXCLUSIVE')).toMatchObject({ status: 'GRANTED', fencingToken: ta });
    expect(holders(t)).toEqual(['a:E']);
    expect(waiters(t)).toEqual(['rb']);
  });

  it('queues the upgrade ahead of conflicting waiters while another sharer holds, grants it when that one leaves', () => {
    const t = tableWith(['a', 'b', 'c']);
    const ta = tokenOf(acq(t, 'r1', 'a', 'SHARED'));
    const tb = tokenOf(acq(t, 'rb', 'b', 'SHARED'));
    acq(t, 'rc', 'c', 'EXCLUSIVE');
    expect(acq(t, 'r2', 'a', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(waiters(t)).toEqual(['r2', 'rc']);
    t.release({ sessionId: 'b', name: 'L', fencingToken: tb, now: 2 });
    expect(holders(t)).toEqual(['a:E']);
    expect(t.lock('L')?.holders[0]).toMatchObject({ count: 2, fencingToken: ta });
  });

  it('downgrades EXCLUSIVE to SHARED and grants the waiting sharers that now fit', () => {
    const t = tableWith(['a', 'b', 'c', 'd']);
    const ta = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    acq(t, 'rb', 'b', 'SHARED');
    acq(t, 'rc', 'c', 'SHARED');
    acq(t, 'rd', 'd', 'EXCLUSIVE');
    t.drainEvents();
    expect(t.downgrade({ sessionId: 'a', name: 'L', now: 2 })).toEqual({ ok: true, mode: 'SHARED' });
    expect(holders(t)).toEqual(['a:S', 'b:S', 'c:S']);
    expect(waiters(t)).toEqual(['rd']);
    expect(t.drainEvents().map((e) => e.type)).toEqual(['DOWNGRADED', 'GRANTED', 'GRANTED']);
    expect(t.checkFence({ name: 'L', fencingToken: ta })).toEqual({ ok: true, valid: true, mode: 'SHARED' });
    expect(t.downgrade({ sessionId: 'b', name: 'nothing', now: 2 })).toMatchObject({ ok: false, code: 'NOT_HELD' });
  });
});

describe('fencing tokens', () => {
  it('strictly increase per lock across release and re-acquire, and per name independently', () => {
    const t = tableWith(['a', 'b']);
    const seen: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const s = i % 2 === 0 ? 'a' : 'b';
      const tok = tokenOf(acq(t, `r${i}`, s, 'EXCLUSIVE'));
      seen.push(BigInt(tok));
      t.release({ sessionId: s, name: 'L', fencingToken: tok, now: 2 });
    }
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(tokenOf(acq(t, 'other', 'a', 'EXCLUSIVE', { name: 'M' }))).toBe('1');
  });

  it('keep increasing across snapshot and restore, even after the lock emptied', () => {
    const t = tableWith(['a']);
    const tok = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    t.release({ sessionId: 'a', name: 'L', fencingToken: tok, now: 2 });
    // The record is gone (not listed); the name keeps its last token.
    expect(t.locks().map((l) => l.name)).not.toContain('L');
    expect(t.lock('L')).toEqual({ name: 'L', holders: [], waiters: [], lastFencingToken: tok });
    const restored = LockTable.restore(viaJson(t.snapshot()));
    expect(tokenOf(acq(restored, 'r2', 'a', 'EXCLUSIVE'))).toBe('2');
  });

  it('checkFence accepts every current SHARED holder’s token and nothing else', () => {
    const t = tableWith(['a', 'b']);
    const ta = tokenOf(acq(t, 'ra', 'a', 'SHARED'));
    const tb = tokenOf(acq(t, 'rb', 'b', 'SHARED'));
    expect(t.checkFence({ name: 'L', fencingToken: ta })).toMatchObject({ valid: true });
    expect(t.checkFence({ name: 'L', fencingToken: tb })).toMatchObject({ valid: true });
    t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 2 });
    expect(t.checkFence({ name: 'L', fencingToken: ta })).toEqual({ ok: true, valid: false });
    expect(t.checkFence({ name: 'L', fencingToken: 'x' })).toMatchObject({ ok: false, code: 'BAD_INPUT' });
  });
});

describe('release', () => {
  it('is harmless to retry with the same token; a wrong token is refused', () => {
    const t = tableWith(['a', 'b']);
    const t1 = tokenOf(acq(t, 'r1', 'a', 'EXCLUSIVE'));
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 2 })).toEqual({ ok: true, remaining: 0, alreadyReleased: false });
    const before = t.snapshot();
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 3 })).toEqual({ ok: true, remaining: 0, alreadyReleased: true });
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: '99', now: 3 })).toMatchObject({ ok: false, code: 'NOT_HELD' });
    expect(t.release({ sessionId: 'b', name: 'L', fencingToken: t1, now: 3 })).toMatchObject({ ok: false, code: 'NOT_HELD' });
    expect(t.snapshot()).toEqual(before);
    const t2 = tokenOf(acq(t, 'r2', 'a', 'EXCLUSIVE'));
    // The old token against the new hold: stale. A retry of the old release stays harmless.
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: '5', now: 3 })).toMatchObject({ ok: false, code: 'STALE_FENCING_TOKEN' });
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: t1, now: 3 })).toMatchObject({ ok: true, alreadyReleased: true, remaining: 1 });
    expect(t.checkFence({ name: 'L', fencingToken: t2 })).toMatchObject({ valid: true });
  });
});

describe('idempotent requestId', () => {
  it('answers a retried acquire with the same answer, never a second grant', () => {
    const t = tableWith(['a', 'b']);
    const first = acq(t, 'r1', 'a', 'EXCLUSIVE');
    t.drainEvents();
    const before = t.snapshot();
    expect(acq(t, 'r1', 'a', 'EXCLUSIVE')).toEqual(first);
    expect(t.snapshot()).toEqual(before);
    expect(t.lock('L')?.holders[0]?.count).toBe(1);
    expect(t.drainEvents()).toEqual([]);
    // A waiting request reports its current state when retried.
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toEqual({ ok: true, status: 'WAITING' });
    expect(waiters(t)).toEqual(['rb']);
    t.release({ sessionId: 'a', name: 'L', fencingToken: tokenOf(first), now: 2 });
    expect(acq(t, 'rb', 'b', 'EXCLUSIVE')).toMatchObject({ status: 'GRANTED', fencingToken: '2' });
    expect(acq(t, 'rb', 'a', 'SHARED')).toMatchObject({ ok: false, code: 'BAD_INPUT' });
  });
});

describe('bad input leaves the table unchanged', () => {
  const t = tableWith(['a', 'b']);
  acq(t, 'r1', 'a', 'EXCLUSIVE');
  acq(t, 'r2', 'b', 'SHARED');
  const cases: [string, () => unknown, string][] = [
    ['empty name', () => acq(t, 'x1', 'a', 'SHARED', { name: '' }), 'BAD_INPUT'],
    ['name over 256 bytes', () => acq(t, 'x2', 'a', 'SHARED', { name: 'é'.repeat(129) }), 'BAD_INPUT'],
    ['negative timeout', () => acq(t, 'x3', 'a', 'SHARED', { timeoutMs: -1 }), 'BAD_INPUT'],
    ['bad mode', () => t.acquire({ requestId: 'x4', sessionId: 'a', name: 'L', mode: 'X' as never, now: 1, timeoutMs: 0 }), 'BAD_INPUT'],
    ['unknown session', () => acq(t, 'x5', 'zz', 'SHARED'), 'SESSION_NOT_FOUND'],
    ['second wait on one lock', () => acq(t, 'x6', 'b', 'EXCLUSIVE', { name: 'L' }), 'BAD_INPUT'],
    ['release not held', () => t.release({ sessionId: 'b', name: 'M', fencingToken: '1', now: 1 }), 'NOT_HELD'],
    ['release bad token', () => t.release({ sessionId: 'a', name: 'L', fencingToken: '-1', now: 1 }), 'BAD_INPUT'],
    ['keepAlive unknown', () => t.keepAlive({ sessionId: 'zz', now: 1 }), 'SESSION_NOT_FOUND'],
    ['open with zero ttl', () => t.openSession({ sessionId: 'n', owner: 'o', ttlMs: 0, now: 1 }), 'BAD_INPUT'],
    ['reuse of a session id', () => t.openSession({ sessionId: 'a', owner: 'other', ttlMs: 5, now: 1 }), 'BAD_INPUT'],
    ['cancel bad reason', () => t.cancelWait({ requestId: 'r2', now: 1, reason: 'NOPE' as never }), 'BAD_INPUT'],
  ];
  for (const [what, run, code] of cases) {
    it(`${what} → ${code}`, () => {
      const before = t.snapshot();
      t.drainEvents();
      expect(run()).toMatchObject({ ok: false, code });
      expect(t.snapshot()).toEqual(before);
      expect(t.drainEvents()).toEqual([]);
    });
  }
  it('a name of exactly 256 bytes is accepted', () => {
    expect(acq(t, 'ok256', 'a', 'SHARED', { name: 'é'.repeat(128) })).toMatchObject({ status: 'GRANTED' });
  });
});
