/**
 * The vocabulary of the Raft core: messages, log entries, hard state, snapshots,
 * membership and the Ready batch. Plain data only, so every value can be copied, encoded
 * and compared; nothing here holds a reference to the core.
 *
 * Assumes: indexes and terms are safe integers (the storage layer writes them as u64;
 * 2^53 is never reached). Node ids are non-empty strings; NONE ('') means "nobody".
 */

export type NodeId = string;
/** "Nobody": no vote cast, no leader known. */
export const NONE: NodeId = '';

export type EntryType = 'normal' | 'confChange' | 'noop';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before a node speaks again (votes, acks): Raft Figure 2. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type ConfChangeType = 'addLearner' | 'promote' | 'remove';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /** The membership in effect once every entry up to `index` is applied. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type MessageType =
  | 'Hup'
  | 'Prop'
  | 'PreVote'
  | 'PreVoteResp'
  | 'Vote'
  | 'VoteResp'
  | 'App'
  | 'AppResp'
  | 'Heartbeat'
  | 'HeartbeatResp'
  | 'Snap'
  | 'SnapResp'
  | 'TimeoutNow'
  | 'TransferLeader'
  | 'ReadIndex'
  | 'ReadIndexResp';

/**
 * One flat message shape, as etcd's raftpb.Message: the fields a type does not use stay at
 * their zero value. Field meaning by type:
 * - App: index/logTerm = the entry preceding `entries`; commit = leader commit.
 * - AppResp: index = last index now matching (accept) or the rejected probe index (reject);
 *   rejectHint/logTerm = the follower's guess of where logs may match (fast back-off).
 * - PreVote/Vote: index/logTerm = the candidate's last entry; context 'transfer' forces.
 * - Heartbeat: commit = min(leader commit, follower match); context = read-index round.
 * - Snap: snapshot = meta; snapOffset/snapTotal/snapData = one chunk of the data.
 * - SnapResp: index = bytes of the chunk stream received so far (next expected offset).
 * - ReadIndex/ReadIndexResp: context = request context; index = read index (resp).
 */
export interface Message {
  readonly group: string;
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly context: string;
  readonly snapshot?: SnapshotMeta;
  readonly snapOffset?: number;
  readonly snapTotal?: number;
  readonly snapData?: Uint8Array;
}

/** Fills every field a caller leaves out with its zero value. */
export function makeMessage(
  m: Pick<Message, 'type' | 'from' | 'to' | 'term' | 'group'> & Partial<Message>,
): Message {
  return {
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    context: '',
    ...m,
  };
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported only when it changes; never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: Role;
}

/** A linearizable read point: serve `ctx` once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly ctx: string;
}

/**
 * One batch of work for the driver. See raw-node.ts for the exact order in which the
 * driver must handle each field.
 */
export interface Ready {
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed. Persist before sending `messages`. */
  readonly hardState?: HardState;
  /** Append to stable storage (an entry at index i replaces any stored entry at >= i). */
  readonly entries: readonly Entry[];
  /** Persist, then restore the state machine from it, before applying committedEntries. */
  readonly snapshot?: Snapshot;
  /** Apply in order, then call advance(). */
  readonly committedEntries: readonly Entry[];
  /**
   * Leader replication traffic (App, Snap, Heartbeat, TimeoutNow, ReadIndexResp) that may be
   * sent at once, before this Ready is persisted (Raft thesis §10.2.1): the leader counts its
   * own log for commit only after advance() says it is durable.
   */
  readonly earlyMessages: readonly Message[];
  /** Send only after hardState, entries and snapshot of this Ready are durable. */
  readonly messages: readonly Message[];
  /** Serve each read once committedEntries of this Ready are applied. */
  readonly readStates: readonly ReadState[];
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly learner: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly lead: NodeId;
  readonly role: Role;
  readonly config: ConfState;
  /** Per peer, only on the leader. */
  readonly progress: Readonly<Record<NodeId, ProgressStatus>>;
  readonly leadTransferee: NodeId;
}
