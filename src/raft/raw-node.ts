/**
 * The face a driver uses (etcd's RawNode): inputs (tick, step, propose, …) and one Ready
 * batch of outputs at a time.
 *
 * The Ready contract — for each Ready, in this order:
 *  1. Send `earlyMessages` at once (leader replication; thesis §10.2.1). They never depend
 *     on this Ready being durable.
 *  2. Persist, in one durable write (fsync): `snapshot` (if any; it replaces the log up to its
 *     index), then `entries` (an entry at index i replaces any stored entry at >= i), then
 *     `hardState` (if any).
 *  3. Only then send `messages` (votes, acks, responses): they promise what step 2 made durable.
 *  4. If `snapshot` is set, restore the state machine from it. Apply `committedEntries` in order.
 *     A conf-change entry needs nothing special from the driver: advance() applies it to the
 *     membership (read `status().config` afterwards to update peer links).
 *  5. Serve `readStates` (each one's index is covered by what step 4 applied).
 *  6. Call advance(ready). Until then ready() may not be called again; tick/step/propose may.
 *
 * Asynchronous storage writes (etcd's AsyncStorageWrites), instead of 2–6: a driver may hand
 * a Ready without a snapshot to storage and call acceptReady(ready) at once, so the next
 * Ready (and its earlyMessages) need not wait for the fsync. It must then keep, per node:
 *  - writes durable in the order the Readies were accepted; when one is, call
 *    persisted(lastIndex, lastTerm) for its entries (a leader counts its own log only then);
 *  - each Ready's `messages` held until its write, and every write accepted before it, is
 *    durable (a Ready without a write waits for the writes before it);
 *  - committed entries applied in the order handed out, each only once it is durable here,
 *    calling appliedTo(entry) after each; a readState served once its index is applied.
 * A Ready with a snapshot is handled as in 2–6 with advance(), after every earlier write is
 * durable and every earlier committed entry applied.
 *
 * Restarting: pass `restore` with the last durable hard state, snapshot and entries, and the
 * same `peers` as at bootstrap (a snapshot's membership overrides them). The state machine
 * starts from the snapshot; committed entries after it come back in the first Readies.
 */
import { Raft, type ProposalPosition, type RaftConfig } from './raft.js';
import { makeMessage, type ConfChange, type Entry, type HardState, type Message, type NodeId, type ProgressStatus, type Ready, type Snapshot, type SoftState, type Status } from './types.js';

export type RawNodeOptions = RaftConfig;

export interface LogView {
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Undefined below firstIndex - 1 (compacted) or beyond lastIndex. */
  term(index: number): number | undefined;
  entry(index: number): Entry | undefined;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private inFlight: Ready | undefined;

  constructor(options: RawNodeOptions) {
    this.raft = new Raft(options);
    this.prevSoft = this.softState();
    // What is on disk: the first Ready persists a bootstrap's term and commit.
    this.prevHard = options.restore?.hardState ?? { term: 0, vote: '', commit: 0 };
  }

  get id(): NodeId {
    return this.raft.id;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests; a driver normally lets ticks do it). */
  campaign(): void {
    this.raft.step(this.local('Hup'));
  }

  /** Feeds a message from a peer. Messages of another group are a driver bug. */
  step(m: Message): void {
    if (m.group !== this.raft.group) throw new Error(`raft: message for group ${m.group} stepped into ${this.raft.group}`);
    if (m.type === 'Hup') return; // local-only; a peer cannot make us campaign
    this.raft.step(m);
  }

  /**
   * Appends a proposal on the leader. Throws RaftError NOT_LEADER (with the leader's id when
   * known, for forwarding) or TRANSFER_IN_PROGRESS. The entry is committed iff, later, the
   * applied entry at `index` has `term`.
   */
  propose(data: Uint8Array | string): ProposalPosition {
    return this.raft.propose(data);
  }

  /** See conf-change.ts. Throws NOT_LEADER, TRANSFER_IN_PROGRESS, CONF_CHANGE_PENDING, INVALID_CONF_CHANGE. */
  proposeConfChange(cc: ConfChange): ProposalPosition {
    return this.raft.proposeConfChange(cc);
  }

