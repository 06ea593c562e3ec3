/**
 * A seeded, deterministic simulation of a Raft cluster (in the spirit of TigerBeetle's VOPR
 * and FoundationDB's simulator). One SeededRandom drives everything: ticks, message loss,
 * delay (hence reordering), duplication, partitions and heal, crashes and restarts (also of
 * leaders, on purpose), fsync latency, client proposals, linearizable reads, leadership
 * transfers, membership changes (spares join as learners, get promoted, voters get removed)
 * and log compaction (hence chunked snapshots).
 *
 * Checked at every step (checker.ts and here): one leader per term; log matching; leader
 * completeness; one entry per applied index; snapshots equal the applied prefix; no proposal
 * applied twice or unproposed; a node's persisted vote never changes within a term; what a
 * message promises (term, vote, acked entries) is on its sender's disk when it is sent; reads
 * cover every write acknowledged before them. After the chaos: liveness and convergence.
 *
 * The driver model follows the Ready contract of src/raft/raw-node.ts exactly:
 * - earlyMessages (leader appends) go on the wire at once;
 * - the rest of a Ready is "fsynced" after a random delay; only then do its messages go out,
 *   its committed entries get applied and advance() is called;
 * - a crash loses the Ready in flight (the unsynced tail) and everything in memory; a restart
 *   rebuilds the node from its disk: hard state, snapshot and synced entries.
 * Even seeds drive the nodes with asynchronous storage writes instead (raw-node.ts): a Ready is
 * accepted at once, its write lands after a random delay (in order with the node's other
 * writes), its messages wait for that write and every earlier one, committed entries are
 * applied only once they are on the node's disk, and a Ready with a snapshot waits for every
 * earlier write and apply. A crash loses every write in flight.
 *
 * Assumes nothing about timing: the network is a list of messages with a due step; delivery
 * order within a step is the send order, so a run replays exactly from its seed.
 */
import { RawNode } from '../../src/raft/raw-node.js';
import { RaftError } from '../../src/raft/errors.js';
import type { ConfChange, Entry, HardState, Message, NodeId, Ready, Snapshot } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { Checker, InvariantViolation } from './checker.js';
import { calm, drawProfile, type FaultRates } from './faults.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Disk {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

interface Proposal {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly index: number;
  readonly term: number;
}

interface SimNode {
  readonly id: NodeId;
  /** One of the bootstrap voters; the others are spares that may join as learners. */
  readonly founder: boolean;
  /** Booted at least once (spares start when their addLearner is proposed). */
  started: boolean;
  raw: RawNode | undefined;
  incarnation: number;
  disk: Disk;
  pending: { ready: Ready; at: number } | undefined;
  /** Asynchronous storage writes: what is in flight and what waits on it. */
  async: AsyncDriverState;
  /** The state machine: applied proposal ids, in order. */
  applied: string[];
  appliedSet: Set<string>;
  appliedIndex: number;
}

interface PendingWrite {
  readonly seq: number;
  readonly at: number;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | undefined;
}

interface AsyncDriverState {
  /** Writes in flight, oldest first; each lands at `at` (non-decreasing). */
  writes: PendingWrite[];
  /** Sequence number of the last write accepted, and of the last one durable. */
  issued: number;
  durable: number;
  /** Messages held until the writes up to `after` are durable. */
  outbox: { readonly after: number; readonly messages: readonly Message[] }[];
  /** Committed entries handed out and not applied yet, in order. */
  toApply: Entry[];
  reads: { readonly index: number; readonly ctx: string }[];
}

function freshAsyncState(): AsyncDriverState {
  return { writes: [], issued: 0, durable: 0, outbox: [], toApply: [], reads: [] };
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
}

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly electionTick?: number;
  /** Drive nodes with asynchronous storage writes; by default even seeds do. */
  readonly asyncWrites?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly steps: number;
  readonly proposals: number;
  readonly acked: number;
  readonly applied: number;
  readonly leaders: number;
  readonly crashes: number;
  readonly snapshotsSent: number;
  readonly reads: number;
  readonly confChanges: number;
  /** Steps from healing all faults to the first commit of a new proposal (liveness). */
  readonly healToCommit: number;
}

