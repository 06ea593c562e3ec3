/**
 * The driver of one Raft group on one node: it feeds the pure core (RawNode) with ticks,
 * peer messages and proposals, and carries out its Readies with asynchronous storage writes
 * (raw-node.ts): early leader appends go at once and the Ready is accepted while its write
 * (fsync) is in flight, so commits, acknowledgements of earlier writes and new proposals are
 * not held up behind it. Each Ready's votes and acks wait for its write and every earlier
 * one; committed entries apply in order once durable here; a Ready with a snapshot waits for
 * everything before it. It resolves proposals on the node that received them — a follower
 * forwards them to the leader and waits for its own replica to apply them — and keeps
 * re-sending a pending proposal until it applies or its deadline passes (UNAVAILABLE,
 * retryable); the dedup table makes re-sends apply once.
 *
 * Assumes: one RaftGroup per (node, group); the transport delivers only authenticated peers'
 * envelopes; the WAL was opened on this group's directory and `recovered` came from it.
 */
import { randomBytes } from 'node:crypto';
import { appError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Snapshot as StoredSnapshot, RecoveredState, Wal } from '../../storage/index.js';
import type { Envelope } from '../../transport/envelope.js';
import type { PeerTransport } from '../../transport/types.js';
import type { Random } from '../../util/random.js';
import type { Scheduler, TimerHandle } from '../../util/scheduler.js';
import { RaftError } from '../errors.js';
import { RawNode } from '../raw-node.js';
import type { ConfChange, ConfState, Entry, HardState, Message, ReadState, Ready, Role, Snapshot, SoftState, Status } from '../types.js';
import { encodeCommand } from './command-codec.js';
import {
  RAFT_CONF_CHANGE,
  RAFT_MESSAGE,
  RAFT_PROPOSE,
  fromWire,
  toWire,
  type WireMessage,
} from './message-codec.js';
import { packForwarded, unpackForwarded } from './forward-codec.js';
import { DedupStateMachine, type StateMachine } from './state-machine.js';

const DEFAULT_MAX_PENDING = 50_000;

/** How often (in ticks) the leader looks for learners ready to vote. */
const PROMOTION_CHECK_TICKS = 5;

export interface RaftGroupOptions {
  readonly group: string;
  readonly selfId: string;
  /** Voters to bootstrap a fresh group with (this node included). */
  readonly voters: readonly string[];
  readonly transport: PeerTransport;
  readonly wal: Wal;
  readonly recovered: RecoveredState;
  readonly stateMachine: StateMachine;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly logger: Logger;
  /** One Raft tick; heartbeats go every tick, elections after electionTick..2*electionTick. */
  readonly tickMs?: number;
  readonly electionTick?: number;
  /** How long a proposal or read may wait before UNAVAILABLE. */
  readonly requestTimeoutMs?: number;
  /** Proposals this node may have waiting at once; beyond it propose() fails fast. */
  readonly maxPendingProposals?: number;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEvery?: number;
  readonly wallClock?: () => number;
  readonly observer?: RaftGroupObserver;
}

/** What a group reports for metrics; every method is optional to implement cheaply. */
export interface RaftGroupObserver {
  proposal(outcome: 'committed' | 'failed'): void;
  /** One durable WAL write: how long it took and how many entries it carried. */
  persisted(seconds: number, entries: number): void;
  leaderChanged(): void;
}

export type RaftEventType = 'LEADER_ELECTED' | 'ROLE_CHANGED' | 'NODE_ADDED' | 'NODE_PROMOTED' | 'NODE_REMOVED';

export interface RaftEvent {
  readonly type: RaftEventType;
  readonly group: string;
  readonly leader: string;
  /** This node's role after the event. */
  readonly role: Role;
  readonly term: number;
  /** The member a membership event is about. */
  readonly nodeId?: string;
}

interface PendingProposal {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
  lastSent: number;
}

/** A Ready's write in flight (entries and/or hard state), in the order handed to the WAL. */
interface InFlightWrite {
  readonly seq: number;
  /** Index of its first entry (Infinity without entries): what is on disk from here on may be replaced. */
  readonly firstIndex: number;
  readonly last: Entry | undefined;
  readonly entries: number;
  readonly hardState: HardState | undefined;
  readonly started: number;
  done: boolean;
}

