import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailureDetector } from '../../../src/cluster/failure-detector.js';

describe('FailureDetector', () => {
  it('reports a peer up on first contact, down after the timeout, up again when heard', () => {
    const fd = new FailureDetector(['a', 'b'], 1000);
    expect(fd.health('a')).toMatchObject({ reachable: false, lastHeardAt: undefined });
    expect(fd.heard('a', 0)).toEqual({ id: 'a', reachable: true, at: 0 });
    expect(fd.heard('a', 100, 3)).toBeUndefined();
    expect(fd.health('a')).toMatchObject({ reachable: true, lastHeardAt: 100, rttMs: 3 });
    expect(fd.check(1099)).toEqual([]);
    expect(fd.check(1100)).toEqual([{ id: 'a', reachable: false, at: 1100 }]);
    expect(fd.check(5000)).toEqual([]); // reported once
    expect(fd.heard('a', 5001)).toEqual({ id: 'a', reachable: true, at: 5001 });
  });

  it('never reports a peer it has never heard as down', () => {
    const fd = new FailureDetector(['a'], 10);
    expect(fd.check(1_000_000)).toEqual([]);
  });

  it('ignores unknown peers and removed ones', () => {
    const fd = new FailureDetector(['a'], 10);
    expect(fd.heard('zz', 0)).toBeUndefined();
    fd.heard('a', 0);
    fd.removePeer('a');
    expect(fd.check(100)).toEqual([]);
    expect(fd.all()).toEqual([]);
  });

  it('alternates up and down events for any timeline (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 500 })), { maxLength: 200 }), (steps) => {
        const fd = new FailureDetector(['p'], 200);
        let now = 0;
        let lastHeard: number | undefined;
        const seen: boolean[] = [];
        for (const [hear, gap] of steps) {
          now += gap;
          const change = hear ? fd.heard('p', now) : fd.check(now)[0];
          if (hear) lastHeard = now;
          if (change) seen.push(change.reachable);
          const health = fd.health('p')!;
          // Down is only ever reported once the timeout has really passed.
          if (!health.reachable && lastHeard !== undefined) expect(now - lastHeard).toBeGreaterThanOrEqual(200);
        }
        for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
        if (seen.length > 0) expect(seen[0]).toBe(true);
      }),
    );
  });
});