export class Simulation {
  readonly rnd: SeededRandom;
  readonly ids: NodeId[];
  readonly founders: NodeId[];
  readonly checker: Checker = new Checker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private wire: InFlight[] = [];
  private seq = 0;
  now = 0;
  rates: FaultRates;
  private readonly chaos: FaultRates;
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  /** node -> side of the current partition; undefined = fully connected. */
  private sides: Map<NodeId, number> | undefined;
  private readonly proposals = new Map<string, Proposal>();
  readonly acked: string[] = [];
  private readonly ackedSet = new Set<string>();
  private nextProposal = 0;
  private nextRead = 0;
  private readonly reads = new Map<string, { node: NodeId; mustCover: number }>();
  private highestAckedIndex = 0;
  private highestAcked = -1;
  private readonly electionTick: number;
  readonly asyncWrites: boolean;
  stats = { crashes: 0, leaders: 0, snapshotsSent: 0, reads: 0, confChanges: 0, healToCommit: 0 };

  constructor(readonly options: SimOptions) {
    this.rnd = new SeededRandom(options.seed);
    const profile = drawProfile(this.rnd);
    this.rates = this.chaos = profile.rates;
    this.maxSizePerMsg = profile.maxSizePerMsg;
    this.maxInflight = profile.maxInflight;
    this.electionTick = options.electionTick ?? 10;
    this.asyncWrites = options.asyncWrites ?? options.seed % 2 === 0;
    // Two spare nodes beyond the founders can join through membership changes.
    this.ids = Array.from({ length: options.nodes + 2 }, (_, i) => `n${i + 1}`);
    this.founders = this.ids.slice(0, options.nodes);
    for (const id of this.ids) {
      const founder = this.founders.includes(id);
      const node: SimNode = {
        id,
        founder,
        started: false,
        raw: undefined,
        incarnation: 0,
        disk: { hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [] },
        pending: undefined,
        async: freshAsyncState(),
        applied: [],
        appliedSet: new Set(),
        appliedIndex: 0,
      };
      this.nodes.set(id, node);
      if (founder) this.boot(node, false);
    }
  }

  private boot(n: SimNode, restore: boolean): void {
    n.incarnation++;
    n.started = true;
    n.pending = undefined;
    n.async = freshAsyncState();
    n.raw = new RawNode({
      id: n.id,
      group: 'sim',
      // Founders bootstrap the cluster; a joining node starts empty and learns by replication.
      peers: n.founder ? this.founders : [],
      electionTick: this.electionTick,
      heartbeatTick: 1,
      // Each incarnation draws its election timeouts from its own stream, split off the seed.
      random: new SeededRandom(this.rnd.int(0, 0x7fffffff)),
      maxSizePerMsg: this.maxSizePerMsg,
      maxInflightMsgs: this.maxInflight,
      preVote: true,
      checkQuorum: true,
      ...(restore ? { restore: { hardState: n.disk.hardState, snapshot: n.disk.snapshot, entries: [...n.disk.entries] } } : {}),
    });
    const snap = restore ? n.disk.snapshot : undefined;
    n.applied = snap ? (JSON.parse(decoder.decode(snap.data)) as string[]) : [];
    n.appliedSet = new Set(n.applied);
    n.appliedIndex = snap?.meta.index ?? 0;
  }

  // ------------------------------------------------------------------ the step loop

  /** One step: faults, client actions, one tick per live node, then deliveries until quiet. */
  step(): void {
    this.now++;
    this.injectFaults();
    this.clientActions();
    for (const n of this.nodes.values()) n.raw?.tick();
    for (let round = 0; round < 50; round++) {
      const progressed = this.processReadies() + this.deliverDue();
      this.checkLeaders();
      if (progressed === 0) break;
    }
  }

