/**
 * Peer links between node processes over WebSocket (`ws`), behind the PeerTransport interface.
 *
 * Shape: two unidirectional connections per pair of nodes. Each node dials every peer and sends
 * only on that outbound connection (outbound-link.ts); it receives only on the connections peers
 * dialed into it (inbound-links.ts), which the node's http.Server hands over via handleUpgrade().
 * One writer per socket keeps ordering and backpressure simple: a link's send queue and socket
 * buffer belong to exactly one sender.
 *
 * Guarantees: both ends of every connection authenticate with the cluster secret and check the
 * other's cluster id and incarnation (handshake.ts): a node of another cluster, or a peer id
 * back with another incarnation than the one pinned for it, gets no link either way;
 * per-peer memory is bounded by maxQueueBytes; frames are at most maxFrameBytes both ways (an
 * oversized outgoing message is a programming error and throws RangeError); messages on one link
 * arrive in send order, at most once; handlers run synchronously and one handler's exception
 * reaches neither the others nor the socket. After close() no socket or timer is left.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { systemRandom, type Random } from '../util/random.js';
import { RealScheduler, type Scheduler } from '../util/scheduler.js';
import { ENVELOPE_VERSION, encodeEnvelope, type Envelope, type OutgoingMessage } from './envelope.js';
import { isIdentityToken } from './handshake.js';
import { InboundLinks } from './inbound-links.js';
import { OutboundLink, type OutboundLinkStats } from './outbound-link.js';
import type { IncarnationPins, LinkStateChange, NodeIdentity, PeerAddress, PeerTransport, SendResult } from './types.js';

export interface WsPeerTransportOptions {
  readonly selfId: string;
  readonly peers: readonly PeerAddress[];
  readonly clusterSecret: string;
  /**
   * This node's cluster id and incarnation, both printable ASCII of 1..64 characters without
   * leading or trailing spaces. Peers must present the same cluster id.
   */
  readonly identity: NodeIdentity;
  /** The incarnation each peer was first seen with (persisted by the node); checked both ways. */
  readonly incarnations: IncarnationPins;
  /** Used as given: pass the component's child (`logger.child({ component: 'peer-link' })`). */
  readonly logger: Logger;
  /** Largest frame sent or accepted, bytes (default 4 MiB). */
  readonly maxFrameBytes?: number;
  /** Per-peer bound on queued + socket-buffered bytes (default 8 MiB). */
  readonly maxQueueBytes?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  readonly random?: Random;
  readonly scheduler?: Scheduler;
}

export type WsPeerTransportStats = OutboundLinkStats;

const MIB = 1024 * 1024;

