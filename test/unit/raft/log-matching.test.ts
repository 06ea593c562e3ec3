/**
 * Log Matching and State Machine Safety under random schedules (Raft §5.3, Figure 3), as a
 * property: fast-check draws sequences of proposals, partitions, crashes and ticks on a
 * 5-node network; afterwards every pair of logs agrees on the whole prefix up to any entry
 * they share, and no two nodes applied different entries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Network, type Disk } from './network.js';

const ids = ['a', 'b', 'c', 'd', 'e'] as const;
const decoder = new TextDecoder();

type Op =
  | { kind: 'propose'; n: number }
  | { kind: 'isolate'; node: number }
  | { kind: 'heal' }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'tick'; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('propose' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('isolate' as const), node: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('crash' as const), node: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('restart' as const), node: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('tick' as const), n: fc.integer({ min: 1, max: 30 }) }),
);

/** Log matching: equal (index, term) at some index implies equal entries up to it. */
function checkLogMatching(disks: readonly Disk[]): void {
  for (const x of disks) {
    for (const y of disks) {
      const byIndex = new Map(y.entries.map((e) => [e.index, e]));
      let matchedAt = 0;
      for (const e of x.entries) {
        const o = byIndex.get(e.index);
        if (o && o.term === e.term) matchedAt = e.index;
      }
      for (const e of x.entries) {
        if (e.index > matchedAt) break;
        const o = byIndex.get(e.index);
        if (!o) continue; // compacted on one side
        expect(o.term, `entry ${e.index}`).toBe(e.term);
        expect(decoder.decode(o.data)).toBe(decoder.decode(e.data));
      }
    }
  }
}

describe('log matching after random appends', () => {
  // Reference: §5.3 "if two logs contain an entry with the same index and term, then the logs
  // are identical in all entries up through the given index"
  it('holds for random schedules of proposals, partitions, crashes and ticks', () => {
    let seq = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => {
        const net = new Network([...ids]);
        const down = new Set<string>();
        for (const o of ops) {
          switch (o.kind) {
            case 'propose': {
              for (const id of net.leaders()) {
                for (let i = 0; i < o.n; i++) net.raw(id).propose(`p${seq++}`);
              }
              net.deliver();
              break;
            }
            case 'isolate':
              net.isolate(ids[o.node]!);
              break;
            case 'heal':
              net.heal();
              break;
            case 'crash':
              net.crash(ids[o.node]!);
              down.add(ids[o.node]!);
              break;
            case 'restart':
              if (down.delete(ids[o.node]!)) net.restart(ids[o.node]!);
              break;
            case 'tick':
              net.tick(o.n);
              break;
          }
        }
        checkLogMatching(ids.map((id) => net.node(id).disk));
        // State machine safety: applied sequences are prefixes of one another.
        const applied = ids.map((id) => net.node(id).applied);
        const longest = applied.reduce((a, b) => (b.length > a.length ? b : a));
        for (const seqs of applied) expect(seqs).toEqual(longest.slice(0, seqs.length));
      }),
      { numRuns: 150, seed: Number(process.env['DISTSYNC_RAFT_FC_SEED'] ?? 42) },
    );
  });
});
