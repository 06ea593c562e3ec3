/**
 * What a leader knows about one follower's log (etcd's tracker.Progress), and the flow
 * control that follows from it.
 *
 * States:
 * - probe: the leader does not know where the logs match; at most one App is in flight
 *   (paused until a response or heartbeat response), and rejections move `next` back.
 * - replicate: the logs match up to `match`; Apps are pipelined optimistically (`next` moves on
 *   send) within an inflight window of `maxInflight` messages.
 * - snapshot: the follower needs entries the leader has compacted; a chunked snapshot stream
 *   is under way and no App is sent until it completes or fails.
 *
 * Guarantees: match only grows (a leader never believes a follower lost acknowledged
 * entries — followers never truncate acknowledged, committed entries); next > match.
 */
import type { Snapshot } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A bounded FIFO of the last index carried by each App in flight. */
export class Inflights {
  private readonly items: number[] = [];
  constructor(readonly capacity: number) {}

  full(): boolean {
    return this.items.length >= this.capacity;
  }
  count(): number {
    return this.items.length;
  }
  add(lastIndex: number): void {
    this.items.push(lastIndex);
  }
  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.items.length > 0 && (this.items[0] ?? Infinity) <= index) this.items.shift();
  }
  freeFirstOne(): void {
    this.items.shift();
  }
  reset(): void {
    this.items.length = 0;
  }
}

/** A snapshot being streamed in chunks; `acked` bytes are confirmed by the follower. */
export interface SnapshotStream {
  readonly snapshot: Snapshot;
  sent: number;
  acked: number;
  /** Ticks since the follower last confirmed a chunk; restart from `acked` when stale. */
  idleTicks: number;
  /** What the follower said it holds in its latest answer (it may have restarted since `acked`). */
  reported: number;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe: one App is in flight and unanswered. */
  probeSent = false;
  /** Heard from within the current election timeout (CheckQuorum). */
  recentActive = true;
  learner: boolean;
  stream: SnapshotStream | undefined;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, learner: boolean) {
    this.next = next;
    this.learner = learner;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    // After a snapshot, probe right after it: the follower has at least that.
    const afterSnapshot = this.state === 'snapshot' && this.stream ? this.stream.snapshot.meta.index + 1 : 0;
    this.state = 'probe';
    this.next = Math.max(this.match + 1, afterSnapshot);
    this.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.reset();
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot';
    this.reset();
    this.stream = { snapshot, sent: 0, acked: 0, idleTicks: 0, reported: 0 };
  }

  private reset(): void {
    this.probeSent = false;
    this.inflights.reset();
    if (this.state !== 'snapshot') this.stream = undefined;
  }

  /** An App acknowledged `index`; returns false when the ack tells nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * The follower rejected an App at `rejected`; `matchHint` is where the logs may match.
   * Returns false for a stale rejection (one that does not answer the latest probe).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Bookkeeping after sending an App carrying entries up to `lastIndex` (or none). */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }
}
