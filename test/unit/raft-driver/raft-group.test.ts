/**
 * The Raft driver on real WALs (temp dirs, fsync on) over the in-memory network: proposals
 * from any node resolve with the result on that node, every replica applies the same
 * commands in the same order exactly once, a leader crash is survived, a restarted node
 * catches up from its own WAL, and without a quorum proposals fail with UNAVAILABLE.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { unpackForwarded } from '../../../src/raft/driver/forward-codec.js';
import { RAFT_PROPOSE } from '../../../src/raft/driver/message-codec.js';
import { RaftGroup } from '../../../src/raft/driver/raft-group.js';
import { Wal } from '../../../src/storage/index.js';
import { MemoryNetwork } from '../../../src/transport/memory-network.js';
import type { PeerTransport } from '../../../src/transport/types.js';
import { SeededRandom } from '../../../src/util/random.js';
import { RealScheduler } from '../../../src/util/scheduler.js';
import { waitFor } from '../../helpers/wait-for.js';
import { CounterMachine, add } from './counter-machine.js';

const IDS = ['a', 'b', 'c'];

interface Member {
  id: string;
  dir: string;
  transport: PeerTransport;
  wal: Wal;
  machine: CounterMachine;
  group: RaftGroup;
}

class Cluster {
  /** Election timeout in 20 ms ticks (5 = 100 ms). */
  constructor(private readonly electionTick = 5) {}

  readonly network = new MemoryNetwork({ scheduler: new RealScheduler(), random: new SeededRandom(7) });
  readonly members = new Map<string, Member>();
  readonly transports = new Map<string, PeerTransport>();
  root = '';

  async start(): Promise<void> {
    this.root = await mkdtemp(path.join(os.tmpdir(), 'distsync-raft-'));
    for (const id of IDS) this.transports.set(id, this.network.createTransport(id));
    for (const id of IDS) await this.open(id);
  }

  async open(id: string): Promise<Member> {
    const dir = path.join(this.root, id);
    const { wal, recovered } = await Wal.open(dir, { fsync: 'always' });
    const machine = new CounterMachine();
    const group = new RaftGroup({
      group: 'meta',
      selfId: id,
      voters: IDS,
      transport: this.transports.get(id)!,
      wal,
      recovered,
      stateMachine: machine,
      scheduler: new RealScheduler(),
      random: new SeededRandom(id.charCodeAt(0)),
      logger: silentLogger(),
      tickMs: 20,
      electionTick: this.electionTick,
      requestTimeoutMs: 3_000,
      snapshotEvery: 50,
    });
    group.start();
    const member = { id, dir, transport: this.transports.get(id)!, wal, machine, group };
    this.members.set(id, member);
    return member;
  }

  async crash(id: string): Promise<void> {
    const m = this.members.get(id)!;
    this.network.crash(id);
    await m.group.stop();
    await m.wal.close();
    this.members.delete(id);
  }

  async restart(id: string): Promise<Member> {
    this.network.restart(id);
    return this.open(id);
  }

  leader(): Member | undefined {
    return [...this.members.values()].find((m) => m.group.status().role === 'leader');
  }

  async stop(): Promise<void> {
    for (const m of this.members.values()) {
      await m.group.stop();
      await m.wal.close();
    }
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * Holds the next append, and every append after it, until released: the driver writes
 * asynchronously, and the WAL must still receive its writes in order.
 */
function holdNextAppend(wal: Wal): () => void {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const append = wal.append.bind(wal);
  let gate: Promise<unknown> = held;
  wal.append = (batch) => {
    const run = gate.then(() => append(batch));
    gate = run.catch(() => undefined);
    return run;
  };
  return release;
}

let cluster: Cluster;
afterEach(() => cluster?.stop());

describe('RaftGroup', () => {
  it('commits proposals made on every node, each resolved where it was made', async () => {
    cluster = new Cluster();
    await cluster.start();
    await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => cluster.members.get(IDS[i % 3]!)!.group.propose(add(1))),
    );
    expect(new Set(results).size).toBe(60); // each increment saw a distinct total
    expect(Math.max(...(results as number[]))).toBe(60);
    await waitFor(() => [...cluster.members.values()].every((m) => m.machine.total === 60), 5_000, 'replicas converge');
    const orders = [...cluster.members.values()].map((m) => m.machine.applied.map((a) => `${a.index}:${a.clientId}`));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
  });

  it('forwards the proposals a follower gets in one turn to the leader in one envelope', async () => {
    cluster = new Cluster();
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const follower = [...cluster.members.values()].find((m) => m !== leader)!;
    const forwarded: number[][] = [];
    leader.transport.onMessage((envelope) => {
      if (envelope.type === RAFT_PROPOSE && envelope.from === follower.id) {
        forwarded.push(unpackForwarded(envelope.body).proposals.map((p) => Number(Buffer.from(p.payload).toString('utf8').slice(4))));
      }
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => follower.group.propose(add(i + 1))));
    expect(Math.max(...(results as number[]))).toBe(210);
    // One envelope with all twenty, in the order they were proposed (a late re-send may follow).
    expect(forwarded[0]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await waitFor(() => leader.machine.total === 210, 5_000, 'the leader applied them once each');
    expect(leader.machine.applied).toHaveLength(20);
  });

  it('answers a proposal that came back to its node only inside a snapshot with a retryable error, never an empty result', async () => {
    cluster = new Cluster();
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const follower = [...cluster.members.values()].find((m) => m !== leader)!;
    // The follower is cut off the moment its forwarded proposal reaches the leader, so it
    // never sees that entry's append.
    const stopWatching = leader.transport.onMessage((envelope) => {
      if (envelope.type !== RAFT_PROPOSE || envelope.from !== follower.id) return;
      cluster.network.isolate(follower.id);
      stopWatching();
    });
    const p = follower.group.propose(add(7));
    await waitFor(() => leader.machine.total === 7, 2_000, 'p applied on the leader');
    // Past the snapshot interval (50): the follower can only catch up by snapshot.
    for (let i = 0; i < 60; i++) await leader.group.propose(add(1));
    cluster.network.heal();
    await expect(p).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE', retryable: true, applied: true } });
    await waitFor(() => follower.machine.total === leader.machine.total, 5_000, 'the follower caught up');
    expect(leader.machine.total).toBe(67); // p applied once, re-sends dropped as duplicates
  });

  it('survives a leader crash, and the restarted node catches up from its WAL', async () => {
    cluster = new Cluster();
    await cluster.start();
    const first = await waitFor(() => cluster.leader(), 5_000, 'a leader');
    for (let i = 0; i < 20; i++) await cluster.members.get('a')!.group.propose(add(1));
    await cluster.crash(first.id);
    const survivors = IDS.filter((id) => id !== first.id);
    const next = await waitFor(() => cluster.leader(), 5_000, 'a new leader');
    expect(next.id).not.toBe(first.id);
    const results = await Promise.all(survivors.map((id) => cluster.members.get(id)!.group.propose(add(10))));
    expect(Math.max(...(results as number[]))).toBe(40);
    const back = await cluster.restart(first.id);
    await waitFor(() => back.machine.total === 40, 5_000, 'restarted node caught up');
    expect(back.machine.applied.length).toBeLessThanOrEqual(22); // replayed from the log, once each
  });

  it('fails a proposal with UNAVAILABLE when no quorum is left', async () => {
    cluster = new Cluster();
    await cluster.start();
    await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const lone = cluster.members.get('a')!;
    cluster.network.isolate('a');
    const started = Date.now();
    await expect(lone.group.propose(add(1))).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE', retryable: true } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('serves a linearizable read barrier on a follower', async () => {
    cluster = new Cluster();
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const follower = [...cluster.members.values()].find((m) => m !== leader)!;
    await leader.group.propose(add(5));
    await follower.group.readBarrier();
    expect(follower.machine.total).toBe(5);
  });

  it('compacts its log into snapshots and brings a far-behind node back with one', async () => {
    cluster = new Cluster();
    await cluster.start();
    await waitFor(() => cluster.leader(), 5_000, 'a leader');
    const lagging = [...cluster.members.values()].find((m) => m !== cluster.leader())!;
    await cluster.crash(lagging.id);
    const live = [...cluster.members.values()];
    // snapshotEvery is 50: this many entries compact the survivors' logs more than once.
    for (let i = 0; i < 130; i++) await live[i % live.length]!.group.propose(add(1));
    await waitFor(() => live.every((m) => m.wal.stats().snapshotIndex >= 100), 5_000, 'survivors took snapshots');
    const back = await cluster.restart(lagging.id);
    await waitFor(() => back.machine.total === 130, 10_000, 'the lagging node caught up');
    // It could not replay entries the others had compacted: its state came from a snapshot.
    expect(back.machine.applied.length).toBeLessThan(130);
    expect(back.wal.stats().snapshotIndex).toBeGreaterThanOrEqual(100);
    // And it keeps up with new entries afterwards.
    await back.group.propose(add(1));
    await waitFor(() => [...cluster.members.values()].every((m) => m.machine.total === 131), 5_000, 'all at 131');
  });

  it('applies entries it already holds and that were committed meanwhile without waiting for the next append', async () => {
    // Election timeout 1–2 s: holding the followers' writes below must not unseat the leader.
    cluster = new Cluster(50);
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 10_000, 'a leader');
    const followers = [...cluster.members.values()].filter((m) => m !== leader);
    await leader.group.propose(add(1));
    // p2 becomes durable on the leader, but the followers' writes are held: it cannot commit.
    const releaseFollowers = followers.map((f) => holdNextAppend(f.wal));
    const p2 = leader.group.propose(add(10));
    const p2Index = leader.group.status().lastIndex;
    await waitFor(() => leader.wal.stats().lastIndex >= p2Index, 2_000, 'p2 durable on the leader');
    // The leader's append of p3 is held (G1); meanwhile the followers take p2 and p3 and
    // acknowledge both, so both commit.
    const releaseG1 = holdNextAppend(leader.wal);
    const p3 = leader.group.propose(add(100));
    const p3Index = leader.group.status().lastIndex;
    for (const release of releaseFollowers) release();
    await waitFor(() => leader.group.status().commit >= p3Index, 3_000, 'p2 and p3 committed');
    // p4's append is held too (G2). When G1 is released the leader holds p3 durably, and the
    // Ready that appends p4 also carries the commits of p2 and p3: they apply before p4's write.
    const p4 = leader.group.propose(add(1000));
    const releaseG2 = holdNextAppend(leader.wal);
    let settled = 0;
    void p2.then(() => settled++);
    void p3.then(() => settled++);
    releaseG1();
    await waitFor(() => settled === 2, 2_000, 'p2 and p3 answered while p4 is being written');
    expect(await p2).toBe(11);
    expect(await p3).toBe(111);
    releaseG2();
    expect(await p4).toBe(1111);
  });

  it('replicates and commits later proposals while its own write is still in flight', async () => {
    cluster = new Cluster(50);
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 10_000, 'a leader');
    const followers = [...cluster.members.values()].filter((m) => m !== leader);
    await leader.group.propose(add(1));
    const release = holdNextAppend(leader.wal);
    const p1 = leader.group.propose(add(10));
    const p1Index = leader.group.status().lastIndex;
    await waitFor(() => followers.every((f) => f.wal.stats().lastIndex >= p1Index), 2_000, 'p1 on the followers');
    // The leader's write of p1 is still held; p2 goes to the followers and commits all the same.
    const p2 = leader.group.propose(add(100));
    const p2Index = leader.group.status().lastIndex;
    await waitFor(() => followers.every((f) => f.wal.stats().lastIndex >= p2Index), 2_000, 'p2 on the followers');
    await waitFor(() => leader.group.status().commit >= p2Index, 2_000, 'p2 committed by the followers');
    expect(leader.wal.stats().lastIndex).toBeLessThan(p1Index);
    // Nothing is applied on the leader before it holds it durably.
    expect(leader.machine.total).toBe(1);
    release();
    expect(await p1).toBe(11);
    expect(await p2).toBe(111);
  });

  it('sheds proposals past the pending bound at once, retryable', async () => {
    cluster = new Cluster();
    await cluster.start();
    const leader = await waitFor(() => cluster.leader(), 5_000, 'a leader');
    cluster.network.isolate(leader.id); // nothing can commit: proposals stay pending
    const pending = Array.from({ length: 50_000 }, () => leader.group.propose(add(1)).catch(() => 'failed'));
    await expect(leader.group.propose(add(1))).rejects.toMatchObject({
      message: expect.stringContaining('too many proposals'),
      extensions: { code: 'UNAVAILABLE', retryable: true },
    });
    await Promise.all(pending); // they time out as UNAVAILABLE, bounded
  });
});

