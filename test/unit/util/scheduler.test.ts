import { describe, expect, it } from 'vitest';
import { ManualScheduler } from '../../../src/util/scheduler.js';
import { SeededRandom } from '../../../src/util/random.js';

describe('ManualScheduler', () => {
  it('fires due timers in time order, ties in the order set, and skips cancelled ones', () => {
    const s = new ManualScheduler();
    const fired: string[] = [];
    s.setTimer(20, () => fired.push('b'));
    s.setTimer(10, () => fired.push('a'));
    s.setTimer(20, () => fired.push('c'));
    s.setTimer(15, () => fired.push('x')).cancel();
    s.advance(19);
    expect(fired).toEqual(['a']);
    expect(s.now()).toBe(19);
    s.advance(1);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('runs timers set by timers, at their own times', () => {
    const s = new ManualScheduler();
    const times: number[] = [];
    const tick = () => {
      times.push(s.now());
      if (times.length < 3) s.setTimer(5, tick);
    };
    s.setTimer(5, tick);
    s.runUntilIdle();
    expect(times).toEqual([5, 10, 15]);
  });
});

describe('SeededRandom', () => {
  it('replays the same sequence for the same seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it('draws integers in range, roughly uniformly', () => {
    const r = new SeededRandom(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[r.int(0, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(9_000);
    expect(counts.reduce((x, y) => x + y)).toBe(40_000);
  });
});
