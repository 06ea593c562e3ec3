/**
 * Receiving side of a chunked InstallSnapshot. The leader streams a snapshot's data in
 * chunks of at most maxSizePerMsg bytes with a small window (flow control by SnapResp), so a
 * snapshot never queues ahead of heartbeats in the transport.
 *
 * Guarantees: a snapshot is released only when every byte arrived, from one sender, for one
 * (term, index), assembled in offset order. Chunks that arrive early (reordered) are held, up
 * to MAX_AHEAD of them, so reordering costs no resend. Every chunk is answered with the bytes
 * held in order; a lost chunk shows as an ack that stops advancing (the sender resends after
 * an idle period). `reject` means "start over from what I hold": no assembly for this stream
 * (e.g. after a restart) or no room for an early chunk.
 */
import type { Message, NodeId, Snapshot, SnapshotMeta } from './types.js';

interface Assembly {
  readonly from: NodeId;
  readonly term: number;
  readonly meta: SnapshotMeta;
  readonly total: number;
  readonly parts: Uint8Array[];
  received: number;
  /** Chunks beyond `received`, by offset. */
  readonly ahead: Map<number, Uint8Array>;
}

const MAX_AHEAD = 16;

export type ChunkOutcome =
  | { readonly kind: 'complete'; readonly snapshot: Snapshot }
  /** Tell the sender how many bytes we hold; `reject` asks it to resend from there. */
  | { readonly kind: 'ack'; readonly received: number; readonly reject: boolean };

export class SnapshotAssembler {
  private current: Assembly | undefined;

  accept(m: Message): ChunkOutcome {
    const meta = m.snapshot;
    const offset = m.snapOffset ?? 0;
    const total = m.snapTotal ?? 0;
    const data = m.snapData ?? new Uint8Array(0);
    if (!meta) return { kind: 'ack', received: 0, reject: true };
    const cur = this.current;
    const same =
      cur !== undefined && cur.from === m.from && cur.term === m.term && cur.meta.index === meta.index && cur.total === total;
    if (!same) {
      if (offset !== 0) return { kind: 'ack', received: 0, reject: true };
      this.current = { from: m.from, term: m.term, meta, total, parts: [], received: 0, ahead: new Map() };
    }
    const a = this.current;
    if (!a) return { kind: 'ack', received: 0, reject: true };
    if (offset < a.received) return { kind: 'ack', received: a.received, reject: false }; // duplicate
    if (offset > a.received) {
      if (a.ahead.size >= MAX_AHEAD) return { kind: 'ack', received: a.received, reject: true };
      a.ahead.set(offset, data);
      return { kind: 'ack', received: a.received, reject: false };
    }
    a.parts.push(data);
    a.received += data.length;
    for (let next = a.ahead.get(a.received); next !== undefined && data.length > 0; next = a.ahead.get(a.received)) {
      a.ahead.delete(a.received);
      a.parts.push(next);
      a.received += next.length;
    }
    if (a.received < a.total) return { kind: 'ack', received: a.received, reject: false };
    this.current = undefined;
    const out = new Uint8Array(a.total);
    let at = 0;
    for (const p of a.parts) {
      out.set(p.subarray(0, Math.min(p.length, a.total - at)), at);
      at += p.length;
    }
    return { kind: 'complete', snapshot: { meta: a.meta, data: out } };
  }

  reset(): void {
    this.current = undefined;
  }
}
