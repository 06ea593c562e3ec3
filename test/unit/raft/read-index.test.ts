/**
 * Linearizable reads through ReadIndex (thesis §6.4).
 */
import { describe, expect, it } from 'vitest';
import { Network } from './network.js';

describe('ReadIndex', () => {
  // Reference: thesis §6.4 steps 1-4: record commit, confirm leadership by a heartbeat round,
  // wait for apply >= readIndex, then serve.
  it('the leader serves a read after a quorum confirms its leadership', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.resetCounts();
    net.raw('a').readIndex('r1');
    net.deliver();
    expect(net.node('a').reads).toEqual([{ index: 3, ctx: 'r1' }]);
    expect(net.count('Heartbeat')).toBe(2);
  });

  it('no quorum acknowledgement, no read', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.dropIf = (m) => m.type === 'HeartbeatResp';
    net.raw('a').readIndex('r1');
    net.deliver();
    expect(net.node('a').reads).toEqual([]);
  });

  // Reference: thesis §6.4 "followers forward the read to the leader"
  it('a follower forwards the read and serves it once it has applied the read index', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.raw('c').readIndex('rc');
    net.deliver();
    expect(net.node('c').reads).toEqual([{ index: 3, ctx: 'rc' }]);
    expect(net.node('c').applied).toEqual(['x']);
  });

  // Reference: thesis §6.4 step 1 "if the leader has not yet marked an entry from its current
  // term committed, it waits until it has"
  it('a new leader defers reads until it has committed an entry of its term', () => {
    const net = new Network(['a', 'b', 'c']);
    net.dropIf = (m) => m.type === 'AppResp';
    net.campaign('a');
    expect(net.raw('a').status().role).toBe('leader');
    net.raw('a').readIndex('early');
    net.deliver();
    expect(net.node('a').reads).toEqual([]);
    net.dropIf = undefined;
    net.tick(2);
    expect(net.node('a').reads).toEqual([{ index: 2, ctx: 'early' }]);
  });

  // Reference: thesis §6.4 "a leader that has been deposed must not serve stale data"
  it("refuses a deposed leader's stale read", () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'old');
    net.isolate('a');
    net.tick(40, ['b', 'c']);
    const [newLeader] = net.leaders().filter((id) => id !== 'a');
    expect(newLeader).toBeDefined();
    net.propose(newLeader!, 'new');
    // a still believes it leads (CheckQuorum has not fired yet: it was not ticked).
    expect(net.raw('a').status().role).toBe('leader');
    net.raw('a').readIndex('stale');
    net.deliver();
    expect(net.node('a').reads).toEqual([]);
    net.heal();
    net.tick(3);
    // The heartbeat round reached the others, but they answer with a higher term: a steps down
    // and the read is never served. The new leader serves reads that include 'new'.
    expect(net.node('a').reads).toEqual([]);
    expect(net.raw('a').status().role).toBe('follower');
    net.raw(newLeader!).readIndex('fresh');
    net.deliver();
    const read = net.node(newLeader!).reads[0];
    expect(read?.ctx).toBe('fresh');
    expect(read!.index).toBeGreaterThanOrEqual(5);
  });

  it('a single-voter leader serves reads at once', () => {
    const net = new Network(['a']);
    net.campaign('a');
    net.raw('a').readIndex('solo');
    net.deliver();
    expect(net.node('a').reads).toEqual([{ index: 2, ctx: 'solo' }]);
  });
});
