/**
 * Leader election (Raft §5.2, thesis §9.6 PreVote, thesis §6.2 CheckQuorum).
 */
import { describe, expect, it } from 'vitest';
import { RawNode } from '../../../src/raft/raw-node.js';
import { SeededRandom } from '../../../src/util/random.js';
import { Network, diskWithTerms } from './network.js';

describe('leader election', () => {
  // Reference: §5.2 "a candidate wins an election if it receives votes from a majority"
  it('elects exactly one leader in a 3-node cluster, and followers learn it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    expect(net.leaders()).toEqual(['a']);
    for (const id of ['b', 'c']) {
      expect(net.raw(id).status()).toMatchObject({ role: 'follower', lead: 'a', term: 2 });
    }
  });

  // Reference: §5.2 "each server will vote for at most one candidate in a given term"
  it('a node votes for at most one candidate per term, and the vote is persisted before it is sent', () => {
    const net = new Network(['a', 'b', 'c']);
    net.processReadies(); // bootstrap entry persisted and applied
    const b = net.raw('b');
    const vote = (from: string) =>
      b.step({ group: 'g', type: 'Vote', from, to: 'b', term: 2, index: 1, logTerm: 1, commit: 0, entries: [], reject: false, rejectHint: 0, context: '' });
    vote('a');
    const rd = b.ready();
    expect(rd.hardState).toMatchObject({ term: 2, vote: 'a' });
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'VoteResp', to: 'a', reject: false })]);
    expect(rd.earlyMessages).toEqual([]);
    b.advance(rd);
    vote('c');
    const rd2 = b.ready();
    expect(rd2.messages).toEqual([expect.objectContaining({ type: 'VoteResp', to: 'c', reject: true })]);
    b.advance(rd2);
  });

  // Reference: §5.4.1 "the voter denies its vote if its own log is more up-to-date"
  it('a candidate with a less up-to-date log cannot win', () => {
    const net = new Network(['a', 'b', 'c'], {}, {
      a: diskWithTerms([1, 1, 2], { term: 2, commit: 2 }),
      b: diskWithTerms([1, 1, 2], { term: 2, commit: 2 }),
      c: diskWithTerms([1, 1], { term: 2, commit: 2 }),
    });
    net.resetCounts();
    net.campaign('c');
    expect(net.count('PreVoteResp')).toBe(2);
    expect(net.raw('c').status().role).not.toBe('leader');
    expect(net.leaders()).toEqual([]);
    net.tick(40);
    expect(net.leaders()).not.toContain('c');
    expect(net.leaders().length).toBe(1);
  });

  // Reference: §5.2 "election timeouts are chosen randomly from a fixed interval"
  it('randomizes the election timeout in [electionTick, 2*electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const n = new RawNode({ id: 'a', group: 'g', peers: ['a', 'b', 'c'], electionTick: 10, random: new SeededRandom(seed) });
      n.advance(n.ready()); // applies the bootstrap membership entry
      let ticks = 0;
      while (n.status().role === 'follower' && ticks < 100) {
        n.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...seen)).toBeLessThan(20);
    expect(seen.size).toBeGreaterThan(5);
  });

  // Reference: §5.2, thesis §3.6 "re-election after leader loss"
  it('re-elects a leader after the leader crashes, in a higher term', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e']);
    net.campaign('a');
    net.propose('a', 'x');
    net.crash('a');
    net.tick(40);
    const [leader] = net.leaders();
    expect(leader).toBeDefined();
    expect(leader).not.toBe('a');
    const st = net.raw(leader!).status();
    expect(st.term).toBeGreaterThan(1);
    net.propose(leader!, 'y');
    for (const id of ['b', 'c', 'd', 'e']) expect(net.node(id).applied).toEqual(['x', 'y']);
  });

  // Reference: thesis §9.6 PreVote "a server that rejoins the cluster does not disrupt it"
  it('a rejoining partitioned node does not disrupt the cluster (PreVote, term unchanged)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.tick(100);
    // c campaigned repeatedly but only in pre-vote: its term never moved.
    expect(net.raw('c').status().term).toBe(2);
    net.heal();
    net.tick(5);
    expect(net.leaders()).toEqual(['a']);
    for (const id of ['a', 'b', 'c']) expect(net.raw(id).status().term).toBe(2);
    net.propose('a', 'after');
    expect(net.node('c').applied).toEqual(['after']);
  });

  // Reference: thesis §4.2.3 "servers disregard RequestVote when they believe a leader exists"
  it('followers with a live leader ignore a vote request (leader lease)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.tick(2);
    net.raw('b').step({ group: 'g', type: 'Vote', from: 'c', to: 'b', term: 5, index: 99, logTerm: 9, commit: 0, entries: [], reject: false, rejectHint: 0, context: '' });
    expect(net.raw('b').status()).toMatchObject({ term: 2, lead: 'a', vote: 'a' });
  });

  // Reference: thesis §6.2 CheckQuorum "a leader steps down if an election timeout elapses
  // without a successful round of heartbeats to a majority"
  it('a partitioned leader steps down (CheckQuorum)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    net.tick(21, ['a']);
    expect(net.raw('a').status().role).toBe('follower');
    net.tick(40, ['b', 'c']);
    const leaders = net.leaders();
    expect(leaders.length).toBe(1);
    expect(leaders[0]).not.toBe('a');
  });

  it('a single-node cluster elects itself and commits alone', () => {
    const net = new Network(['a']);
    net.tick(20);
    expect(net.leaders()).toEqual(['a']);
    net.propose('a', 'solo');
    expect(net.node('a').applied).toEqual(['solo']);
  });
});
