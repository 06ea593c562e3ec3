/**
 * ReadIndex bookkeeping on the leader (Raft thesis §6.4): each request records the commit
 * index at arrival; it may be served once a quorum has acknowledged a heartbeat sent after
 * it arrived (so the leader was still the leader when it recorded the index).
 *
 * Guarantees: requests are released in arrival order; an ack for a later request also
 * confirms every earlier one (leadership at a later moment covers the earlier moments).
 * Assumes: request contexts are unique among pending requests (the driver's job).
 */
import type { NodeId } from './types.js';

export interface ReadRequest {
  readonly index: number;
  readonly ctx: string;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private queue: ReadRequest[] = [];

  add(index: number, ctx: string, from: NodeId, self: NodeId): void {
    if (this.queue.some((r) => r.ctx === ctx)) return;
    this.queue.push({ index, ctx, from, acks: new Set([self]) });
  }

  /** The context a heartbeat round should carry: the newest pending request. */
  lastPending(): string {
    return this.queue.at(-1)?.ctx ?? '';
  }

  recvAck(from: NodeId, ctx: string): ReadonlySet<NodeId> | undefined {
    const r = this.queue.find((q) => q.ctx === ctx);
    if (!r) return undefined;
    r.acks.add(from);
    return r.acks;
  }

  /** Removes and returns every request up to and including `ctx`. */
  advance(ctx: string): ReadRequest[] {
    const i = this.queue.findIndex((q) => q.ctx === ctx);
    if (i < 0) return [];
    return this.queue.splice(0, i + 1);
  }

  reset(): void {
    this.queue = [];
  }

  pending(): number {
    return this.queue.length;
  }
}