  private injectFaults(): void {
    const r = this.rnd;
    const rates = this.rates;
    if (this.sides && r.chance(rates.heal)) this.sides = undefined;
    else if (!this.sides && r.chance(rates.partition)) {
      // Half the partitions cut a random split; the other half isolate one node.
      const alone = r.chance(0.5) ? this.ids[r.int(0, this.ids.length - 1)] : undefined;
      this.sides = new Map(this.ids.map((id) => [id, alone === undefined ? r.int(0, 1) : id === alone ? 1 : 0]));
    }
    const leaderCrash = r.chance(rates.crashLeader);
    for (const n of this.nodes.values()) {
      const isLeader = leaderCrash && n.raw?.status().role === 'leader';
      if (n.raw && (isLeader || r.chance(rates.crash))) {
        n.raw = undefined;
        n.pending = undefined; // the unsynced tail is lost
        n.async = freshAsyncState();
        this.stats.crashes++;
      } else if (!n.raw && n.started && r.chance(rates.restart)) {
        this.boot(n, true);
      }
    }
  }

  private clientActions(): void {
    const r = this.rnd;
    const leaders = [...this.nodes.values()].filter((n) => n.raw?.status().role === 'leader');
    if (leaders.length === 0) return;
    const leader = leaders[r.int(0, leaders.length - 1)]!;
    const raw = leader.raw!;
    // A driver bounds its proposal queue: no more than 32 uncommitted entries at the leader.
    const st = raw.status();
    if (r.chance(this.rates.propose) && st.lastIndex - st.commit < 32) {
      const id = `c${this.nextProposal++}`;
      try {
        const pos = raw.propose(id);
        this.proposals.set(id, { node: leader.id, incarnation: leader.incarnation, ...pos });
      } catch (e) {
        if (!(e instanceof RaftError)) throw e;
      }
    }
    if (r.chance(this.rates.transfer)) raw.transferLeadership(this.ids[r.int(0, this.ids.length - 1)]!);
    if (r.chance(this.rates.membership)) this.changeMembership(leader);
    if (r.chance(this.rates.read)) this.requestRead([...this.nodes.values()][r.int(0, this.ids.length - 1)]!);
    if (r.chance(this.rates.compact)) {
      const n = [...this.nodes.values()][r.int(0, this.ids.length - 1)]!;
      this.compact(n);
    }
  }

