/**
 * Which commands of each client have been applied, so a retried command applies once.
 * Per client it keeps a low-water mark (every seq ≤ low is applied) and the applied seqs
 * above it; a client sends seqs 1, 2, 3, … but they may arrive out of order (forwarding,
 * retries), so "seq ≤ last seen" alone would wrongly drop a late one. Clients idle for
 * `idleMs` of state-machine time are forgotten (their process has restarted under a new
 * client id by then). Pure and deterministic: time is the entries' timestamps.
 */
interface ClientRecord {
  low: number;
  above: Set<number>;
  lastSeen: number;
}

export interface DedupSnapshot {
  readonly clients: Array<[string, number, number[], number]>;
}

/** A client with more seqs applied out of order than this is treated as broken. */
const MAX_GAP_TRACKED = 100_000;

export class DedupTable {
  private readonly clients = new Map<string, ClientRecord>();

  constructor(private readonly idleMs = 60 * 60 * 1000) {}

  /** Records (clientId, seq) as applied; false when it had been applied before. */
  markApplied(clientId: string, seq: number, now: number): boolean {
    let record = this.clients.get(clientId);
    if (!record) {
      record = { low: 0, above: new Set(), lastSeen: now };
      this.clients.set(clientId, record);
    }
    record.lastSeen = now;
    if (seq <= record.low) return false;
    // The usual case, the next seq in order with no gap open: no set to touch. (Adding to and
    // deleting from the set for every entry makes V8 reallocate its table every few entries,
    // and the new table, held by an old record, survives the next young-generation GC.)
    if (seq === record.low + 1 && record.above.size === 0) {
      record.low = seq;
      return true;
    }
    if (record.above.has(seq)) return false;
    record.above.add(seq);
    while (record.above.delete(record.low + 1)) record.low++;
    if (record.above.size > MAX_GAP_TRACKED) {
      // A hole that never fills: move past it rather than grow without bound.
      record.low = Math.min(...record.above) - 1;
      while (record.above.delete(record.low + 1)) record.low++;
    }
    return true;
  }

  /** Whether (clientId, seq) has been applied (as far as this table remembers). */
  hasApplied(clientId: string, seq: number): boolean {
    const record = this.clients.get(clientId);
    return record !== undefined && (seq <= record.low || record.above.has(seq));
  }

  /** Forgets clients idle for longer than idleMs at `now`. */
  expire(now: number): void {
    for (const [id, record] of this.clients) {
      if (now - record.lastSeen > this.idleMs) this.clients.delete(id);
    }
  }

  size(): number {
    return this.clients.size;
  }

  toSnapshot(): DedupSnapshot {
    return {
      clients: [...this.clients].map(([id, r]) => [id, r.low, [...r.above].sort((a, b) => a - b), r.lastSeen]),
    };
  }

  static fromSnapshot(snapshot: DedupSnapshot, idleMs?: number): DedupTable {
    const table = new DedupTable(idleMs);
    for (const [id, low, above, lastSeen] of snapshot.clients) {
      table.clients.set(id, { low, above: new Set(above), lastSeen });
    }
    return table;
  }
}