  /**
   * Requests a linearizable read point; it comes back as a ReadState with this ctx (unique per
   * request) — or never, if leadership is lost: the driver times reads out.
   */
  readIndex(ctx: string): void {
    this.raft.readIndex(ctx);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /**
   * The application took a snapshot of its state at `index` (<= applied): compact the log.
   * The driver persists the returned snapshot (it is not repeated in a Ready).
   */
  compact(index: number, data: Uint8Array): Snapshot {
    return this.raft.compact(index, data);
  }

  hasReady(): boolean {
    if (this.inFlight) return false;
    const r = this.raft;
    const soft = this.softState();
    return (
      r.hasPendingWork() ||
      soft.lead !== this.prevSoft.lead ||
      soft.role !== this.prevSoft.role ||
      !sameHard(r.hardState(), this.prevHard) ||
      r.log.unstableSnapshot !== undefined ||
      r.log.unstableEntries().length > 0 ||
      r.log.hasNextCommitted() ||
      r.msgs.length > 0 ||
      r.earlyMsgs.length > 0 ||
      r.hasReadStates(r.log.applying)
    );
  }

  ready(): Ready {
    if (this.inFlight) throw new Error('raft: ready() called before advance() of the previous Ready');
    const r = this.raft;
    r.flush();
    const soft = this.softState();
    const hard = r.hardState();
    const committedEntries = r.log.nextCommitted(r.maxCommittedSize);
    const applyTo = committedEntries.at(-1)?.index ?? r.log.applying;
    const rd: Ready = {
      ...(soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role ? { softState: soft } : {}),
      ...(sameHard(hard, this.prevHard) ? {} : { hardState: hard }),
      entries: r.log.unstableEntries(),
      ...(r.log.unstableSnapshot ? { snapshot: r.log.unstableSnapshot } : {}),
      committedEntries,
      earlyMessages: r.earlyMsgs,
      messages: r.msgs,
      readStates: r.takeReadStates(Math.max(applyTo, r.log.applied)),
    };
    r.msgs = [];
    r.earlyMsgs = [];
    r.log.applying = Math.max(r.log.applying, applyTo);
    this.prevSoft = soft;
    if (rd.hardState) this.prevHard = rd.hardState;
    this.inFlight = rd;
    return rd;
  }

  /** The driver finished every step of the Ready contract for `rd`. */
  advance(rd: Ready): void {
    if (rd !== this.inFlight) throw new Error('raft: advance() with a Ready that is not the current one');
    this.inFlight = undefined;
    const r = this.raft;
    if (rd.snapshot) r.log.stableSnapTo(rd.snapshot.meta.index);
    const last = rd.entries.at(-1);
    if (last) r.log.stableTo(last.index, last.term);
    for (const e of rd.committedEntries) this.appliedTo(e);
    r.onPersisted();
  }

  /**
   * Asynchronous storage writes: the driver has taken `rd` (its entries and hard state are being
   * written, its earlyMessages sent); ready() may be called again. Not for a Ready with a snapshot.
   */
  acceptReady(rd: Ready): void {
    if (rd !== this.inFlight) throw new Error('raft: acceptReady() with a Ready that is not the current one');
    if (rd.snapshot) throw new Error('raft: a Ready with a snapshot must be advanced, not accepted');
    this.inFlight = undefined;
    const last = rd.entries.at(-1);
    if (last) this.raft.log.inProgressTo(last.index);
  }

  /** Asynchronous storage writes: entries up to (index, term) are durable. */
  persisted(index: number, term: number): void {
    this.raft.log.stableTo(index, term);
    this.raft.onPersisted();
  }

  /** Asynchronous storage writes: the driver applied this committed entry (in order). */
  appliedTo(entry: Entry): void {
    const r = this.raft;
    // An entry a snapshot installed since it was handed out already covers.
    if (entry.index <= r.log.applied) return;
    if (entry.type === 'confChange') r.applyConfEntry(entry);
    r.log.appliedTo(entry.index);
  }

  /** Read-only view of the in-memory log, for diagnostics and invariant checkers. */
  logView(): LogView {
    const log = this.raft.log;
    return {
      firstIndex: log.firstIndex(),
      lastIndex: log.lastIndex(),
      term: (i) => log.term(i),
      entry: (i) => log.entry(i),
    };
  }

  status(): Status {
    const r = this.raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.role === 'leader') {
      for (const [id, pr] of r.prs) {
        progress[id] = { match: pr.match, next: pr.next, state: pr.state, learner: pr.learner, recentActive: pr.recentActive };
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      lead: r.lead,
      role: r.role,
      config: { voters: [...r.conf.voters], learners: [...r.conf.learners] },
      progress,
      leadTransferee: r.leadTransferee,
    };
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role };
  }

  private local(type: 'Hup'): Message {
    return makeMessage({ group: this.raft.group, type, from: this.raft.id, to: this.raft.id, term: 0 });
  }
}
