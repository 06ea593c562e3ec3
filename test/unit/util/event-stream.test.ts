import { describe, expect, it } from 'vitest';
import { eventStream } from '../../../src/util/event-stream.js';

function source<T>() {
  const listeners = new Set<(e: T) => void>();
  return {
    subscribe: (push: (e: T) => void) => {
      listeners.add(push);
      return () => listeners.delete(push);
    },
    emit: (e: T) => listeners.forEach((l) => l(e)),
    count: () => listeners.size,
  };
}

describe('eventStream', () => {
  it('delivers events in order to a waiting consumer and to a late one', async () => {
    const s = source<number>();
    const it1 = eventStream(s.subscribe, { capacity: 10, policy: 'drop-oldest' });
    const pending = it1.next();
    s.emit(1);
    s.emit(2);
    expect((await pending).value).toEqual({ event: 1, droppedBefore: 0 });
    expect((await it1.next()).value).toEqual({ event: 2, droppedBefore: 0 });
  });

  it('drop-oldest keeps the newest events and says how many were dropped', async () => {
    const s = source<number>();
    const stream = eventStream(s.subscribe, { capacity: 3, policy: 'drop-oldest' });
    for (let i = 1; i <= 7; i++) s.emit(i);
    const got: Array<{ event: number; droppedBefore: number } | undefined> = [];
    for (let i = 0; i < 3; i++) got.push((await stream.next()).value);
    expect(got.map((d) => d!.event)).toEqual([5, 6, 7]);
    expect(got.map((d) => d!.droppedBefore)).toEqual([4, 0, 0]);
  });

  it('close policy delivers what it buffered, then fails with the overflow error and unsubscribes', async () => {
    const s = source<number>();
    const stream = eventStream(s.subscribe, {
      capacity: 2,
      policy: 'close',
      overflowError: () => new Error('SLOW_SUBSCRIBER'),
    });
    s.emit(1);
    s.emit(2);
    s.emit(3);
    expect(s.count()).toBe(0);
    expect((await stream.next()).value?.event).toBe(1);
    expect((await stream.next()).value?.event).toBe(2);
    await expect(stream.next()).rejects.toThrow('SLOW_SUBSCRIBER');
    expect((await stream.next()).done).toBe(true);
  });

  it('return() removes the listener and ends a pending next()', async () => {
    const s = source<number>();
    const stream = eventStream(s.subscribe, { capacity: 2, policy: 'drop-oldest' });
    expect(s.count()).toBe(1);
    const pending = stream.next();
    await stream.return!();
    expect(s.count()).toBe(0);
    expect((await pending).done).toBe(true);
  });
});
