/**
 * Log replication (Raft §5.3, §5.4.2 / Figure 8), proposals and forwarding.
 */
import { describe, expect, it } from 'vitest';
import { RaftError } from '../../../src/raft/errors.js';
import { Network, diskWithTerms, termsOf } from './network.js';

describe('log replication', () => {
  // Reference: §5.3 "once the entry has been safely replicated, the leader applies it"
  it('replicates and applies proposals on every node, in order', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    for (let i = 0; i < 20; i++) net.raw('a').propose(`v${i}`);
    net.deliver();
    const want = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const id of ['a', 'b', 'c']) expect(net.node(id).applied).toEqual(want);
  });

  // Reference: thesis §10.2.1 "the leader may write to its disk in parallel with replication"
  it('leader appends go out before the leader persists them; its own entry counts only after advance', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    const a = net.raw('a');
    a.propose('p');
    const rd = a.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    expect(rd.earlyMessages.filter((m) => m.type === 'App').length).toBe(2);
    expect(rd.messages).toEqual([]);
    // Followers ack before the leader's own fsync: commit needs only b and c then.
    net.queue.push(...rd.earlyMessages);
    net.deliver();
    expect(a.status().commit).toBe(3);
    a.advance(rd);
    net.deliver();
    expect(net.node('a').applied).toEqual(['p']);
  });

  // Reference: thesis §10.2.1 "the leader ... counts itself in the majority only once it has
  // written the entry to its own disk"
  it('the leader does not count its own unpersisted entry toward commit', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    const a = net.raw('a');
    a.propose('p');
    const rd = a.ready();
    // Only b acks: a majority needs a itself, and a has not persisted yet.
    net.queue.push(...rd.earlyMessages);
    net.deliver();
    expect(a.status().commit).toBe(2);
    a.advance(rd);
    net.deliver();
    expect(a.status().commit).toBe(3);
  });

  // Reference: Figure 2, AppendEntries receiver rule 5 "set commitIndex = min(leaderCommit,
  // index of last new entry)" — never past what this message verified.
  it('a follower commits only up to the last entry the App verified, not its stale tail', () => {
    const net = new Network(['a', 'b', 'c'], {}, {
      a: diskWithTerms([1, 1, 3], { term: 3, commit: 1 }),
      b: diskWithTerms([1, 1, 2, 2, 2], { term: 3, commit: 1 }),
      c: diskWithTerms([1, 1, 3], { term: 3, commit: 1 }),
    });
    const b = net.raw('b');
    // A heartbeat-like App from leader a (term 4) verifying only index 2, with commit 5.
    b.step({ group: 'g', type: 'App', from: 'a', to: 'b', term: 4, index: 1, logTerm: 1, commit: 5,
      entries: [{ index: 2, term: 1, type: 'normal', data: new TextEncoder().encode('2@1') }],
      reject: false, rejectHint: 0, context: '' });
    expect(b.status().commit).toBe(2);
  });

  // Reference: §5.3 / etcd: a heartbeat carries min(commit, follower match), so a follower
  // with a stale divergent tail never commits entries the leader has not verified there.
  it('heartbeats never make a follower commit its unverified, divergent tail', () => {
    const net = new Network(['a', 'b', 'c'], {}, {
      a: diskWithTerms([1, 1, 3], { term: 3, commit: 2 }),
      b: diskWithTerms([1, 1, 2, 2], { term: 3, commit: 2 }),
      c: diskWithTerms([1, 1, 3], { term: 3, commit: 2 }),
    });
    net.dropIf = (m) => m.type === 'App' && m.to === 'b'; // b hears only heartbeats
    net.campaign('a');
    net.tick(5);
    expect(net.raw('a').status().commit).toBe(4);
    expect(net.raw('b').status().commit).toBe(2);
    expect(net.node('b').applied).toEqual(['1@1', '2@1']);
    net.dropIf = undefined;
    net.tick(2);
    expect(net.node('b').applied).toEqual(['1@1', '2@1', '3@3']);
  });

  // Reference: thesis §10.2.2 pipelining: in replicate state the leader sends without waiting
  // for acks, up to maxInflightMsgs Apps in flight per follower; acks reopen the window.
  it('pipelines Apps up to the inflight window, then waits for acks', () => {
    const net = new Network(['a', 'b', 'c'], { maxSizePerMsg: 1, maxInflightMsgs: 3 });
    net.campaign('a');
    net.propose('a', 'warm-up'); // b and c are in replicate state now
    let held: typeof net.queue = [];
    net.dropIf = (m) => {
      if (m.type === 'AppResp' && m.from === 'b') held.push(m);
      return m.type === 'AppResp' && m.from === 'b';
    };
    net.resetCounts();
    for (let i = 0; i < 10; i++) net.raw('a').propose(`p${i}`);
    net.deliver();
    // b answered exactly the window: 3 one-entry Apps, then the leader waited (c, acking,
    // got all ten).
    expect(held.length).toBe(3);
    expect(net.node('c').applied.length).toBe(11);
    net.dropIf = undefined;
    const acks = held;
    held = [];
    net.queue.push(...acks);
    net.deliver();
    expect(net.node('b').applied.length).toBe(11);
  });

  // Reference: §5.3 "the leader batches": many proposals between two Readies share one App
  it('batches proposals made between two Readies into one App per follower', () => {
    const net = new Network(['a', 'b', 'c'], { maxSizePerMsg: 1 << 20 });
    net.campaign('a');
    net.resetCounts();
    for (let i = 0; i < 50; i++) net.raw('a').propose(`v${i}`);
    net.deliver();
    // One App per follower with the 50 entries, plus one more round carrying the commit index.
    expect(net.count('App')).toBeLessThanOrEqual(4);
    expect(net.node('c').applied.length).toBe(50);
  });

  // Reference: Figure 8 / §5.4.2 "Raft never commits log entries from previous terms by
  // counting replicas"
  describe('Figure 8', () => {
    const setup = () => {
      // (c) in the figure: S1 holds 2@t2 (replicated to S2 only), S5 holds 2@t3; all at term 3.
      const net = new Network(['s1', 's2', 's3', 's4', 's5'], { maxSizePerMsg: 1 }, {
        s1: diskWithTerms([1, 2], { term: 3, commit: 1 }),
        s2: diskWithTerms([1, 2], { term: 3, commit: 1 }),
        s3: diskWithTerms([1], { term: 3, commit: 1 }),
        s4: diskWithTerms([1], { term: 3, commit: 1 }),
        s5: diskWithTerms([1, 3], { term: 3, commit: 1 }),
      });
      // S1 is elected for term 4 (S5 refuses); its term-4 noop (index 3) is held back from
      // anyone who would accept it (a follower without index 2 still gets the probe and rejects).
      net.dropIf = (m) =>
        m.type === 'App' && m.entries.some((e) => e.index === 3) && net.node(m.to).disk.entries.length >= 2;
      net.campaign('s1');
      net.tick(3);
      return net;
    };

    it('an entry from an old term replicated on a majority is not committed', () => {
      const net = setup();
      expect(net.raw('s1').status()).toMatchObject({ role: 'leader', term: 4 });
      // 2@t2 is now on s1, s2?, s3, s4: a majority, yet not committed.
      const holders = ['s1', 's2', 's3', 's4'].filter((id) => net.node(id).disk.entries[1]?.term === 2);
      expect(holders.length).toBeGreaterThanOrEqual(3);
      expect(net.raw('s1').status().commit).toBe(1);
      // (d): were it committed, this would lose it: S5 can still win and overwrite index 2.
      net.crash('s1');
      // Let the others' leader lease on s1 run out (their own campaigns get nowhere), then S5
      // campaigns, as in (d).
      net.dropIf = (m) => m.type === 'PreVote' && m.from !== 's5';
      net.tick(12, ['s2', 's3', 's4']);
      net.dropIf = undefined;
      net.campaign('s5');
      expect(net.leaders()).toEqual(['s5']);
      for (const id of ['s2', 's3', 's4', 's5']) expect(termsOf(net.node(id).disk).slice(0, 2)).toEqual([1, 3]);
    });

    it('it is committed once an entry of the current term is replicated on a majority', () => {
      const net = setup();
      net.dropIf = undefined;
      net.tick(2);
      const s1 = net.raw('s1').status();
      expect(s1.commit).toBe(3);
      for (const id of ['s1', 's2', 's3', 's4']) expect(net.node(id).applied).toEqual(['1@1', '2@2']);
    });
  });

  // Reference: §5.3 "the leader forces the followers' logs to duplicate its own" and the
  // optimization "the follower can include the term of the conflicting entry".
  it('repairs a follower with a divergent log, skipping a whole term per round trip', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    // Figure 7 (f): a follower that led terms 2 and 3 and never got their entries committed.
    const divergent = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3];
    const net = new Network(['a', 'b', 'c'], {}, {
      a: diskWithTerms(leaderLog, { term: 6, commit: 3 }),
      b: diskWithTerms(divergent, { term: 6, commit: 3 }),
      c: diskWithTerms(leaderLog, { term: 6, commit: 3 }),
    });
    net.campaign('a');
    net.tick(3);
    const rejections = net.count('AppResp'); // upper bound; count rejections precisely below
    expect(rejections).toBeGreaterThan(0);
    expect(termsOf(net.node('b').disk)).toEqual([...leaderLog, 7]);
    expect(net.node('b').applied).toEqual(net.node('a').applied);
  });

  it('counts the rejecting round trips of the repair (fast back-off: one per divergent term)', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const divergent = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3];
    const net = new Network(['a', 'b', 'c'], {}, {
      a: diskWithTerms(leaderLog, { term: 6, commit: 3 }),
      b: diskWithTerms(divergent, { term: 6, commit: 3 }),
      c: diskWithTerms(leaderLog, { term: 6, commit: 3 }),
    });
    let rejects = 0;
    net.dropIf = (m) => {
      if (m.type === 'AppResp' && m.from === 'b' && m.reject) rejects++;
      return false;
    };
    net.campaign('a');
    net.tick(3);
    // Naive back-off needs one round trip per entry (8 here); with the conflict term hint the
    // follower answers "my last index with term <= 6 is 11 (term 3)", the leader skips to its
    // last entry of term <= 3 (index 3): two rejections.
    expect(rejects).toBeLessThanOrEqual(2);
    expect(termsOf(net.node('b').disk)).toEqual([...leaderLog, 7]);
  });

  // Reference: §5.3 "a follower's log may be missing entries" — the leader probes backwards.
  it('a restarted follower that lost its unsynced tail catches up', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.crash('c');
    for (let i = 0; i < 10; i++) net.propose('a', `y${i}`);
    net.restart('c');
    net.tick(3);
    expect(net.node('c').applied).toEqual(net.node('a').applied);
    expect(net.node('c').applied.length).toBe(11);
  });
});

describe('proposals when not leader', () => {
  it('a follower refuses a proposal with NOT_LEADER naming the leader, so the driver can forward', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    let err: unknown;
    try {
      net.raw('b').propose('x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RaftError);
    expect(err).toMatchObject({ code: 'NOT_LEADER', lead: 'a' });
  });

  it('a Prop message stepped into a follower is forwarded to the leader and committed', () => {
    const net = new Network(['a', 'b', 'c']);
    net.campaign('a');
    net.raw('b').step({
      group: 'g', type: 'Prop', from: 'b', to: 'b', term: 0, index: 0, logTerm: 0, commit: 0,
      entries: [{ index: 0, term: 0, type: 'normal', data: new TextEncoder().encode('fwd') }],
      reject: false, rejectHint: 0, context: '',
    });
    net.deliver();
    for (const id of ['a', 'b', 'c']) expect(net.node(id).applied).toEqual(['fwd']);
  });

  it('a candidate with no leader known refuses with NOT_LEADER and no leader hint', () => {
    const net = new Network(['a', 'b', 'c']);
    net.isolate('a');
    net.tick(25, ['a']);
    expect(() => net.raw('a').propose('x')).toThrow(expect.objectContaining({ code: 'NOT_LEADER', lead: '' }));
  });
});
