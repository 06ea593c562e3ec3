/**
 * Leadership transfer (thesis §3.10).
 */
import { describe, expect, it } from 'vitest';
import { Network } from './network.js';

describe('leadership transfer', () => {
  // Reference: thesis §3.10 "the prior leader sends a TimeoutNow request to the target server"
  it('moves leadership to an up-to-date target, which campaigns past the leader lease', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.resetCounts();
    net.raw('a').transferLeadership('b');
    net.deliver();
    expect(net.count('TimeoutNow')).toBe(1);
    expect(net.count('PreVote')).toBe(0); // the transfer campaign skips PreVote
    expect(net.leaders()).toEqual(['b']);
    expect(net.raw('b').status().term).toBe(3);
    net.propose('b', 'y');
    expect(net.node('a').applied).toEqual(['x', 'y']);
  });

  // Reference: thesis §3.10 "the prior leader stops accepting new client requests" and
  // "brings the target's log up to date"
  it('catches a lagging target up first, refusing proposals meanwhile', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.raw('a').transferLeadership('c');
    expect(net.raw('a').status().leadTransferee).toBe('c');
    expect(() => net.raw('a').propose('no')).toThrow(expect.objectContaining({ code: 'TRANSFER_IN_PROGRESS' }));
    net.heal();
    net.tick(2);
    expect(net.leaders()).toEqual(['c']);
    expect(net.node('c').applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  // Reference: thesis §3.10 "if the transfer does not complete within an election timeout,
  // the prior leader aborts it and resumes accepting client requests"
  it('aborts after an election timeout when the target is unreachable', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.raw('a').transferLeadership('c');
    net.tick(9);
    expect(net.raw('a').status().leadTransferee).toBe('c');
    net.tick(1);
    expect(net.raw('a').status()).toMatchObject({ role: 'leader', leadTransferee: '' });
    net.propose('a', 'resumed');
    expect(net.node('b').applied).toEqual(['resumed']);
  });

  it('a follower forwards a transfer request to the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.raw('c').transferLeadership('c');
    net.deliver();
    expect(net.leaders()).toEqual(['c']);
  });
});