interface PendingRead {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
  index?: number;
}

export class RaftGroup {
  readonly clientId: string;
  private readonly node: RawNode;
  private readonly machine: DedupStateMachine;
  private readonly log: Logger;
  private readonly tickMs: number;
  private readonly electionMs: number;
  private readonly requestTimeoutMs: number;
  private readonly snapshotEvery: number;
  private readonly wallClock: () => number;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly listeners = new Set<(event: RaftEvent) => void>();
  private readonly unsubscribe: () => void;
  private seq = 0;
  private readSeq = 0;
  private pumping = false;
  private pumpScheduled = false;
  /** Proposals to hand to the leader (the core here, or forwarded) when this turn's Ready is taken. */
  private readonly unsent = new Map<number, PendingProposal>();
  private stopped = false;
  /** Writes in flight, oldest first; sequence numbers of the last one issued and the last durable. */
  private readonly writes: InFlightWrite[] = [];
  private writesIssued = 0;
  private writesDurable = 0;
  /** Each Ready's messages, held until the writes up to `after` are durable. */
  private readonly outbox: { readonly after: number; readonly messages: readonly Message[] }[] = [];
  /** Committed entries handed out and not applied yet, in log order. */
  private readonly toApply: Entry[] = [];
  private readonly readStates: ReadState[] = [];
  /** Highest log index applied here (any entry type), for serving reads. */
  private appliedLogIndex: number;
  /** A Ready with a snapshot, handled synchronously once everything before it is done. */
  private snapshotReady: Ready | undefined;
  /** The hard state last handed to a write (durable or not). */
  private issuedHard: HardState;
  private ticker: TimerHandle | undefined;
  private soft: SoftState = { lead: '', role: 'follower' };
  private snapshotIndex: number;
  private failure: Error | undefined;
  private persistedHard: HardState;
  /**
   * The last log index this node holds durably and no write in flight replaces (its WAL's last
   * entry, or its snapshot's index): committed entries up to here can be applied.
   */
  private persistedLastIndex: number;
  private ticks = 0;

