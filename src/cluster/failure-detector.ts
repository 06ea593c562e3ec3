/**
 * Heartbeat failure detector, a pure core: it is told when a peer was heard from and
 * asked to check at a given time; it never reads a clock. A peer is reported down once
 * nothing has been heard from it for `timeoutMs`, and up again on the first message
 * after that. The view is this node's own; agreement on membership comes from Raft.
 */
export interface PeerHealth {
  readonly id: string;
  readonly reachable: boolean;
  /** Monotonic time of the last message heard, undefined if never heard. */
  readonly lastHeardAt: number | undefined;
  /** Round-trip time of the last answered heartbeat, undefined until one is answered. */
  readonly rttMs: number | undefined;
}

export interface HealthChange {
  readonly id: string;
  readonly reachable: boolean;
  readonly at: number;
}

interface MutablePeerHealth {
  id: string;
  reachable: boolean;
  lastHeardAt: number | undefined;
  rttMs: number | undefined;
}

export class FailureDetector {
  private readonly peers = new Map<string, MutablePeerHealth>();

  constructor(
    peerIds: readonly string[],
    private readonly timeoutMs: number,
  ) {
    for (const id of peerIds) this.addPeer(id);
  }

  addPeer(id: string): void {
    if (!this.peers.has(id)) {
      this.peers.set(id, { id, reachable: false, lastHeardAt: undefined, rttMs: undefined });
    }
  }

  removePeer(id: string): void {
    this.peers.delete(id);
  }

  /** Records that `id` was heard at `now`; returns the change if it was not reachable. */
  heard(id: string, now: number, rttMs?: number): HealthChange | undefined {
    const peer = this.peers.get(id);
    if (!peer) return undefined;
    peer.lastHeardAt = Math.max(peer.lastHeardAt ?? now, now);
    if (rttMs !== undefined) peer.rttMs = rttMs;
    if (peer.reachable) return undefined;
    peer.reachable = true;
    return { id, reachable: true, at: now };
  }

  /** Marks down every reachable peer not heard from within the timeout. */
  check(now: number): HealthChange[] {
    const changes: HealthChange[] = [];
    for (const peer of this.peers.values()) {
      if (peer.reachable && peer.lastHeardAt !== undefined && now - peer.lastHeardAt >= this.timeoutMs) {
        peer.reachable = false;
        changes.push({ id: peer.id, reachable: false, at: now });
      }
    }
    return changes;
  }

  health(id: string): PeerHealth | undefined {
    const peer = this.peers.get(id);
    return peer ? { ...peer } : undefined;
  }

  all(): PeerHealth[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }
}
