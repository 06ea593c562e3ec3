import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../src/lock/index.js';
import { acq, holders, TTL, tableWith, tokenOf, waiters } from './helpers.js';

describe('sessions', () => {
  it('keepAlive pushes the deadline to now + TTL and answers it', () => {
    const t = tableWith(['a']);
    expect(t.keepAlive({ sessionId: 'a', now: 4000 })).toEqual({ ok: true, expiresAt: 4000 + TTL });
    expect(t.session('a')).toMatchObject({ state: 'OPEN', expiresAt: 4000 + TTL });
    expect(tokenOf(acq(t, 'r', 'a', 'SHARED', { now: 4001 }))).toBe('1');
    expect(acq(t, 'r', 'a', 'SHARED')).toMatchObject({ expiresAt: 4000 + TTL });
  });

  it('expiry releases holds (LOST), cancels waits, grants the waiters behind in FIFO order, and stays readable', () => {
    const t = new LockTable();
    t.openSession({ sessionId: 'dead', owner: 'o', ttlMs: 100, now: 0 });
    for (const s of ['b', 'c', 'd']) t.openSession({ sessionId: s, owner: 'o', ttlMs: TTL, now: 0 });
    const tok = tokenOf(acq(t, 'r-dead', 'dead', 'EXCLUSIVE', { now: 1 }));
    acq(t, 'rb', 'b', 'SHARED', { now: 2 });
    acq(t, 'dead-wait', 'dead', 'EXCLUSIVE', { name: 'M', now: 2 });
    acq(t, 'rd', 'd', 'EXCLUSIVE', { name: 'M', now: 2 });
    acq(t, 'rc', 'c', 'SHARED', { now: 3 });
    // M was free, so dead-wait was granted at once and d queues behind it.
    expect(holders(t, 'M')).toEqual(['dead:E']);
    t.drainEvents();
    expect(t.expireSessions({ now: 99 })).toEqual({ ok: true, expired: [] });
    expect(t.expireSessions({ now: 100 })).toEqual({ ok: true, expired: ['dead'] });
    const events = t.drainEvents();
    expect(events.map((e) => `${e.type}:${'name' in e ? e.name : ''}`)).toEqual([
      'LOST:L',
      'LOST:M',
      'EXPIRED:',
      'GRANTED:L',
      'GRANTED:L',
      'GRANTED:M',
    ]);
    expect(events[0]).toMatchObject({ sessionId: 'dead', fencingToken: tok });
    expect(holders(t)).toEqual(['b:S', 'c:S']);
    expect(holders(t, 'M')).toEqual(['d:E']);
    expect(t.session('dead')).toMatchObject({ state: 'EXPIRED', holds: [], waits: [] });
    expect(t.checkFence({ name: 'L', fencingToken: tok })).toMatchObject({ valid: false });
    expect(acq(t, 'again', 'dead', 'SHARED', { name: 'Z' })).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(t.keepAlive({ sessionId: 'dead', now: 101 })).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(t.release({ sessionId: 'dead', name: 'L', fencingToken: tok, now: 101 })).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
  });

  it('cancels the waits of an expiring session with SESSION_EXPIRED and grants those behind', () => {
    const t = new LockTable();
    t.openSession({ sessionId: 'a', owner: 'o', ttlMs: TTL, now: 0 });
    t.openSession({ sessionId: 'dead', owner: 'o', ttlMs: 100, now: 0 });
    t.openSession({ sessionId: 'c', owner: 'o', ttlMs: TTL, now: 0 });
    acq(t, 'ra', 'a', 'SHARED');
    acq(t, 'rdead', 'dead', 'EXCLUSIVE');
    acq(t, 'rc', 'c', 'SHARED');
    expect(waiters(t)).toEqual(['rdead', 'rc']);
    t.drainEvents();
    t.expireSessions({ now: 200 });
    expect(t.drainEvents().map((e) => e.type)).toEqual(['WAIT_CANCELLED', 'EXPIRED', 'GRANTED']);
    expect(acq(t, 'rdead', 'dead', 'EXCLUSIVE')).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(holders(t)).toEqual(['a:S', 'c:S']);
  });

  it('never grants to a session past its deadline, even before the leader expires it', () => {
    const t = new LockTable();
    t.openSession({ sessionId: 'a', owner: 'o', ttlMs: TTL, now: 0 });
    t.openSession({ sessionId: 'late', owner: 'o', ttlMs: 100, now: 0 });
    t.openSession({ sessionId: 'c', owner: 'o', ttlMs: TTL, now: 0 });
    const ta = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE'));
    acq(t, 'rl', 'late', 'EXCLUSIVE');
    acq(t, 'rc', 'c', 'EXCLUSIVE');
    t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 150 });
    expect(holders(t)).toEqual([]);
    expect(waiters(t)).toEqual(['rl', 'rc']);
    expect(acq(t, 'new', 'late', 'SHARED', { name: 'free', now: 150 })).toMatchObject({ code: 'SESSION_EXPIRED' });
    t.expireSessions({ now: 151 });
    expect(holders(t)).toEqual(['c:E']);
  });

  it('extendAll (a new leader) revives every open deadline to at least now + TTL, and waiters may then be granted', () => {
    const t = new LockTable();
    t.openSession({ sessionId: 'a', owner: 'o', ttlMs: TTL, now: 0 });
    t.openSession({ sessionId: 'late', owner: 'o', ttlMs: 100, now: 0 });
    const ta = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE'));
    acq(t, 'rl', 'late', 'EXCLUSIVE');
    t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 150 });
    expect(holders(t)).toEqual([]);
    expect(t.extendAll({ now: 500, ttlFloor: 1000 })).toMatchObject({ ok: true });
    expect(t.session('late')).toMatchObject({ expiresAt: 1500 });
    expect(t.session('a')).toMatchObject({ expiresAt: 500 + TTL });
    expect(holders(t)).toEqual(['late:E']);
  });

  it('close releases holds (RELEASED, not LOST) and a retried release of a closed hold is OK', () => {
    const t = tableWith(['a', 'b']);
    const ta = tokenOf(acq(t, 'ra', 'a', 'EXCLUSIVE'));
    acq(t, 'rb', 'b', 'EXCLUSIVE');
    t.drainEvents();
    expect(t.closeSession({ sessionId: 'a', now: 5 })).toMatchObject({ ok: true, session: { state: 'CLOSED' } });
    expect(t.drainEvents().map((e) => e.type)).toEqual(['RELEASED', 'CLOSED', 'GRANTED']);
    expect(holders(t)).toEqual(['b:E']);
    expect(t.release({ sessionId: 'a', name: 'L', fencingToken: ta, now: 6 })).toMatchObject({ ok: true, alreadyReleased: true });
    expect(t.closeSession({ sessionId: 'a', now: 7 })).toMatchObject({ ok: true, session: { state: 'CLOSED' } });
  });

  it('the clock never runs back: an older now does not re-open a passed deadline', () => {
    const t = new LockTable();
    t.openSession({ sessionId: 'a', owner: 'o', ttlMs: 100, now: 0 });
    acq(t, 'r', 'a', 'SHARED', { now: 150, name: 'x' });
    expect(t.keepAlive({ sessionId: 'a', now: 200 })).toMatchObject({ code: 'SESSION_EXPIRED' });
    t.expireSessions({ now: 200 });
    expect(t.keepAlive({ sessionId: 'a', now: 50 })).toMatchObject({ code: 'SESSION_EXPIRED' });
  });
});
