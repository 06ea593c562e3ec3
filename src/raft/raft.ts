/**
 * The Raft state of one node in one group (etcd-io/raft's raft.go): term, vote, role, log,
 * membership, per-peer progress; role transitions, ticks and the step dispatcher with the
 * term rules (§5.1, PreVote and leader-lease exceptions). Each side of the protocol lives in
 * its own file: election.ts, follower.ts, leader.ts. Messages in (step), ticks in (tick),
 * messages out (msgs/earlyMsgs); no I/O, no clock, no randomness but the injected Random.
 *
 * Guarantees (Raft Figure 3): election safety, log matching, leader completeness, state
 * machine safety — given that the driver honours the Ready contract in raw-node.ts.
 * Assumes: a single caller (not re-entrant). Internal to src/raft: RawNode is the public face.
 *
 * Reference: Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm"
 * (sections cited as §5.x) and Ongaro's thesis (cited as thesis §x.y).
 */
import { applyChange, checkConfChange, decodeConfChange, encodeBootstrap, encodeConfChange } from './conf-change.js';
import { TRANSFER_CONTEXT, handleVoteRequest, hup, stepCandidate } from './election.js';
import { stepFollower } from './follower.js';
import { handleReadIndex, handleTransfer, maybeCommit, sendAppend, stepLeader, tickLeader } from './leader.js';
import { RaftError } from './errors.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import { SnapshotAssembler } from './snapshot-stream.js';
import type { Random } from '../util/random.js';
import {
  NONE,
  makeMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
} from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly group: string;
  /**
   * Voters (including this node) to bootstrap a fresh cluster; [] for a node joining an
   * existing cluster (it learns membership by replication). With `restore`, the membership
   * before replaying the log (a restored snapshot's membership overrides it).
   */
  readonly peers: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Ticks without a leader before campaigning; the actual timeout is random in [e, 2e). */
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly random: Random;
  /** Byte budget of one App (at least one entry) and of one snapshot chunk. */
  readonly maxSizePerMsg?: number;
  /** Pipelined Apps (and snapshot chunks) in flight per follower. */
  readonly maxInflightMsgs?: number;
  /** Byte budget of committedEntries in one Ready. */
  readonly maxCommittedSizePerReady?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly restore?: RestoreState;
}

export interface RestoreState {
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
}

/** Where a proposal landed; it is committed iff the entry at index still has this term. */
export interface ProposalPosition {
  readonly index: number;
  readonly term: number;
}

const encoder = new TextEncoder();

export class Raft {
  readonly id: NodeId;
  readonly group: string;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = 'follower';
  readonly log = new RaftLog();
  conf: ConfState;
  /** Index of the entry (or snapshot) that produced `conf`. */
  confIndex = 0;
  readonly prs = new Map<NodeId, Progress>();
  leadTransferee: NodeId = NONE;
  /** Last index that may hold an unapplied conf change (leader). */
  pendingConfIndex = 0;
  /** Outbound messages that wait for this Ready's persistence. */
  msgs: Message[] = [];
  /** Leader replication messages that may go before persistence (thesis §10.2.1). */
  earlyMsgs: Message[] = [];

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly maxSizePerMsg: number;
  readonly maxInflight: number;
  readonly maxCommittedSize: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly random: Random;

  // Internal to src/raft (the leader side in leader.ts uses them); RawNode is the public face.
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly votes = new Map<NodeId, boolean>();
  readonly readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReads: { from: NodeId; ctx: string }[] = [];
  /** Read points waiting for the local state machine to apply their index. */
  readStates: ReadState[] = [];
  /** Read contexts this follower forwarded and has no answer for (duplicates are ignored). */
  readonly forwardedReads = new Set<string>();
  readonly assembler = new SnapshotAssembler();
  /** Set by proposals and commits: send Apps when the driver next asks for a Ready (batching). */
  needBcast = false;

