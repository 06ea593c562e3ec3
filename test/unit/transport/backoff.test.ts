/** Reconnect backoff: full jitter under a doubling ceiling, reset, replayable from a seed. */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/transport/backoff.js';
import { SeededRandom } from '../../../src/util/random.js';

describe('Backoff', () => {
  it('doubles its ceiling from initialMs up to maxMs and draws below it', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, random: new SeededRandom(1) });
    const ceilings: number[] = [];
    for (let i = 0; i < 8; i++) {
      const ceiling = backoff.ceilingMs();
      ceilings.push(ceiling);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000]);
  });

  it('jitters over the whole range [0, ceiling]', () => {
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 1_000, random: new SeededRandom(7) });
    const delays = Array.from({ length: 2_000 }, () => backoff.next());
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(950);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(450);
    expect(mean).toBeLessThan(550);
  });

  it('starts again from initialMs after reset()', () => {
    const backoff = new Backoff({ initialMs: 50, maxMs: 5_000, random: new SeededRandom(3) });
    for (let i = 0; i < 20; i++) backoff.next();
    expect(backoff.ceilingMs()).toBe(5_000);
    backoff.reset();
    expect(backoff.ceilingMs()).toBe(50);
    expect(backoff.next()).toBeLessThanOrEqual(50);
  });

  it('replays the same delays from the same seed', () => {
    const run = (seed: number): number[] => {
      const backoff = new Backoff({ initialMs: 100, maxMs: 5_000, random: new SeededRandom(seed) });
      return Array.from({ length: 10 }, () => backoff.next());
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('rejects nonsense bounds', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10, random: new SeededRandom(1) })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10, random: new SeededRandom(1) })).toThrow(RangeError);
  });
});