  constructor(private readonly options: RaftGroupOptions) {
    this.log = options.logger.child({ component: 'raft', group: options.group });
    this.tickMs = options.tickMs ?? 100;
    const electionTick = options.electionTick ?? 5;
    this.electionMs = this.tickMs * electionTick;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.snapshotEvery = options.snapshotEvery ?? 10_000;
    this.wallClock = options.wallClock ?? Date.now;
    // A fresh client id per process run: sequence numbers restart, so must the id.
    this.clientId = `${options.selfId}/${randomBytes(6).toString('hex')}`;
    this.machine = new DedupStateMachine(options.stateMachine);

    const { recovered } = options;
    this.persistedHard = recovered.hardState;
    this.issuedHard = recovered.hardState;
    const snapshot = recovered.snapshot ? fromStoredSnapshot(recovered.snapshot) : undefined;
    if (snapshot) this.machine.restore(snapshot.data, snapshot.meta.index);
    this.snapshotIndex = snapshot?.meta.index ?? 0;
    this.persistedLastIndex = recovered.entries.at(-1)?.index ?? this.snapshotIndex;
    this.appliedLogIndex = this.snapshotIndex;
    const hasState = recovered.hardState.term > 0 || recovered.entries.length > 0 || snapshot !== undefined;
    this.node = new RawNode({
      id: options.selfId,
      group: options.group,
      peers: [...options.voters],
      electionTick,
      heartbeatTick: 1,
      random: options.random,
      preVote: true,
      checkQuorum: true,
      ...(hasState
        ? { restore: { hardState: recovered.hardState, entries: recovered.entries, ...(snapshot ? { snapshot } : {}) } }
        : {}),
    });
    this.unsubscribe = options.transport.onMessage((envelope) => this.onEnvelope(envelope));
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      // Checked before the tick: a tick may start a new CheckQuorum window, which clears
      // every follower's recent-activity flag until its next answer.
      if (++this.ticks % PROMOTION_CHECK_TICKS === 0) this.promoteCaughtUpLearners();
      this.node.tick();
      this.expireRequests();
      this.pump();
      this.ticker = this.options.scheduler.setTimer(this.tickMs, tick);
    };
    this.ticker = this.options.scheduler.setTimer(this.tickMs, tick);
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ticker?.cancel();
    this.unsubscribe();
    const error = appError('UNAVAILABLE', 'the node is shutting down');
    for (const p of this.proposals.values()) p.reject(error);
    for (const r of this.reads.values()) r.reject(error);
    this.proposals.clear();
    this.unsent.clear();
    this.reads.clear();
    // Writes in flight (and a snapshot being installed, which holds `pumping`) finish or fail
    // before the caller closes the WAL. A snapshot Ready still waiting never starts once
    // stopped, so it is not waited for.
    while ((this.pumping || this.writes.length > 0) && !this.failure) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Replicates `payload` and resolves with the state machine's result on this node. */
  propose(payload: Uint8Array): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(appError('UNAVAILABLE', 'the node is shutting down'));
    // The core queues whatever it is given; the bound lives here, so an overloaded or
    // leaderless node sheds load at once instead of growing memory until the deadline.
    if (this.proposals.size >= (this.options.maxPendingProposals ?? DEFAULT_MAX_PENDING)) {
      return Promise.reject(appError('UNAVAILABLE', 'too many proposals are waiting on this node; retry shortly'));
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const now = this.options.scheduler.now();
      const pending: PendingProposal = {
        seq,
        payload,
        resolve,
        reject,
        deadline: now + this.requestTimeoutMs,
        lastSent: now,
      };
      this.proposals.set(seq, pending);
      this.submit(pending);
    });
  }

  /** Resolves once this replica has applied everything committed before the call (linearizable read). */
  readBarrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const ctx = `${this.clientId}:r${++this.readSeq}`;
    return new Promise((resolve, reject) => {
      this.reads.set(ctx, { resolve, reject, deadline: this.options.scheduler.now() + this.requestTimeoutMs });
      this.node.readIndex(ctx);
      this.pump();
    });
  }

  status(): Status {
    return this.node.status();
  }

  appliedIndex(): number {
    return this.machine.appliedIndex();
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  transferLeadership(to: string): void {
    this.node.transferLeadership(to);
    this.pump();
  }

  /**
   * Hands `p` to the leader: into the core at once when this node leads; otherwise it waits
   * for this turn's Ready, so that a turn's proposals travel to the leader in one envelope.
   */
  private submit(p: PendingProposal): void {
    p.lastSent = this.options.scheduler.now();
    if (this.soft.role === 'leader') {
      this.unsent.delete(p.seq);
      try {
        this.node.propose(encodeCommand({ clientId: this.clientId, seq: p.seq, timestamp: this.wallClock(), payload: p.payload }));
      } catch (error) {
        if (!(error instanceof RaftError)) throw error;
        // Not accepted now (e.g. a transfer in progress): the retry loop sends it again.
      }
    } else {
      this.unsent.set(p.seq, p);
    }
    this.pump();
  }

  /**
   * Forwards the proposals queued this turn, in one envelope, to the leader; if this node
   * became the leader meanwhile they go into its core. Without a known leader they wait for
   * the retry.
   */
  private sendUnsent(): void {
    if (this.unsent.size === 0) return;
    const batch = [...this.unsent.values()].filter((p) => this.proposals.has(p.seq));
    this.unsent.clear();
    const { lead, role } = this.soft;
    if (role === 'leader') {
      for (const p of batch) this.submit(p);
    } else if (lead && batch.length > 0) {
      const body = packForwarded({ clientId: this.clientId, proposals: batch.map((p) => ({ seq: p.seq, payload: p.payload })) });
      this.options.transport.send(lead, { type: RAFT_PROPOSE, group: this.options.group, body });
    }
  }

  /** Fails what is past its deadline; re-sends proposals not applied after an election timeout. */
  private expireRequests(): void {
    const now = this.options.scheduler.now();
    for (const [seq, p] of this.proposals) {
      if (now >= p.deadline) {
        this.proposals.delete(seq);
        this.options.observer?.proposal('failed');
        p.reject(appError('UNAVAILABLE', 'the proposal was not committed in time (no quorum or no leader)'));
      } else if (now - p.lastSent >= this.electionMs) {
        this.submit(p);
      }
    }
    for (const [ctx, r] of this.reads) {
      if (now >= r.deadline) {
        this.reads.delete(ctx);
        r.reject(appError('UNAVAILABLE', 'no leader confirmed the read in time'));
      }
    }
  }

  private onEnvelope(envelope: Envelope): void {
    if (this.stopped || envelope.group !== this.options.group) return;
    try {
      if (envelope.type === RAFT_MESSAGE) {
        const message = fromWire(envelope.body as WireMessage);
        if (message.to !== this.options.selfId || message.from !== envelope.from) return;
        this.node.step(message);
      } else if (envelope.type === RAFT_CONF_CHANGE && this.soft.role === 'leader') {
        const cc = envelope.body as ConfChange;
        if (typeof cc.nodeId === 'string' && ['addLearner', 'promote', 'remove'].includes(cc.type)) {
          try {
            this.askConfChange({ type: cc.type, nodeId: cc.nodeId });
          } catch {
            // refused: the asking node times out and reports it
          }
        }
        return;
      } else if (envelope.type === RAFT_PROPOSE && this.soft.role === 'leader') {
        const { clientId, proposals } = unpackForwarded(envelope.body);
        for (const p of proposals) {
          this.node.propose(encodeCommand({ clientId, seq: p.seq, timestamp: this.wallClock(), payload: p.payload }));
        }
      } else {
        return;
      }
    } catch (error) {
      if (!(error instanceof RaftError)) this.log.warn({ err: error, from: envelope.from }, 'bad raft message dropped');
      return;
    }
    this.pump();
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.to === this.options.selfId) continue;
      this.options.transport.send(m.to, { type: RAFT_MESSAGE, group: this.options.group, body: toWire(m) });
    }
  }

  /**
   * Asks for the Readies to be handled once the current I/O callbacks are done, so that the
   * messages and proposals of one event-loop turn share one Ready (one append to each peer,
   * one write).
   */
  private pump(): void {
    if (this.pumpScheduled || this.stopped || this.failure) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.guarded(() => {
        this.sendUnsent();
        this.pumpNow();
      });
    });
  }

  /** Takes Readies until the core has nothing more to hand out (or a snapshot must wait). */
  private pumpNow(): void {
    if (this.pumping || this.stopped || this.failure || this.snapshotReady) return;
    this.pumping = true;
    try {
      while (!this.stopped && !this.failure && !this.snapshotReady && this.node.hasReady()) {
        const rd = this.node.ready();
        if (rd.softState) this.onSoftState(rd.softState);
        this.send(rd.earlyMessages);
        if (rd.snapshot) {
          this.snapshotReady = rd;
          break;
        }
        this.accept(rd);
      }
    } finally {
      this.pumping = false;
    }
    this.settle();
  }

  /** Hands a Ready's write to the WAL and queues what must wait for it; the core moves on. */
  private accept(rd: Ready): void {
    // Term and vote must be durable before a vote or ack goes out; the commit index need not
    // be (a restarted node learns it again from the leader), so a commit-only change rides
    // along with the next write instead of costing an fsync of its own.
    const hard = rd.hardState;
    if (rd.entries.length > 0 || this.mustSyncHard(hard)) {
      const first = rd.entries[0];
      // What is on disk from the first new entry on is being replaced: not applicable from it.
      if (first) this.persistedLastIndex = Math.min(this.persistedLastIndex, first.index - 1);
      if (hard) this.issuedHard = hard;
      const write: InFlightWrite = {
        seq: ++this.writesIssued,
        firstIndex: first?.index ?? Infinity,
        last: rd.entries.at(-1),
        entries: rd.entries.length,
        hardState: hard,
        started: performance.now(),
        done: false,
      };
      this.writes.push(write);
      this.options.wal.append({ entries: rd.entries, ...(hard ? { hardState: hard } : {}) }).then(
        () => {
          write.done = true;
          this.guarded(() => this.onWriteDone());
        },
        (error: unknown) => this.fail(error, 'raft storage failed; the group stops'),
      );
    }
    if (rd.messages.length > 0) this.outbox.push({ after: this.writesIssued, messages: rd.messages });
    for (const entry of rd.committedEntries) this.toApply.push(entry);
    for (const rs of rd.readStates) this.readStates.push(rs);
    this.node.acceptReady(rd);
  }

  /** Whether a term or vote change makes `hard` worth a write of its own (a commit change is not). */
  private mustSyncHard(hard: HardState | undefined): boolean {
    return hard !== undefined && (hard.term !== this.issuedHard.term || hard.vote !== this.issuedHard.vote);
  }

  /** Writes become durable in the order they were issued; tell the core, then release what waited. */
  private onWriteDone(): void {
    while (this.writes[0]?.done) {
      const write = this.writes.shift()!;
      this.options.observer?.persisted((performance.now() - write.started) / 1000, write.entries);
      this.writesDurable = write.seq;
      if (write.hardState) this.persistedHard = write.hardState;
      if (write.last) {
        let replacedFrom = Infinity;
        for (const w of this.writes) replacedFrom = Math.min(replacedFrom, w.firstIndex);
        this.persistedLastIndex = Math.min(write.last.index, replacedFrom - 1);
        this.node.persisted(write.last.index, write.last.term);
      }
    }
    if (this.stopped || this.failure) return;
    this.settle();
    this.pump();
  }

  /** Runs a step of Ready handling; an exception there (a bug) stops the group instead of the process. */
  private guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.fail(error, 'handling a raft ready failed; the group stops');
    }
  }

  /**
   * Sends the messages whose writes are durable, applies the committed entries that are
   * durable here (in order), serves the reads they cover; then a waiting snapshot may go.
   */
  private settle(): void {
    if (this.stopped || this.failure) return;
    while (this.outbox[0] && this.outbox[0].after <= this.writesDurable) this.send(this.outbox.shift()!.messages);
    let applied = 0;
    while (applied < this.toApply.length && this.toApply[applied]!.index <= this.persistedLastIndex) {
      this.applyOne(this.toApply[applied]!);
      applied++;
    }
    if (applied > 0) this.toApply.splice(0, applied);
    if (this.readStates.length > 0) this.serveReads();
    this.maybeCompact();
    if (this.snapshotReady && this.writes.length === 0 && this.toApply.length === 0 && this.outbox.length === 0 && !this.pumping) {
      const rd = this.snapshotReady;
      this.pumping = true;
      void this.installSnapshotReady(rd).finally(() => {
        this.pumping = false;
        this.snapshotReady = undefined;
        this.pump();
      });
    }
  }

  private serveReads(): void {
    const applied = this.appliedLogIndex;
    let kept = 0;
    for (const rs of this.readStates) {
      if (rs.index > applied) {
        this.readStates[kept++] = rs;
        continue;
      }
      const read = this.reads.get(rs.ctx);
      if (read) {
        this.reads.delete(rs.ctx);
        read.resolve();
      }
    }
    this.readStates.length = kept;
  }

  /** A Ready with a snapshot, with nothing else in flight: the synchronous Ready contract. */
  private async installSnapshotReady(rd: Ready): Promise<void> {
    const snapshot = rd.snapshot!;
    try {
      await this.options.wal.saveSnapshot(toStoredSnapshot(snapshot));
      const hard = rd.hardState;
      if (rd.entries.length > 0 || this.mustSyncHard(hard)) {
        const started = performance.now();
        await this.options.wal.append({ entries: rd.entries, ...(hard ? { hardState: hard } : {}) });
        this.options.observer?.persisted((performance.now() - started) / 1000, rd.entries.length);
        if (hard) this.persistedHard = this.issuedHard = hard;
      }
      if (this.stopped) return;
      this.persistedLastIndex = rd.entries.at(-1)?.index ?? snapshot.meta.index;
      this.send(rd.messages);
      this.machine.restore(snapshot.data, snapshot.meta.index);
      this.settleProposalsInSnapshot();
      this.snapshotIndex = snapshot.meta.index;
      this.appliedLogIndex = Math.max(this.appliedLogIndex, rd.committedEntries.at(-1)?.index ?? snapshot.meta.index);
      for (const entry of rd.committedEntries) this.applyToMachine(entry);
      const before = this.node.status().config;
      this.node.advance(rd);
      this.reportConfigChange(before, this.node.status().config);
      for (const rs of rd.readStates) this.readStates.push(rs);
      this.serveReads();
    } catch (error) {
      this.fail(error, 'installing a snapshot failed; the group stops');
    }
  }

  /** A failed fsync (or apply) leaves the node unable to promise anything: stop taking work. */
  private fail(error: unknown, what: string): void {
    if (this.failure) return;
    this.failure = appError('UNAVAILABLE', 'this node cannot persist its log', { cause: error });
    this.log.fatal({ err: error }, what);
    for (const p of this.proposals.values()) p.reject(this.failure);
    this.proposals.clear();
  }

  /** Applies one committed entry here and tells the core (membership changes take effect). */
  private applyOne(entry: Entry): void {
    this.appliedLogIndex = Math.max(this.appliedLogIndex, entry.index);
    if (entry.type === 'confChange') {
      const before = this.node.status().config;
      this.node.appliedTo(entry);
      this.reportConfigChange(before, this.node.status().config);
      return;
    }
    this.applyToMachine(entry);
    this.node.appliedTo(entry);
  }

  /** Applies a normal entry to the state machine and settles this node's proposal for it. */
  private applyToMachine(entry: Entry): void {
    if (entry.type !== 'normal' || entry.index <= this.machine.appliedIndex()) return;
    const outcome = this.machine.applyEntry(entry.index, entry.term, entry.data);
    if (outcome.clientId === this.clientId) {
      const pending = this.proposals.get(outcome.seq);
      if (pending) {
        this.proposals.delete(outcome.seq);
        this.options.observer?.proposal('committed');
        // A duplicate (a re-send) whose first copy this node never applied itself: it came
        // inside a snapshot, and with it the result. The command did take effect.
        if (outcome.fresh) pending.resolve(outcome.result);
        else pending.reject(appliedUnseenError());
      }
    }
  }

  /** After a snapshot: proposals it already holds will never apply here, so answer them now. */
  private settleProposalsInSnapshot(): void {
    for (const [seq, pending] of this.proposals) {
      if (!this.machine.hasApplied(this.clientId, seq)) continue;
      this.proposals.delete(seq);
      this.unsent.delete(seq);
      this.options.observer?.proposal('committed');
      pending.reject(appliedUnseenError());
    }
  }

  /** Proposes a membership change (forwarded to the leader if need be); resolves once applied here. */
  async changeMembership(cc: ConfChange): Promise<void> {
    const applied = (): boolean => {
      const { voters, learners } = this.node.status().config;
      switch (cc.type) {
        case 'addLearner':
          return learners.includes(cc.nodeId) || voters.includes(cc.nodeId);
        case 'promote':
          return voters.includes(cc.nodeId);
        case 'remove':
          return !voters.includes(cc.nodeId) && !learners.includes(cc.nodeId);
      }
    };
    if (applied()) return;
    const deadline = this.options.scheduler.now() + this.requestTimeoutMs;
    let lastAsked = -Infinity;
    while (this.options.scheduler.now() < deadline && !this.stopped) {
      if (this.options.scheduler.now() - lastAsked >= this.electionMs) {
        lastAsked = this.options.scheduler.now();
        this.askConfChange(cc);
      }
      await new Promise((r) => setTimeout(r, 10));
      if (applied()) return;
    }
    throw appError('UNAVAILABLE', `the membership change (${cc.type} ${cc.nodeId}) did not apply in time`);
  }

  /** On the leader, proposes the change; elsewhere forwards it. Refusals the caller must see are thrown. */
  private askConfChange(cc: ConfChange): void {
    if (this.soft.role !== 'leader') {
      if (this.soft.lead) {
        this.options.transport.send(this.soft.lead, { type: RAFT_CONF_CHANGE, group: this.options.group, body: cc });
      }
      return;
    }
    try {
      this.node.proposeConfChange(cc);
      this.pump();
    } catch (error) {
      if (error instanceof RaftError && error.code === 'INVALID_CONF_CHANGE') {
        throw appError('BAD_USER_INPUT', error.message);
      }
      if (!(error instanceof RaftError)) throw error;
      // CONF_CHANGE_PENDING or a transfer: asked again on the next round.
    }
  }

  /** Leader only: promotes learners whose log has caught up with the commit index. */
  private promoteCaughtUpLearners(): void {
    const status = this.node.status();
    if (status.role !== 'leader') return;
    for (const learner of status.config.learners) {
      const progress = status.progress[learner];
      if (progress && progress.recentActive && progress.match >= status.commit) {
        try {
          this.node.proposeConfChange({ type: 'promote', nodeId: learner });
          this.pump();
        } catch (error) {
          if (!(error instanceof RaftError)) throw error;
        }
        return; // one change at a time
      }
    }
  }

  private reportConfigChange(before: ConfState, after: ConfState): void {
    if (before === after) return;
    const events: Array<{ type: RaftEventType; nodeId: string }> = [];
    for (const id of after.learners) if (!before.learners.includes(id) && !before.voters.includes(id)) events.push({ type: 'NODE_ADDED', nodeId: id });
    for (const id of after.voters) {
      if (before.learners.includes(id)) events.push({ type: 'NODE_PROMOTED', nodeId: id });
      else if (!before.voters.includes(id)) events.push({ type: 'NODE_ADDED', nodeId: id });
    }
    for (const id of [...before.voters, ...before.learners]) {
      if (!after.voters.includes(id) && !after.learners.includes(id)) events.push({ type: 'NODE_REMOVED', nodeId: id });
    }
    if (events.length === 0) return;
    const { term, role, lead } = this.node.status();
    for (const e of events) {
      this.log.info({ event: e.type, member: e.nodeId }, 'membership changed');
      const event: RaftEvent = { ...e, group: this.options.group, leader: lead, role, term };
      for (const listener of this.listeners) listener(event);
    }
  }

  private maybeCompact(): void {
    const applied = this.machine.appliedIndex();
    if (applied - this.snapshotIndex < this.snapshotEvery) return;
    const data = this.machine.snapshot();
    try {
      this.node.compact(applied, data);
    } catch (error) {
      if (error instanceof RaftError) return;
      throw error;
    }
    const status = this.node.status();
    const term = this.node.logView().term(applied) ?? status.term;
    this.snapshotIndex = applied;
    void this.options.wal
      .saveSnapshot({ metadata: { index: applied, term, config: status.config }, data })
      .catch((error: unknown) => this.log.error({ err: error }, 'saving a snapshot failed'));
  }

  private onSoftState(soft: SoftState): void {
    const previous = this.soft;
    this.soft = soft;
    const term = this.node.status().term;
    if (soft.role === 'leader' && previous.role !== 'leader') {
      this.log.info({ term }, 'became leader');
      // Proposals waiting for a leader can go now.
      for (const p of this.proposals.values()) this.submit(p);
    } else if (soft.lead && soft.lead !== previous.lead) {
      for (const p of this.proposals.values()) this.submit(p);
    }
    const type = soft.lead && soft.lead !== previous.lead ? 'LEADER_ELECTED' : 'ROLE_CHANGED';
    if (type === 'LEADER_ELECTED') this.options.observer?.leaderChanged();
    const event: RaftEvent = { type, group: this.options.group, leader: soft.lead, role: soft.role, term };
    for (const listener of this.listeners) listener(event);
  }
}

function fromStoredSnapshot(s: StoredSnapshot): Snapshot {
  return { meta: { index: s.metadata.index, term: s.metadata.term, conf: s.metadata.config }, data: s.data };
}

function toStoredSnapshot(s: Snapshot): StoredSnapshot {
  return { metadata: { index: s.meta.index, term: s.meta.term, config: s.meta.conf }, data: s.data };
}

/**
 * The answer for a proposal that was applied in a part of the log this node received as a
 * snapshot: it took effect, but its result is not known here. Retryable: commands that carry
 * a request id (lock acquires) answer a retry with the original result.
 */
function appliedUnseenError(): Error {
  return appError('UNAVAILABLE', 'the command was applied, but this node learned of it through a snapshot and does not know its result; retry it with the same requestId', {
    details: { applied: true },
  });
}
