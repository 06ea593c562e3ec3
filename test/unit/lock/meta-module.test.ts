/**
 * The lock table as a meta module: commands stamped with the state-machine clock, events
 * numbered by (log index, position), a caller's ownership checked before the table runs,
 * and snapshots that carry the last lock index for the event history.
 */
import { describe, expect, it } from 'vitest';
import { LockModule, type SequencedLockEvent } from '../../../src/lock/meta-module.js';

function module(): { m: LockModule; events: SequencedLockEvent[]; apply: (index: number, command: Record<string, unknown>) => any } {
  const m = new LockModule();
  const events: SequencedLockEvent[] = [];
  m.onEvents((e) => events.push(...e));
  return { m, events, apply: (index, command) => m.apply(command, { index, now: 1_000 + index }) };
}

describe('LockModule', () => {
  it('refuses a caller acting on a session it does not own, and session-less duties from any caller', () => {
    const { m, apply } = module();
    expect(apply(1, { op: 'openSession', sessionId: 's', owner: 'alice', ttlMs: 10_000, caller: 'alice' })).toMatchObject({ ok: true });
    const before = JSON.stringify(m.snapshot());
    for (const command of [
      { op: 'acquire', requestId: 'r', sessionId: 's', name: 'L', mode: 'EXCLUSIVE', timeoutMs: 0, caller: 'mallory' },
      { op: 'keepAlive', sessionId: 's', caller: 'mallory' },
      { op: 'closeSession', sessionId: 's', caller: 'mallory' },
      { op: 'cancelWait', requestId: 'r', sessionId: 's', reason: 'CANCELLED', caller: 'mallory' },
      { op: 'expireSessions', caller: 'alice' },
      { op: 'prune', caller: 'alice' },
      { op: 'cancelWait', requestId: 'r', reason: 'CANCELLED', caller: 'alice' },
    ]) {
      expect(apply(2, command)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    expect(JSON.stringify(m.snapshot())).toBe(before.replace('"lastIndex":1', '"lastIndex":2'));
    expect(apply(3, { op: 'acquire', requestId: 'r', sessionId: 's', name: 'L', mode: 'EXCLUSIVE', timeoutMs: 0, caller: 'alice' })).toMatchObject({
      ok: true,
      status: 'GRANTED',
    });
    // Trusted callers (admins, the leader's duties) leave caller out.
    expect(apply(4, { op: 'keepAlive', sessionId: 's' })).toMatchObject({ ok: true });
  });

  it('numbers events by log index and position, and reports the last lock index after a restore', () => {
    const { m, events, apply } = module();
    apply(5, { op: 'openSession', sessionId: 'a', owner: 'o', ttlMs: 10_000 });
    apply(6, { op: 'acquire', requestId: 'r1', sessionId: 'a', name: 'L', mode: 'EXCLUSIVE', timeoutMs: 0 });
    apply(9, { op: 'closeSession', sessionId: 'a' });
    expect(events.map((e) => `${e.index}:${e.position}:${e.event.type}`)).toEqual(['6:0:GRANTED', '9:0:RELEASED', '9:1:CLOSED']);
    const copy = new LockModule();
    const restored: number[] = [];
    copy.onRestore((i) => restored.push(i));
    copy.restore(JSON.parse(JSON.stringify(m.snapshot())));
    expect(restored).toEqual([9]);
    expect(copy.view().session('a')?.state).toBe('CLOSED');
    // A snapshot written before the index was kept restores too (history horizon unknown: 0).
    copy.restore(JSON.parse(JSON.stringify((m.snapshot() as { table: unknown }).table)));
    expect(restored).toEqual([9, 0]);
  });
});