  constructor(c: RaftConfig) {
    this.id = c.id;
    this.group = c.group;
    this.random = c.random;
    this.electionTimeout = c.electionTick ?? 10;
    this.heartbeatTimeout = c.heartbeatTick ?? 1;
    if (this.heartbeatTimeout >= this.electionTimeout) throw new Error('raft: heartbeatTick must be < electionTick');
    this.maxSizePerMsg = c.maxSizePerMsg ?? 1 << 20;
    this.maxInflight = c.maxInflightMsgs ?? 256;
    this.maxCommittedSize = c.maxCommittedSizePerReady ?? 1 << 24;
    this.preVote = c.preVote ?? true;
    this.checkQuorum = c.checkQuorum ?? true;
    this.conf = { voters: [...c.peers], learners: [...(c.learners ?? [])] };
    // A node that persisted nothing yet (it crashed before its first fsync) bootstraps again.
    const r = c.restore && (c.restore.hardState.term > 0 || c.restore.entries.length > 0 || c.restore.snapshot) ? c.restore : undefined;
    if (r) {
      this.log.restore(r.snapshot, r.entries, r.hardState.commit);
      if (r.snapshot && r.snapshot.meta.index > 0) {
        this.conf = r.snapshot.meta.conf;
        this.confIndex = r.snapshot.meta.index;
      }
      this.term = r.hardState.term;
      this.vote = r.hardState.vote;
    } else if (this.conf.voters.length > 0) {
      // Bootstrap (as etcd's RawNode.Bootstrap): entry 1 records the initial membership,
      // committed by definition; the first Ready persists it. A joining node passes no peers.
      const data = encodeBootstrap(this.conf);
      this.log.append([{ index: 1, term: 1, type: 'confChange', data }]);
      this.log.commitTo(1);
      this.confIndex = 1;
      this.term = 1;
    }
    this.rebuildProgress();
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // ---------------------------------------------------------------- role changes

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.random.int(0, this.electionTimeout - 1);
    this.leadTransferee = NONE;
    this.votes.clear();
    this.readOnly.reset();
    this.pendingReads = [];
    this.forwardedReads.clear(); // answers from a past term are not awaited (the driver times out)
    this.needBcast = false;
    this.rebuildProgress();
  }

