/**
 * The retained lock-event history behind the lock subscriptions: resume after a cursor,
 * wait at the end, refuse cursors it cannot serve, end a reader that falls behind the ring
 * or that a snapshot left with a gap — never skip an event silently.
 */
import { describe, expect, it } from 'vitest';
import type { SequencedLockEvent } from '../../../src/lock/meta-module.js';
import { LockEventLog, formatCursor, parseCursor } from '../../../src/services/lock-event-log.js';

function ev(index: number, position: number, name = 'L'): SequencedLockEvent {
  return { index, position, event: { type: 'RELEASED', sessionId: 's', name, fencingToken: String(index), remaining: 0 } };
}

const all = () => true;
const cursors = (events: SequencedLockEvent[]) => events.map((e) => formatCursor(e));

async function take(it: AsyncIterator<SequencedLockEvent>, n: number): Promise<SequencedLockEvent[]> {
  const out: SequencedLockEvent[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('LockEventLog', () => {
  it('parses and formats cursors, refusing malformed ones', () => {
    expect(parseCursor('12:3')).toEqual({ index: 12, position: 3 });
    expect(formatCursor({ index: 12, position: 3 })).toBe('12:3');
    for (const bad of ['', '12', '12:', ':3', '-1:0', '1:2:3', 'a:b', '99999999999999999:0']) expect(parseCursor(bad)).toBeUndefined();
  });

  it('resumes strictly after a cursor, then waits for new events', async () => {
    const log = new LockEventLog(100);
    log.append([ev(1, 0), ev(1, 1), ev(3, 0)]);
    const reader = log.read({ after: { index: 1, position: 0 }, filter: all });
    expect(cursors(await take(reader, 2))).toEqual(['1:1', '3:0']);
    const pending = take(reader, 2);
    expect(log.waitingReaders).toBe(1);
    log.append([ev(4, 0)]);
    log.append([ev(5, 0), ev(5, 1)]);
    expect(cursors(await pending)).toEqual(['4:0', '5:0']);
    await reader.return!();
    expect(log.waitingReaders).toBe(0);
  });

  it('starts at the live end without a cursor and resumes after a cursor it has not reached yet', async () => {
    const log = new LockEventLog(100);
    log.append([ev(1, 0)]);
    const live = log.read({ after: log.lastCursor(), filter: all });
    const ahead = log.read({ after: { index: 7, position: 0 }, filter: all });
    log.append([ev(2, 0), ev(7, 0), ev(7, 1)]);
    expect(cursors(await take(live, 3))).toEqual(['2:0', '7:0', '7:1']);
    expect(cursors(await take(ahead, 1))).toEqual(['7:1']);
  });

  it('filters, and ends after the event marked last', async () => {
    const log = new LockEventLog(100);
    log.append([ev(1, 0, 'A'), ev(2, 0, 'B'), ev(3, 0, 'A'), ev(4, 0, 'A')]);
    const reader = log.read({
      after: { index: 0, position: -1 },
      filter: (e) => 'name' in e.event && e.event.name === 'A',
      last: (e) => e.index === 3,
    });
    expect(cursors(await take(reader, 5))).toEqual(['1:0', '3:0']);
    expect((await reader.next()).done).toBe(true);
  });

  it('refuses a cursor older than its history with CURSOR_EXPIRED', () => {
    const log = new LockEventLog(3);
    log.append([ev(1, 0), ev(2, 0), ev(3, 0), ev(4, 0), ev(5, 0)]);
    expect(log.oldestResumable).toEqual({ index: 2, position: 0 });
    expect(() => log.read({ after: { index: 1, position: 0 }, filter: all })).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'CURSOR_EXPIRED', oldestCursor: '2:0' }) }),
    );
    expect(() => log.read({ after: { index: 2, position: 0 }, filter: all })).not.toThrow();
  });

  it('ends a reader that fell behind the ring with SUBSCRIBER_TOO_SLOW instead of skipping', async () => {
    const log = new LockEventLog(4);
    log.append([ev(1, 0)]);
    const slow = log.read({ after: { index: 0, position: -1 }, filter: all });
    expect(cursors(await take(slow, 1))).toEqual(['1:0']);
    log.append([ev(2, 0), ev(3, 0), ev(4, 0), ev(5, 0), ev(6, 0)]); // overwrites 2:0 before it was read
    await expect(slow.next()).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    expect((await slow.next()).done).toBe(true);
  });

  it('ends open readers with CURSOR_EXPIRED when a snapshot leaves a gap, and refuses cursors before it', async () => {
    const log = new LockEventLog(10);
    log.append([ev(1, 0)]);
    const reader = log.read({ after: log.lastCursor(), filter: all });
    const waiting = reader.next();
    log.gap(50);
    await expect(waiting).rejects.toMatchObject({ extensions: { code: 'CURSOR_EXPIRED' } });
    expect(() => log.read({ after: { index: 40, position: 0 }, filter: all })).toThrow(/older than/);
    const fresh = log.read({ after: log.lastCursor(), filter: all });
    log.append([ev(51, 0)]);
    expect(cursors(await take(fresh, 1))).toEqual(['51:0']);
  });
});