export class WsPeerTransport implements PeerTransport {
  readonly selfId: string;
  private readonly links = new Map<string, OutboundLink>();
  private readonly inbound: InboundLinks;
  private readonly messageHandlers = new Set<(envelope: Envelope) => void>();
  private readonly linkHandlers = new Set<(change: LinkStateChange) => void>();
  private readonly log: Logger;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly maxFrameBytes: number;
  private readonly maxQueueBytes: number;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WsPeerTransportOptions) {
    if (options.selfId === '') throw new Error('WsPeerTransport: selfId must not be empty');
    if (options.clusterSecret === '') throw new Error('WsPeerTransport: clusterSecret must not be empty');
    for (const key of ['clusterId', 'incarnation'] as const) {
      const value = options.identity[key];
      if (!isIdentityToken(value)) {
        throw new Error(`WsPeerTransport: identity.${key} must be 1..64 printable ASCII characters, got ${JSON.stringify(value)}`);
      }
    }
    this.selfId = options.selfId;
    this.log = options.logger;
    this.scheduler = options.scheduler ?? new RealScheduler();
    this.random = options.random ?? systemRandom();
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? 4 * MIB);
    this.maxQueueBytes = positive('maxQueueBytes', options.maxQueueBytes ?? 8 * MIB);
    this.backoff = {
      initialMs: positive('backoff.initialMs', options.backoff?.initialMs ?? 100),
      maxMs: positive('backoff.maxMs', options.backoff?.maxMs ?? 5_000),
    };
    this.pingIntervalMs = positive('pingIntervalMs', options.pingIntervalMs ?? 1_000);
    this.pingTimeoutMs = positive('pingTimeoutMs', options.pingTimeoutMs ?? 3_000);
    this.inbound = new InboundLinks({
      selfId: this.selfId,
      secret: options.clusterSecret,
      identity: options.identity,
      incarnations: options.incarnations,
      logger: this.log,
      maxFrameBytes: this.maxFrameBytes,
      isKnownPeer: (id) => this.links.has(id),
      wallClock: Date.now,
      scheduler: this.scheduler,
      deliver: (envelope) => this.deliver(envelope),
      // A restarted peer dials us first; answer without waiting out our own backoff.
      onPeerDialedIn: (id) => this.links.get(id)?.redialNow(),
    });
    this.setPeers(options.peers);
  }

  peers(): readonly string[] {
    return [...this.links.keys()];
  }

  send(to: string, message: OutgoingMessage): SendResult {
    const link = this.links.get(to);
    if (link === undefined) return 'unknown-peer';
    const envelope: Envelope = { v: ENVELOPE_VERSION, from: this.selfId, to, group: message.group, type: message.type, body: message.body };
    const frame = encodeEnvelope(envelope);
    const bytes = Buffer.byteLength(frame, 'utf8');
    if (bytes > this.maxFrameBytes) {
      throw new RangeError(`peer message of ${bytes} bytes exceeds maxFrameBytes ${this.maxFrameBytes} (type ${message.type}); chunk it`);
    }
    return link.send(frame, bytes);
  }

  onMessage(handler: (envelope: Envelope) => void): () => void {
    const wrapped = (envelope: Envelope): void => handler(envelope);
    this.messageHandlers.add(wrapped);
    return () => this.messageHandlers.delete(wrapped);
  }

  onLinkState(handler: (change: LinkStateChange) => void): () => void {
    const wrapped = (change: LinkStateChange): void => handler(change);
    this.linkHandlers.add(wrapped);
    return () => this.linkHandlers.delete(wrapped);
  }

  /** For the node's http.Server `upgrade` event on path `/cluster`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.inbound.handleUpgrade(req, socket, head);
  }

  /**
   * Replaces the peer set: dials new peers, closes links (both directions) to removed ones and
   * redials a peer whose address changed. The own id is ignored; duplicate ids are an error.
   */
  setPeers(peers: readonly PeerAddress[]): void {
    if (this.closing !== undefined) return;
    const wanted = new Map<string, PeerAddress>();
    for (const peer of peers) {
      if (peer.id === this.selfId) continue;
      if (peer.id === '' || peer.address === '') throw new Error(`WsPeerTransport: bad peer ${JSON.stringify(peer)}`);
      if (wanted.has(peer.id)) throw new Error(`WsPeerTransport: peer ${peer.id} listed twice`);
      wanted.set(peer.id, peer);
    }
    for (const [id, link] of this.links) {
      const next = wanted.get(id);
      if (next !== undefined && next.address === link.address) continue;
      this.links.delete(id);
      void link.close();
      if (next === undefined) void this.inbound.closePeer(id);
    }
    for (const [id, peer] of wanted) {
      if (this.links.has(id)) continue;
      const link = this.createLink(peer);
      this.links.set(id, link);
      link.start();
    }
  }

  stats(): WsPeerTransportStats[] {
    return [...this.links.values()].map((link) => link.stats());
  }

  /** Stops redialing and closes every socket, outbound and inbound. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const links = [...this.links.values()];
      this.links.clear();
      await Promise.all([...links.map((link) => link.close()), this.inbound.close()]);
      this.messageHandlers.clear();
      this.linkHandlers.clear();
    })();
    return this.closing;
  }

  private createLink(peer: PeerAddress): OutboundLink {
    return new OutboundLink({
      selfId: this.selfId,
      peer,
      secret: this.options.clusterSecret,
      identity: this.options.identity,
      incarnations: this.options.incarnations,
      logger: this.log,
      scheduler: this.scheduler,
      random: this.random,
      maxQueueBytes: this.maxQueueBytes,
      backoff: this.backoff,
      // Up for a full backoff ceiling without trouble counts as recovered.
      stableMs: this.backoff.maxMs,
      pingIntervalMs: this.pingIntervalMs,
      pingTimeoutMs: this.pingTimeoutMs,
      wallClock: Date.now,
      nonce: () => randomBytes(16).toString('hex'),
      onState: (state) => this.emitLinkState({ peer: peer.id, state, at: this.scheduler.now() }),
    });
  }

  private deliver(envelope: Envelope): void {
    for (const handler of [...this.messageHandlers]) {
      try {
        handler(envelope);
      } catch (err) {
        this.log.error({ err, type: envelope.type, from: envelope.from }, 'peer message handler threw');
      }
    }
  }

  private emitLinkState(change: LinkStateChange): void {
    for (const handler of [...this.linkHandlers]) {
      try {
        handler(change);
      } catch (err) {
        this.log.error({ err, peer: change.peer }, 'link state handler threw');
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`WsPeerTransport: ${name} must be a positive number, got ${value}`);
  return value;
}
