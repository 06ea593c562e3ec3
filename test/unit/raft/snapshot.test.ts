/**
 * Log compaction and InstallSnapshot (Raft §7), chunked under the message size limit.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/util/random.js';
import { Network } from './network.js';

function behindFollower(opts: { maxSizePerMsg: number }) {
  const net = new Network(['a', 'b', 'c'], { maxSizePerMsg: opts.maxSizePerMsg, electionTick: 10 });
  net.campaign('a');
  net.crash('c');
  for (let i = 0; i < 30; i++) net.propose('a', `value-${i}-${'x'.repeat(20)}`);
  net.compact('a');
  net.compact('b');
  return net;
}

describe('snapshots', () => {
  // Reference: §7 "the leader must occasionally send snapshots to followers that lag behind"
  it('sends a snapshot in chunks to a far-behind follower, which restores and catches up', () => {
    const net = behindFollower({ maxSizePerMsg: 128 });
    const snapIndex = net.node('a').disk.snapshot!.meta.index;
    expect(net.node('a').disk.entries.length).toBe(0);
    net.restart('c');
    net.resetCounts();
    let maxChunk = 0;
    net.dropIf = (m) => {
      if (m.type === 'Snap') maxChunk = Math.max(maxChunk, m.snapData?.length ?? 0);
      return false;
    };
    net.tick(3);
    expect(net.count('Snap')).toBeGreaterThan(5);
    expect(maxChunk).toBeLessThanOrEqual(128);
    const c = net.node('c');
    expect(c.disk.snapshot?.meta.index).toBe(snapIndex);
    expect(c.applied).toEqual(net.node('a').applied);
    net.propose('a', 'after-snapshot');
    expect(c.applied.at(-1)).toBe('after-snapshot');
    expect(c.applied.length).toBe(31);
  });

  // Reference: DESIGN "snapshots travel in chunks and never queue ahead of heartbeats"
  it('heartbeats keep flowing while a snapshot stream stalls, and the stream resumes', () => {
    const net = behindFollower({ maxSizePerMsg: 64 });
    net.restart('c');
    net.dropIf = (m) => m.type === 'SnapResp';
    net.resetCounts();
    net.tick(30);
    // The follower kept hearing the leader, so it never campaigned.
    expect(net.count('Heartbeat')).toBeGreaterThanOrEqual(30);
    expect(net.raw('c').status()).toMatchObject({ role: 'follower', lead: 'a', term: 2 });
    // Without acknowledgements the window stops the stream: no flood of chunks.
    expect(net.count('Snap')).toBeLessThan(60);
    net.dropIf = undefined;
    net.tick(25);
    expect(net.node('c').applied).toEqual(net.node('a').applied);
  });

  it('recovers from lost chunks (resends from what the follower holds after an idle period)', () => {
    const net = behindFollower({ maxSizePerMsg: 64 });
    net.restart('c');
    const random = new SeededRandom(7);
    let dropped = 0;
    net.dropIf = (m) => m.type === 'Snap' && random.chance(0.3) && ++dropped > 0;
    net.tick(100);
    expect(dropped).toBeGreaterThan(3);
    expect(net.node('c').applied).toEqual(net.node('a').applied);
  });

  it('a restarted node restores from its own snapshot and replays only the entries after it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.compact('b');
    net.propose('a', 'v5');
    net.crash('b');
    net.restart('b');
    net.tick(2);
    expect(net.node('b').applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
  });

  it('refuses to compact beyond the applied index', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    expect(() => net.raw('a').compact(5, new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'COMPACTED' }));
  });
});
