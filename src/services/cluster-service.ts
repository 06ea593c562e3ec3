/**
 * ClusterService: this node's view of its peers. It sends heartbeats over the peer
 * transport, answers them, feeds the failure detector, and publishes peer up/down
 * events. Every message from a peer counts as a sign of life, not only heartbeats.
 * Until membership is replicated (Raft), the member list is the static configuration.
 */
import type { Logger } from '../log.js';
import { FailureDetector, type HealthChange } from '../cluster/failure-detector.js';
import type { Envelope } from '../transport/envelope.js';
import type { PeerAddress, PeerTransport } from '../transport/types.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';

export const HEARTBEAT = 'cluster.heartbeat';
export const HEARTBEAT_ACK = 'cluster.heartbeat-ack';

interface HeartbeatBody {
  readonly sentAt: number;
}

export interface MemberView {
  readonly id: string;
  readonly address: string;
  readonly self: boolean;
  readonly reachable: boolean;
  /** Milliseconds since this node last heard from the member (0 for itself). */
  readonly lastSeenMs: number | undefined;
  readonly rttMs: number | undefined;
}

export type ClusterEventType = 'PEER_UP' | 'PEER_DOWN';

export interface ClusterEvent {
  readonly sequence: number;
  readonly type: ClusterEventType;
  readonly nodeId: string;
  /** Wall-clock time of the observation (epoch ms). */
  readonly at: number;
}

export interface ClusterServiceOptions {
  readonly self: PeerAddress;
  readonly peers: readonly PeerAddress[];
  readonly transport: PeerTransport;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly heartbeatIntervalMs: number;
  readonly failureTimeoutMs: number;
  /** Wall clock for event timestamps; injectable for tests. */
  readonly wallClock?: () => number;
}

export class ClusterService {
  private readonly detector: FailureDetector;
  private readonly listeners = new Set<(event: ClusterEvent) => void>();
  private readonly peers: Map<string, PeerAddress>;
  private readonly wallClock: () => number;
  private readonly unsubscribe: () => void;
  private timer: TimerHandle | undefined;
  private sequence = 0;
  private stopped = false;

  constructor(private readonly options: ClusterServiceOptions) {
    this.peers = new Map(options.peers.map((p) => [p.id, p]));
    this.detector = new FailureDetector([...this.peers.keys()], options.failureTimeoutMs);
    this.wallClock = options.wallClock ?? Date.now;
    this.unsubscribe = options.transport.onMessage((envelope) => this.onEnvelope(envelope));
  }

  start(): void {
    this.beat();
  }

  /** Replaces the peer list (membership changed); new peers start unreachable. */
  setPeers(peers: readonly PeerAddress[]): void {
    const next = new Map(peers.filter((p) => p.id !== this.options.self.id).map((p) => [p.id, p]));
    for (const id of this.peers.keys()) if (!next.has(id)) this.detector.removePeer(id);
    for (const id of next.keys()) this.detector.addPeer(id);
    this.peers.clear();
    for (const [id, peer] of next) this.peers.set(id, peer);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.unsubscribe();
    this.listeners.clear();
  }

  get selfId(): string {
    return this.options.self.id;
  }

  members(): MemberView[] {
    const self: MemberView = {
      id: this.options.self.id,
      address: this.options.self.address,
      self: true,
      reachable: true,
      lastSeenMs: 0,
      rttMs: 0,
    };
    const now = this.options.scheduler.now();
    const others = [...this.peers.values()].map((peer): MemberView => {
      const health = this.detector.health(peer.id);
      return {
        id: peer.id,
        address: peer.address,
        self: false,
        reachable: health?.reachable ?? false,
        lastSeenMs: health?.lastHeardAt === undefined ? undefined : Math.max(0, now - health.lastHeardAt),
        rttMs: health?.rttMs,
      };
    });
    return [self, ...others].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** True when this node, counted with the peers it can hear, is a majority. */
  hasQuorumView(): boolean {
    const total = this.peers.size + 1;
    const reachable = 1 + this.detector.all().filter((p) => p.reachable).length;
    return reachable > total / 2;
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  private beat(): void {
    if (this.stopped) return;
    const now = this.options.scheduler.now();
    for (const peer of this.peers.keys()) {
      this.options.transport.send(peer, { type: HEARTBEAT, body: { sentAt: now } satisfies HeartbeatBody });
    }
    for (const change of this.detector.check(now)) this.publish(change);
    this.timer = this.options.scheduler.setTimer(this.options.heartbeatIntervalMs, () => this.beat());
  }

  private onEnvelope(envelope: Envelope): void {
    if (this.stopped || !this.peers.has(envelope.from)) return;
    const now = this.options.scheduler.now();
    let rtt: number | undefined;
    if (envelope.type === HEARTBEAT) {
      const body = envelope.body as HeartbeatBody;
      this.options.transport.send(envelope.from, { type: HEARTBEAT_ACK, body: { sentAt: body.sentAt } });
    } else if (envelope.type === HEARTBEAT_ACK) {
      const sentAt = (envelope.body as HeartbeatBody).sentAt;
      if (typeof sentAt === 'number' && sentAt <= now) rtt = now - sentAt;
    }
    const change = this.detector.heard(envelope.from, now, rtt);
    if (change) this.publish(change);
  }

  private publish(change: HealthChange): void {
    const event: ClusterEvent = {
      sequence: ++this.sequence,
      type: change.reachable ? 'PEER_UP' : 'PEER_DOWN',
      nodeId: change.id,
      at: this.wallClock(),
    };
    this.options.logger.info({ peer: change.id, event: event.type }, change.reachable ? 'peer up' : 'peer down');
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'cluster event listener failed');
      }
    }
  }
}
