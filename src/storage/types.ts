/**
 * The durable state of one Raft group, as the WAL stores and recovers it.
 *
 * Guarantees: these are plain data; indexes and terms are JS safe integers in memory and are
 * written as u64 on disk (the codec refuses anything that is not a safe non-negative integer, so
 * a value never silently loses precision).
 */

/** Raft's persistent per-node state (Raft paper, Figure 2), plus the commit index. */
export interface HardState {
  readonly term: number;
  /** The node voted for in `term`, or '' for none. */
  readonly vote: string;
  readonly commit: number;
}

export type EntryType = 'normal' | 'confChange' | 'noop';

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface ClusterConfig {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export interface SnapshotMetadata {
  /** The last log index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  readonly config: ClusterConfig;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: '', commit: 0 });

/** What `Wal.open` found on disk. */
export interface RecoveredState {
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  /** The entries after the snapshot index (or from index 1), in index order, no gaps. */
  readonly entries: readonly LogEntry[];
}

export interface WalStats {
  /** fdatasync calls on segment and snapshot files (not directories). */
  readonly fsyncs: number;
  /** fsync calls on the WAL directory (after creating, renaming or removing files). */
  readonly dirSyncs: number;
  readonly bytesWritten: number;
  readonly segments: number;
  /** The last log index (the snapshot index when the log after it is empty). */
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Calls to `append` that have been made durable. */
  readonly appends: number;
}