  rebuildProgress(): void {
    this.prs.clear();
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id);
  }

  addProgress(id: NodeId): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.maxInflight, this.conf.learners.includes(id));
    if (id === this.id) pr.match = Math.min(this.log.stable, this.log.lastIndex());
    this.prs.set(id, pr);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    // PreVote changes neither term nor vote (thesis §9.6): a node cut off cannot inflate terms.
    this.role = 'preCandidate';
    this.votes.clear();
    this.lead = NONE;
  }

  becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    // Conf changes wait until everything in the log before our term is applied.
    this.pendingConfIndex = this.log.lastIndex();
    // §8 / thesis §6.4: a noop entry lets the leader commit (and learn the commit index) in its term.
    this.appendEntries([{ type: 'noop', data: new Uint8Array(0) }]);
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.role === 'leader') tickLeader(this);
    else this.tickElection();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      hup(this, this.preVote ? 'pre' : 'election');
    }
  }



  // ---------------------------------------------------------------- sending

  send(m: Pick<Message, 'type' | 'to'> & Partial<Message>): void {
    // Forwarded requests carry no term: the leader treats them as local (as etcd does).
    const termless = m.type === 'Prop' || m.type === 'ReadIndex' || m.type === 'TransferLeader';
    const msg = makeMessage({ group: this.group, from: this.id, term: termless ? 0 : this.term, ...m });
    // A leader's traffic and snapshot-chunk acks (bytes held in memory, no durability promise)
    // may go before the Ready is persisted; everything else promises durable state.
    if ((this.role === 'leader' && !termless) || m.type === 'SnapResp') this.earlyMsgs.push(msg);
    else this.msgs.push(msg);
  }

  /** Sends the pending batch of Apps; called when the driver asks for a Ready. */
  flush(): void {
    if (this.needBcast && this.role === 'leader') {
      for (const id of this.prs.keys()) if (id !== this.id) sendAppend(this, id, true);
    }
    this.needBcast = false;
  }

  hasPendingWork(): boolean {
    return this.needBcast && this.role === 'leader';
  }




  // ---------------------------------------------------------------- proposals

  appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): ProposalPosition {
    let index = this.log.lastIndex();
    const ents: Entry[] = items.map((it) => ({ index: ++index, term: this.term, type: it.type, data: it.data }));
    this.log.append(ents);
    // Our own entries count toward commit only once durable: see onPersisted().
    this.needBcast = true;
    return { index, term: this.term };
  }

  propose(data: Uint8Array | string): ProposalPosition {
    this.checkCanPropose();
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    return this.appendEntries([{ type: 'normal', data: bytes }]);
  }

  proposeConfChange(cc: ConfChange): ProposalPosition {
    this.checkCanPropose();
    // Thesis §4.1 and its 2015 erratum: one change at a time, and only after this leader
    // committed an entry of its own term (so no earlier-term change is still in flight).
    if (this.log.term(this.log.committed) !== this.term) {
      throw new RaftError('CONF_CHANGE_PENDING', 'leader has not committed an entry of its term yet', this.lead);
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError('CONF_CHANGE_PENDING', 'a membership change is not applied yet', this.lead);
    }
    checkConfChange(this.conf, cc);
    const pos = this.appendEntries([{ type: 'confChange', data: encodeConfChange(cc) }]);
    this.pendingConfIndex = pos.index;
    return pos;
  }

  checkCanPropose(): void {
    if (this.role !== 'leader') throw new RaftError('NOT_LEADER', `${this.id} is not the leader`, this.lead);
    if (this.leadTransferee !== NONE) {
      throw new RaftError('TRANSFER_IN_PROGRESS', `leadership is moving to ${this.leadTransferee}`, this.lead);
    }
  }

  // ---------------------------------------------------------------- persistence and apply

  /** The driver made the log durable up to log.stable: the leader may now count itself. */
  onPersisted(): void {
    if (this.role !== 'leader') return;
    const self = this.prs.get(this.id);
    if (self && self.maybeUpdate(Math.min(this.log.stable, this.log.lastIndex()))) maybeCommit(this);
  }

  /** Called for each applied conf-change entry, in log order. */
  applyConfEntry(e: Entry): void {
    if (e.index <= this.confIndex) return; // already reflected (e.g. by a newer snapshot)
    const cc = decodeConfChange(e.data);
    this.conf = applyChange(this.conf, cc);
    this.confIndex = e.index;
    const members = new Set([...this.conf.voters, ...this.conf.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      const pr = this.prs.get(id);
      if (!pr) this.addProgress(id);
      else pr.learner = this.conf.learners.includes(id);
    }
    if (this.role !== 'leader') return;
    if (!this.promotable()) {
      // A leader removed from the voters steps down once the change is applied (thesis §4.2.2).
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !this.conf.voters.includes(this.leadTransferee)) this.leadTransferee = NONE;
    maybeCommit(this);
    this.needBcast = true;
  }

  /** Read points whose index is covered by entries applied up to `applied`. */
  takeReadStates(applied: number): ReadState[] {
    const ready = this.readStates.filter((r) => r.index <= applied);
    this.readStates = this.readStates.filter((r) => r.index > applied);
    return ready;
  }

  hasReadStates(applied: number): boolean {
    return this.readStates.some((r) => r.index <= applied);
  }

  compact(index: number, data: Uint8Array): Snapshot {
    if (index <= this.log.snapshot.meta.index || index > this.log.applied) {
      throw new RaftError('COMPACTED', `cannot snapshot at ${index}: snapshot ${this.log.snapshot.meta.index}, applied ${this.log.applied}`);
    }
    // The conf in effect at `index`: conf changes above it are not applied yet only if
    // confIndex > index, which compacting below applied with a newer change forbids.
    if (this.confIndex > index) {
      throw new RaftError('COMPACTED', `cannot snapshot at ${index}: a membership change at ${this.confIndex} is newer`);
    }
    return this.log.compact(index, data, this.conf);
  }


  // ---------------------------------------------------------------- step

  step(m: Message): void {
    if (m.term === 0) {
      // local message (or a forwarded request, which is termless)
    } else if (m.term > this.term) {
      if (m.type === 'Vote' || m.type === 'PreVote') {
        const force = m.context === TRANSFER_CONTEXT;
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Leader lease (thesis §4.2.3): with a live leader, ignore disruptive candidates.
        if (!force && inLease) return;
      }
      if (m.type === 'PreVote') {
        // never change term on a PreVote
      } else if (m.type === 'PreVoteResp' && !m.reject) {
        // a granted PreVote carries the future term we asked for
      } else if (m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'Heartbeat' || m.type === 'App' || m.type === 'Snap')) {
        // Tell a stale leader about our term so it steps down (it may be cut off by PreVote).
        this.send({ type: 'AppResp', to: m.from });
      } else if (m.type === 'PreVote') {
        this.send({ type: 'PreVoteResp', to: m.from, reject: true });
      }
      return;
    }

    if (m.type === 'Hup') {
      hup(this, this.preVote ? 'pre' : 'election');
      return;
    }
    if (m.type === 'Vote' || m.type === 'PreVote') {
      handleVoteRequest(this, m);
      return;
    }
    switch (this.role) {
      case 'leader':
        stepLeader(this, m);
        return;
      case 'candidate':
      case 'preCandidate':
        stepCandidate(this, m);
        return;
      case 'follower':
        stepFollower(this, m);
        return;
    }
  }











  // ---------------------------------------------------------------- leader









  /** Local or forwarded request to move leadership to `target`. */
  transferLeadership(target: NodeId): void {
    if (this.role === 'leader') handleTransfer(this, target);
    else if (this.lead !== NONE) this.send({ type: 'TransferLeader', to: this.lead, context: target });
  }

  readIndex(ctx: string): void {
    if (this.role === 'leader') {
      handleReadIndex(this, this.id, ctx);
      return;
    }
    if (this.lead === NONE) throw new RaftError('NOT_LEADER', 'no leader known for a read', NONE);
    this.forwardedReads.add(ctx);
    this.send({ type: 'ReadIndex', to: this.lead, context: ctx });
  }
}
