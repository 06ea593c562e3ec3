/**
 * The in-memory Raft log of one node: a snapshot base, then entries. Entries above `stable`
 * (and a snapshot not yet marked stable) are the unstable part the driver still has to persist.
 *
 * Guarantees:
 * - committed never decreases and never exceeds lastIndex(); applying/applied never exceed
 *   committed; an entry at or below committed is never truncated (that would be a safety bug,
 *   so it throws).
 * - term(i) is known for snapshot.index <= i <= lastIndex(); below that the log is compacted.
 * Assumes: the caller checks Raft's rules (e.g. matchTerm before append).
 */
import type { ConfState, Entry, Snapshot } from './types.js';

export const ENTRY_OVERHEAD_BYTES = 24;

export function entrySize(e: Entry): number {
  return e.data.length + ENTRY_OVERHEAD_BYTES;
}

const EMPTY_SNAPSHOT: Snapshot = {
  meta: { index: 0, term: 0, conf: { voters: [], learners: [] } },
  data: new Uint8Array(0),
};

export class RaftLog {
  /** The latest snapshot this node holds (its base); index 0 means none. */
  snapshot: Snapshot = EMPTY_SNAPSHOT;
  /** A snapshot received from the leader and not yet persisted by the driver. */
  unstableSnapshot: Snapshot | undefined;
  private entries: Entry[] = [];
  /** Highest index the driver has persisted. */
  stable = 0;
  /**
   * Highest index handed to the driver for persisting and not yet reported durable (asynchronous
   * storage writes); such entries are not handed out again. Never below `stable`.
   */
  inProgress = 0;
  committed = 0;
  /** Highest index handed to the driver to apply (in a Ready not yet advanced). */
  applying = 0;
  applied = 0;

  /** Loads persisted state after a restart; everything given is stable. */
  restore(snapshot: Snapshot | undefined, entries: readonly Entry[], commit: number): void {
    if (snapshot && snapshot.meta.index > 0) this.snapshot = snapshot;
    const base = this.snapshot.meta.index;
    this.entries = entries.filter((e) => e.index > base);
    let expect = base + 1;
    for (const e of this.entries) {
      if (e.index !== expect++) throw new Error(`raft log: entries not contiguous after ${base} at ${e.index}`);
    }
    this.stable = this.inProgress = this.lastIndex();
    this.applying = this.applied = base;
    this.committed = Math.min(Math.max(commit, base), this.lastIndex());
  }

  firstIndex(): number {
    return this.snapshot.meta.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.meta.index + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of entry i, or undefined if i is compacted or beyond the log. */
  term(i: number): number | undefined {
    const base = this.snapshot.meta.index;
    if (i === base) return this.snapshot.meta.term;
    if (i < base || i > this.lastIndex()) return undefined;
    return this.entries[i - base - 1]?.term;
  }

  entry(i: number): Entry | undefined {
    return this.entries[i - this.snapshot.meta.index - 1];
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry in `ents` that is missing or conflicts with ours; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with its term (0 if unknown).
   * Both sides of a conflicting probe use it to skip a whole term per round trip.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
      i--;
    }
  }

  /**
   * Follower side of AppendEntries: if our entry at `index` has `logTerm`, append `ents`
   * (truncating a conflicting suffix) and commit up to min(commit, last new index).
   * Returns the last index now known to match the leader, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`raft log: conflict at ${conflict} <= committed ${this.committed}`);
      }
      const first = ents[0]?.index ?? 0;
      this.append(ents.slice(conflict - first));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends, replacing any suffix starting at the first new index. */
  append(ents: readonly Entry[]): void {
    const first = ents[0];
    if (!first) return;
    if (first.index <= this.committed) {
      throw new Error(`raft log: truncating committed entry ${first.index} <= ${this.committed}`);
    }
    if (first.index > this.lastIndex() + 1) {
      throw new Error(`raft log: gap appending ${first.index} after ${this.lastIndex()}`);
    }
    this.entries.length = first.index - this.snapshot.meta.index - 1;
    this.stable = Math.min(this.stable, first.index - 1);
    // A write in flight may still land the replaced entries; the new ones are written after it.
    this.inProgress = Math.min(this.inProgress, first.index - 1);
    this.entries.push(...ents);
  }

  /**
   * Entries from `lo` on, at least one if any exist, then up to `maxBytes` in total.
   * Undefined if `lo` is compacted.
   */
  slice(lo: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i <= this.lastIndex(); i++) {
      const e = this.entry(i);
      if (!e) break;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Entries the driver has not been handed yet for persisting. */
  unstableEntries(): Entry[] {
    return this.entries.slice(Math.max(0, Math.max(this.stable, this.inProgress) - this.snapshot.meta.index));
  }

  /** The driver is persisting entries up to `index` (asynchronous storage writes). */
  inProgressTo(index: number): void {
    if (index > this.inProgress) this.inProgress = index;
  }

  /** The driver persisted entries up to (index, term); ignored if the log changed since. */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) {
      this.stable = index;
      if (this.inProgress < index) this.inProgress = index;
    }
  }

  stableSnapTo(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    if (i > this.lastIndex()) throw new Error(`raft log: commit ${i} beyond last index ${this.lastIndex()}`);
    this.committed = i;
  }

  /** Committed entries not yet handed out for applying, up to `maxBytes`. */
  nextCommitted(maxBytes: number): Entry[] {
    const lo = Math.max(this.applying, this.snapshot.meta.index) + 1;
    if (lo > this.committed) return [];
    const out = this.slice(lo, maxBytes) ?? [];
    return out.filter((e) => e.index <= this.committed);
  }

  hasNextCommitted(): boolean {
    return this.committed > Math.max(this.applying, this.snapshot.meta.index);
  }

  appliedTo(i: number): void {
    if (i > this.committed) throw new Error(`raft log: applied ${i} beyond committed ${this.committed}`);
    this.applied = Math.max(this.applied, i);
    this.applying = Math.max(this.applying, i);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  installSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.unstableSnapshot = snapshot;
    this.entries = [];
    const i = snapshot.meta.index;
    this.stable = i;
    this.inProgress = i;
    this.committed = i;
    this.applying = i;
    this.applied = i;
  }

  /**
   * Drops every entry up to `index` behind a new snapshot made by the application.
   * Requires snapshot.index < index <= applied (the data reflects exactly `index`).
   */
  compact(index: number, data: Uint8Array, conf: ConfState): Snapshot {
    const term = this.term(index);
    if (index <= this.snapshot.meta.index || index > this.applied || term === undefined) {
      throw new Error(`raft log: cannot compact to ${index} (snapshot ${this.snapshot.meta.index}, applied ${this.applied})`);
    }
    this.entries = this.entries.slice(index - this.snapshot.meta.index);
    this.snapshot = { meta: { index, term, conf }, data };
    return this.snapshot;
  }
}