  /**
   * One single-server membership change at the leader: promote a caught-up learner, or add a
   * spare as a learner (booting it), or remove a voter (possibly the leader itself). Spares
   * join once; a removed node never comes back under its old id.
   */
  private changeMembership(leader: SimNode): void {
    const r = this.rnd;
    const raw = leader.raw!;
    const st = raw.status();
    const { voters, learners } = st.config;
    const caughtUp = learners.find((id) => (st.progress[id]?.match ?? 0) >= st.commit);
    const spare = this.ids.find((id) => !this.nodes.get(id)!.started);
    let cc: ConfChange | undefined;
    if (caughtUp !== undefined) cc = { type: 'promote', nodeId: caughtUp };
    else if (spare !== undefined && learners.length === 0 && r.chance(0.5)) cc = { type: 'addLearner', nodeId: spare };
    else if (voters.length > 3) cc = { type: 'remove', nodeId: voters[r.int(0, voters.length - 1)]! };
    if (!cc) return;
    try {
      raw.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof RaftError) return; // one at a time; not before a commit in this term
      throw e;
    }
    if (cc.type === 'addLearner') this.boot(this.nodes.get(cc.nodeId)!, false);
    this.stats.confChanges++;
  }

  /**
   * Linearizable reads: a read must observe every write acknowledged before it was issued,
   * so its read index must cover the highest acknowledged index at request time.
   */
  private requestRead(n: SimNode): void {
    if (!n.raw) return;
    const ctx = `r${this.nextRead++}`;
    try {
      n.raw.readIndex(ctx);
    } catch (e) {
      if (e instanceof RaftError && e.code === 'NOT_LEADER') return;
      throw e;
    }
    this.reads.set(ctx, { node: n.id, mustCover: this.highestAckedIndex });
  }

  private serveRead(n: SimNode, index: number, ctx: string): void {
    const want = this.reads.get(ctx);
    if (!want || want.node !== n.id) this.checker.fail(`${n.id} got read state ${ctx} it never asked for`);
    this.reads.delete(ctx);
    if (index < want.mustCover) {
      this.checker.fail(`stale read ${ctx} on ${n.id}: read index ${index} misses acknowledged write at ${want.mustCover}`);
    }
    if (n.appliedIndex < index) this.checker.fail(`${n.id} served read ${ctx} at ${index} with only ${n.appliedIndex} applied`);
    this.stats.reads++;
  }

  private compact(n: SimNode): void {
    if (!n.raw || n.appliedIndex <= (n.disk.snapshot?.meta.index ?? 0)) return;
    let snap: Snapshot;
    try {
      snap = n.raw.compact(n.appliedIndex, encoder.encode(JSON.stringify(n.applied)));
    } catch (e) {
      // Refused, e.g. a leader's snapshot was installed and is not applied by us yet.
      if (e instanceof RaftError && e.code === 'COMPACTED') return;
      throw e;
    }
    n.disk.snapshot = snap;
    n.disk.entries = n.disk.entries.filter((e) => e.index > snap.meta.index);
  }

  private processReadies(): number {
    let work = 0;
    for (const n of this.nodes.values()) {
      const raw = n.raw;
      if (!raw) continue;
      if (this.asyncWrites) {
        work += this.processReadiesAsync(n, raw);
        continue;
      }
      if (n.pending && n.pending.at <= this.now) {
        this.completeFsync(n, n.pending.ready);
        n.pending = undefined;
        work++;
      }
      if (!n.pending && raw.hasReady()) {
        const rd = raw.ready();
        const prev = rd.entries[0] ? (raw.logView().term(rd.entries[0].index - 1) ?? -1) : 0;
        this.checker.entries(`${n.id} ready`, prev, rd.entries);
        for (const m of rd.earlyMessages) this.send(m);
        n.pending = { ready: rd, at: this.now + this.rnd.int(0, this.rates.maxFsyncDelay) };
        work++;
      }
    }
    return work;
  }

  /** One node's driver with asynchronous storage writes (see the header). */
  private processReadiesAsync(n: SimNode, raw: RawNode): number {
    const a = n.async;
    let work = 0;
    while (a.writes[0] && a.writes[0].at <= this.now) {
      this.completeWrite(n, a.writes.shift()!);
      work++;
    }
    work += this.drainAsync(n);
    // A Ready with a snapshot runs the synchronous contract once everything before it is done.
    if (n.pending && n.pending.at <= this.now && a.writes.length === 0 && a.toApply.length === 0 && a.outbox.length === 0) {
      this.completeFsync(n, n.pending.ready);
      n.pending = undefined;
      work++;
    }
    if (n.pending || !raw.hasReady()) return work;
    const rd = raw.ready();
    const prev = rd.entries[0] ? (raw.logView().term(rd.entries[0].index - 1) ?? -1) : 0;
    this.checker.entries(`${n.id} ready`, prev, rd.entries);
    for (const m of rd.earlyMessages) this.send(m);
    if (rd.snapshot) {
      n.pending = { ready: rd, at: this.now + this.rnd.int(0, this.rates.maxFsyncDelay) };
      return work + 1;
    }
    if (rd.entries.length > 0 || rd.hardState) {
      const landed = a.writes.at(-1)?.at ?? this.now;
      const at = Math.max(landed, this.now + this.rnd.int(0, this.rates.maxFsyncDelay));
      a.writes.push({ seq: ++a.issued, at, entries: rd.entries, hardState: rd.hardState });
    }
    if (rd.messages.length > 0) a.outbox.push({ after: a.issued, messages: rd.messages });
    a.toApply.push(...rd.committedEntries);
    a.reads.push(...rd.readStates);
    raw.acceptReady(rd);
    this.drainAsync(n);
    return work + 1;
  }

  /** A write of the asynchronous driver landed: it is on disk, and the core is told. */
  private completeWrite(n: SimNode, w: PendingWrite): void {
    this.writeToDisk(n, w.entries, w.hardState);
    n.async.durable = w.seq;
    const last = w.entries.at(-1);
    if (last) n.raw!.persisted(last.index, last.term);
  }

  /** Sends what its writes allow, applies what is durable here, serves what is applied. */
  private drainAsync(n: SimNode): number {
    const a = n.async;
    let work = 0;
    while (a.outbox[0] && a.outbox[0].after <= a.durable) {
      for (const m of a.outbox.shift()!.messages) this.send(m);
      work++;
    }
    while (a.toApply[0] && this.onDisk(n, a.toApply[0])) {
      const e = a.toApply.shift()!;
      if (e.index > n.appliedIndex) this.applyEntry(n, e);
      n.raw!.appliedTo(e);
      work++;
    }
    while (a.reads[0] && a.reads[0].index <= n.appliedIndex) {
      const rs = a.reads.shift()!;
      this.serveRead(n, rs.index, rs.ctx);
      work++;
    }
    return work;
  }

  /** Whether this very entry is on the node's disk (or covered by its snapshot). */
  private onDisk(n: SimNode, e: Entry): boolean {
    if (e.index <= (n.disk.snapshot?.meta.index ?? 0)) return true;
    const first = n.disk.entries[0];
    const stored = first ? n.disk.entries[e.index - first.index] : undefined;
    return stored !== undefined && stored.index === e.index && stored.term === e.term;
  }

  /** Entries (replacing any stored from the first one's index on), then the hard state. */
  private writeToDisk(n: SimNode, entries: readonly Entry[], hardState: HardState | undefined): void {
    const first = entries[0];
    if (first) n.disk.entries = n.disk.entries.filter((e) => e.index < first.index).concat(entries);
    if (hardState) {
      n.disk.hardState = hardState;
      this.checker.hardState(n.id, hardState);
    }
  }

  /** The fsync of `rd` completed: it is durable; send, apply, advance. */
  private completeFsync(n: SimNode, rd: Ready): void {
    const disk = n.disk;
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries = disk.entries.filter((e) => e.index > rd.snapshot!.meta.index);
    }
    this.writeToDisk(n, rd.entries, rd.hardState);
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) this.restoreStateMachine(n, rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(n, e);
    for (const rs of rd.readStates) this.serveRead(n, rs.index, rs.ctx);
    n.raw!.advance(rd);
  }

  private restoreStateMachine(n: SimNode, snap: Snapshot): void {
    const ids = JSON.parse(decoder.decode(snap.data)) as string[];
    // The snapshot must be exactly the applied prefix up to its index.
    const expected: string[] = [];
    for (let i = 1; i <= snap.meta.index; i++) {
      const a = this.checker.appliedAt.get(i);
      if (!a) this.checker.fail(`snapshot at ${snap.meta.index} covers ${i}, which nobody applied`);
      if (a.key.startsWith('normal:')) expected.push(a.key.slice('normal:'.length));
    }
    if (JSON.stringify(expected) !== JSON.stringify(ids)) {
      this.checker.fail(`${n.id} received a snapshot at ${snap.meta.index} that differs from the applied prefix`);
    }
    n.applied = ids;
    n.appliedSet = new Set(ids);
    n.appliedIndex = snap.meta.index;
    this.stats.snapshotsSent++;
  }

  private applyEntry(n: SimNode, e: Entry): void {
    if (e.index !== n.appliedIndex + 1) this.checker.fail(`${n.id} applied ${e.index} after ${n.appliedIndex}`);
    this.checker.apply(n.id, e);
    n.appliedIndex = e.index;
    if (e.type !== 'normal') return;
    const id = decoder.decode(e.data);
    const p = this.proposals.get(id);
    if (!p) this.checker.fail(`${n.id} applied ${id}, which nobody proposed`);
    if (n.appliedSet.has(id)) this.checker.fail(`${n.id} applied ${id} twice`);
    n.appliedSet.add(id);
    n.applied.push(id);
    // Acknowledged: the proposing leader itself (same incarnation) applied it where it put it.
    if (p.node === n.id && p.incarnation === n.incarnation && p.index === e.index && p.term === e.term && !this.ackedSet.has(id)) {
      this.ackedSet.add(id);
      this.acked.push(id);
      this.highestAcked = Math.max(this.highestAcked, Number(id.slice(1)));
      this.highestAckedIndex = Math.max(this.highestAckedIndex, e.index);
    }
  }

  private send(m: Message): void {
    this.checkDurableBeforeSpeaking(m);
    const r = this.rnd;
    if (r.chance(this.rates.drop)) return;
    const copies = r.chance(this.rates.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.wire.push({ at: this.now + r.int(0, this.rates.maxDelay), seq: this.seq++, msg: m });
    }
  }

  /**
   * The driver rule, checked on the wire: what a message promises is already on its sender's
   * disk (term, vote, acknowledged entries). Catches a core that files a vote or an ack among
   * the messages allowed out before the fsync.
   */
  private checkDurableBeforeSpeaking(m: Message): void {
    const n = this.nodes.get(m.from);
    if (!n || m.term === 0 || m.type === 'PreVote' || m.type === 'PreVoteResp') return;
    const hs = n.disk.hardState;
    if (hs.term < m.term) this.checker.fail(`${m.from} sent ${m.type} in term ${m.term} with term ${hs.term} on disk`);
    // A reply made in an older term may go out after the node durably moved on (e.g. it
    // granted a vote, then campaigned itself before the fsync): the higher durable term means
    // it can never act in the old term again, so the promise cannot be broken.
    if (hs.term > m.term) return;
    if (m.type === 'VoteResp' && !m.reject && hs.vote !== m.to) {
      this.checker.fail(`${m.from} granted its vote to ${m.to} in term ${m.term} before persisting it`);
    }
    if (m.type === 'AppResp' && !m.reject) {
      const last = n.disk.entries.at(-1)?.index ?? n.disk.snapshot?.meta.index ?? 0;
      if (last < m.index) this.checker.fail(`${m.from} acknowledged index ${m.index} with ${last} on disk`);
    }
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return !this.sides || this.sides.get(a) === this.sides.get(b);
  }

  private deliverDue(): number {
    const due = this.wire.filter((f) => f.at <= this.now);
    if (due.length === 0) return 0;
    this.wire = this.wire.filter((f) => f.at > this.now);
    for (const { msg } of due) {
      const to = this.nodes.get(msg.to);
      if (!to?.raw || !this.connected(msg.from, msg.to)) continue;
      if (msg.type === 'App') this.checker.entries(`App ${msg.from}->${msg.to}`, msg.logTerm, msg.entries);
      to.raw.step(msg);
    }
    return due.length;
  }

  private checkLeaders(): void {
    for (const n of this.nodes.values()) {
      const st = n.raw?.status();
      if (st?.role !== 'leader') continue;
      if (this.checker.leader(n.id, st.term)) {
        this.stats.leaders++;
        this.checker.leaderCompleteness(n.id, st.term, n.raw!.logView());
      }
    }
  }

  // ------------------------------------------------------------------ phases

  /**
   * Heals every fault; then a leader must commit a fresh entry within `livenessSteps`, and
   * every member must catch up without stalling for `stallSteps` (convergence).
   */
  healAndConverge(livenessSteps: number, stallSteps: number): void {
    this.rates = calm(this.chaos);
    this.sides = undefined;
    for (const n of this.nodes.values()) if (!n.raw && n.started) this.boot(n, true);
    const healedAt = this.now;
    const floor = this.nextProposal;
    let committed = false;
    // Catch-up: every member must apply everything committed. It may take long (a learner
    // that joined late copies the whole log, one entry per message in some profiles), so the
    // bound is on stalls: no member's applied index may stand still for stallSteps steps.
    let progressAt = 0;
    let progress = -1;
    for (;;) {
      this.step();
      // Liveness: some proposal made after the heal gets committed and acknowledged.
      if (!committed && this.highestAcked >= floor) {
        committed = true;
        progressAt = this.now;
        this.stats.healToCommit = this.now - healedAt;
        this.rates = { ...calm(this.chaos), propose: 0 }; // let the cluster go quiet
      }
      if (!committed) {
        if (this.now - healedAt >= livenessSteps) {
          this.checker.fail(`no new entry committed within ${livenessSteps} steps after faults healed\n${this.describe()}`);
        }
        continue;
      }
      if (this.converged()) return;
      const applied = this.members().reduce((sum, n) => sum + n.appliedIndex, 0);
      if (applied !== progress) {
        progress = applied;
        progressAt = this.now;
      } else if (this.now - progressAt >= stallSteps) {
        this.checker.fail(`catch-up stalled for ${stallSteps} steps after a new entry committed\n${this.describe()}`);
      }
    }
  }

  /** One line per node, for failure reports. */
  describe(): string {
    return [...this.nodes.values()]
      .map((n) => {
        const st = n.raw?.status();
        if (!st) return `  ${n.id}: down`;
        const prs = Object.entries(st.progress)
          .map(([id, p]) => `${id}:${p.state}/${p.match}/${p.next}`)
          .join(' ');
        return `  ${n.id}: ${st.role} term ${st.term} lead ${st.lead || '-'} commit ${st.commit} applied ${n.appliedIndex} last ${st.lastIndex} snap ${n.disk.snapshot?.meta.index ?? 0} ${prs}`;
      })
      .join('\n');
  }

  /** The members (voters and learners) as the current leader sees them; removed nodes may lag. */
  private members(): SimNode[] {
    let best: { term: number; ids: NodeId[] } | undefined;
    for (const n of this.nodes.values()) {
      const st = n.raw?.status();
      if (st?.role !== 'leader' || (best && best.term >= st.term)) continue;
      best = { term: st.term, ids: [...st.config.voters, ...st.config.learners] };
    }
    return (best?.ids ?? []).map((id) => this.nodes.get(id)!);
  }

  private converged(): boolean {
    const ns = this.members();
    if (ns.length === 0) return false;
    const target = Math.max(...ns.map((n) => n.raw?.status().commit ?? 0));
    return ns.every((n) => n.appliedIndex === target);
  }

  /** Every acknowledged proposal applied exactly once on every node, in one order. */
  checkFinal(): void {
    const order = new Map<string, number>();
    for (const [index, a] of this.checker.appliedAt) if (a.key.startsWith('normal:')) order.set(a.key.slice(7), index);
    for (const n of this.members()) {
      for (const id of this.acked) {
        if (!n.appliedSet.has(id)) this.checker.fail(`${n.id} never applied acknowledged proposal ${id}`);
      }
      let last = 0;
      for (const id of n.applied) {
        const at = order.get(id) ?? 0;
        if (at <= last) this.checker.fail(`${n.id} applied ${id} out of order`);
        last = at;
      }
    }
  }

  result(): SimResult {
    return {
      seed: this.options.seed,
      steps: this.now,
      proposals: this.proposals.size,
      acked: this.acked.length,
      applied: this.checker.maxAppliedIndex,
      leaders: this.stats.leaders,
      crashes: this.stats.crashes,
      snapshotsSent: this.stats.snapshotsSent,
      reads: this.stats.reads,
      confChanges: this.stats.confChanges,
      healToCommit: this.stats.healToCommit,
    };
  }
}

export { InvariantViolation };
export type { FaultRates };
