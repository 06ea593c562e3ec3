/**
 * Single-server membership changes (thesis §4.1-§4.2) with learners (thesis §4.2.1).
 */
import { describe, expect, it } from 'vitest';
import { Network } from './network.js';

function withLeader() {
  const net = new Network(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'x');
  return net;
}

describe('membership changes', () => {
  // Reference: thesis §4.2.1 "new servers join as non-voting members until caught up"
  it('adds a learner that receives the log but neither votes nor counts for commit', () => {
    const net = withLeader();
    net.addNode('d', []); // joins with an empty log: learns membership by replication
    net.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' });
    net.deliver();
    net.tick(2);
    expect(net.raw('a').status().config).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    expect(net.raw('d').status().config).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    expect(net.node('d').applied).toEqual(['x']);
    // With b and c cut off, a and the learner d are no quorum.
    net.partition(['a', 'd'], ['b', 'c']);
    const before = net.raw('a').status().commit;
    net.raw('a').propose('y');
    net.deliver();
    expect(net.raw('a').status().commit).toBe(before);
    // A learner never campaigns.
    net.tick(60, ['d']);
    expect(net.raw('d').status().role).toBe('follower');
  });

  it('promotes a caught-up learner (progress shows it), which then counts for quorum', () => {
    const net = withLeader();
    net.addNode('d', []);
    net.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' });
    net.tick(2);
    const st = net.raw('a').status();
    expect(st.progress['d']).toMatchObject({ learner: true, match: st.lastIndex });
    net.raw('a').proposeConfChange({ type: 'promote', nodeId: 'd' });
    net.tick(2);
    expect(net.raw('a').status().config).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    // 4 voters need 3: a + d alone cannot commit; a + b + d can.
    net.isolate('c');
    net.propose('a', 'with-d');
    expect(net.node('d').applied.at(-1)).toBe('with-d');
    expect(net.node('a').applied.at(-1)).toBe('with-d');
  });

  it('removes a follower; the rest keep committing without it', () => {
    const net = withLeader();
    net.raw('a').proposeConfChange({ type: 'remove', nodeId: 'c' });
    net.tick(2);
    expect(net.raw('a').status().config.voters).toEqual(['a', 'b']);
    net.crash('c');
    net.propose('a', 'after');
    expect(net.node('b').applied.at(-1)).toBe('after');
  });

  // Reference: thesis §4.2.2 "the leader steps down once the Cnew entry is committed"
  it('removing the leader makes it step down after the change commits, and a new leader is elected', () => {
    const net = withLeader();
    net.raw('a').proposeConfChange({ type: 'remove', nodeId: 'a' });
    net.tick(2);
    expect(net.raw('a').status().role).toBe('follower');
    net.tick(40);
    const leaders = net.leaders();
    expect(leaders.length).toBe(1);
    expect(leaders[0]).not.toBe('a');
    net.propose(leaders[0]!, 'without-a');
    expect(net.node('b').applied.at(-1)).toBe('without-a');
  });

  // Reference: thesis §4.1 "at most one change at a time" and the 2015 erratum "a leader may
  // not append a new configuration entry until it has committed an entry from its term"
  it('refuses a second change while one is pending, and any change before the leader commits in its term', () => {
    const net = withLeader();
    net.dropIf = (m) => m.type === 'AppResp';
    net.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' });
    expect(() => net.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'e' })).toThrow(
      expect.objectContaining({ code: 'CONF_CHANGE_PENDING' }),
    );
    const fresh = new Network(['a', 'b', 'c']);
    fresh.dropIf = (m) => m.type === 'AppResp';
    fresh.campaign('a');
    expect(fresh.raw('a').status().role).toBe('leader');
    expect(() => fresh.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' })).toThrow(
      expect.objectContaining({ code: 'CONF_CHANGE_PENDING' }),
    );
  });

  it('refuses nonsensical changes', () => {
    const net = withLeader();
    expect(() => net.raw('a').proposeConfChange({ type: 'promote', nodeId: 'b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONF_CHANGE' }),
    );
    expect(() => net.raw('a').proposeConfChange({ type: 'remove', nodeId: 'zz' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONF_CHANGE' }),
    );
  });

  it('a restarted node recovers its membership from the log (and from snapshots)', () => {
    const net = withLeader();
    net.addNode('d', []);
    net.raw('a').proposeConfChange({ type: 'addLearner', nodeId: 'd' });
    net.tick(2);
    net.compact('b');
    net.crash('b');
    net.restart('b', []);
    net.crash('d');
    net.restart('d', []);
    net.tick(2);
    for (const id of ['b', 'd']) expect(net.raw(id).status().config).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
  });
});
