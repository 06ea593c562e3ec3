/**
 * The driver of one Raft group on one node: it feeds the pure core (RawNode) with ticks,
 * peer messages and proposals, and carries out each Ready in the order the core requires
 * (early leader appends at once; persist with fsync; then votes and acks; apply; reads;
 * advance). It resolves proposals on the node that received them — a follower forwards
 * them to the leader and waits for its own replica to apply them — and keeps re-sending a
 * pending proposal until it applies or its deadline passes (UNAVAILABLE, retryable); the
 * dedup table makes re-sends apply once.
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
import type { ConfChange, ConfState, Entry, HardState, Message, Ready, Role, Snapshot, SoftState, Status } from '../types.js';
import { encodeCommand } from './command-codec.js';
import {
  RAFT_CONF_CHANGE,
  RAFT_MESSAGE,
  RAFT_PROPOSE,
  fromWire,
  toWire,
  type ForwardedProposal,
  type WireMessage,
} from './message-codec.js';
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
  private stopped = false;
  private ticker: TimerHandle | undefined;
  private soft: SoftState = { lead: '', role: 'follower' };
  private snapshotIndex: number;
  private failure: Error | undefined;
  private persistedHard: HardState;
  /** The last log index this node holds durably (its WAL's last entry, or its snapshot's index). */
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
    const snapshot = recovered.snapshot ? fromStoredSnapshot(recovered.snapshot) : undefined;
    if (snapshot) this.machine.restore(snapshot.data, snapshot.meta.index);
    this.snapshotIndex = snapshot?.meta.index ?? 0;
    this.persistedLastIndex = recovered.entries.at(-1)?.index ?? this.snapshotIndex;
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
    this.reads.clear();
    while (this.pumping) await new Promise((r) => setTimeout(r, 5));
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
      this.pump();
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

  private submit(p: PendingProposal): void {
    const { lead, role } = this.soft;
    if (role === 'leader') {
      try {
        this.node.propose(
          encodeCommand({ clientId: this.clientId, seq: p.seq, timestamp: this.wallClock(), payload: p.payload }),
        );
      } catch (error) {
        if (!(error instanceof RaftError)) throw error;
        // Not accepted now (e.g. a transfer in progress): the retry loop sends it again.
      }
    } else if (lead) {
      const body: ForwardedProposal = {
        clientId: this.clientId,
        seq: p.seq,
        payload: Buffer.from(p.payload).toString('base64'),
      };
      this.options.transport.send(lead, { type: RAFT_PROPOSE, group: this.options.group, body });
    }
    p.lastSent = this.options.scheduler.now();
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
        const body = envelope.body as ForwardedProposal;
        this.node.propose(
          encodeCommand({
            clientId: body.clientId,
            seq: body.seq,
            timestamp: this.wallClock(),
            payload: new Uint8Array(Buffer.from(body.payload, 'base64')),
          }),
        );
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

  /** Handles Readies one at a time until the core has nothing more to do. */
  private pump(): void {
    if (this.pumping || this.stopped || this.failure) return;
    if (!this.node.hasReady()) return;
    this.pumping = true;
    void this.drain().finally(() => {
      this.pumping = false;
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) {
        const rd = this.node.ready();
        await this.handleReady(rd);
        // Membership changes only with a conf-change entry or a snapshot; status() is not free.
        const confChanged = rd.snapshot !== undefined || rd.committedEntries.some((e) => e.type === 'confChange');
        const before = confChanged ? this.node.status().config : undefined;
        this.node.advance(rd);
        if (before) this.reportConfigChange(before, this.node.status().config);
        this.maybeCompact();
      }
    } catch (error) {
      // A failed fsync leaves the node unable to promise anything: stop taking work.
      this.failure = appError('UNAVAILABLE', 'this node cannot persist its log', { cause: error });
      this.log.fatal({ err: error }, 'raft storage failed; the group stops');
      for (const p of this.proposals.values()) p.reject(this.failure);
      this.proposals.clear();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState);
    this.send(rd.earlyMessages);
    // Committed entries this node already holds durably (committed while the previous append
    // was being written) need not wait for this Ready's fsync: applying them first answers
    // their clients one fsync sooner. Entries this Ready appends or overwrites wait for it.
    const committed = rd.committedEntries;
    let early = 0;
    if (!rd.snapshot) {
      const firstNew = rd.entries[0]?.index ?? Infinity;
      while (early < committed.length) {
        const index = committed[early]!.index;
        if (index > this.persistedLastIndex || index >= firstNew) break;
        early++;
      }
      this.applyCommitted(committed, 0, early);
    }
    if (rd.snapshot) await this.options.wal.saveSnapshot(toStoredSnapshot(rd.snapshot));
    // Term and vote must be durable before a vote or ack goes out; the commit index need not
    // be (a restarted node learns it again from the leader), so a commit-only change rides
    // along with the next append instead of costing an fsync of its own.
    const hard = rd.hardState;
    const mustSyncHard = hard !== undefined && (hard.term !== this.persistedHard.term || hard.vote !== this.persistedHard.vote);
    if (rd.entries.length > 0 || mustSyncHard) {
      const started = performance.now();
      await this.options.wal.append({ entries: rd.entries, ...(hard ? { hardState: hard } : {}) });
      this.options.observer?.persisted((performance.now() - started) / 1000, rd.entries.length);
      if (hard) this.persistedHard = hard;
    }
    if (rd.snapshot) this.persistedLastIndex = rd.snapshot.meta.index;
    const lastAppended = rd.entries.at(-1);
    if (lastAppended) this.persistedLastIndex = lastAppended.index;
    this.send(rd.messages);
    if (rd.snapshot) {
      this.machine.restore(rd.snapshot.data, rd.snapshot.meta.index);
      this.snapshotIndex = rd.snapshot.meta.index;
    }
    this.applyCommitted(committed, early, committed.length);
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.ctx);
      if (read) {
        this.reads.delete(rs.ctx);
        read.resolve();
      }
    }
  }

  /** Applies committed[from, to) in order and settles this node's proposals among them. */
  private applyCommitted(committed: readonly Entry[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const entry = committed[i]!;
      if (entry.type !== 'normal' || entry.index <= this.machine.appliedIndex()) continue;
      const outcome = this.machine.applyEntry(entry.index, entry.term, entry.data);
      if (outcome.clientId === this.clientId) {
        const pending = this.proposals.get(outcome.seq);
        if (pending) {
          this.proposals.delete(outcome.seq);
          this.options.observer?.proposal('committed');
          pending.resolve(outcome.result);
        }
      }
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
