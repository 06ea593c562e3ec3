/**
 * The receiving side of peer links: upgrade requests on `/cluster` that peers dialed into us.
 *
 * Guarantees:
 * - A handshake that fails is answered with a plain `401 Unauthorized` before any upgrade, and
 *   logged once with the reason and the claimed peer id (never the secret or a signature). That
 *   includes a dialer from another cluster ('wrong-cluster') and one whose incarnation differs
 *   from the one pinned for its id ('stale-incarnation', with a message telling the operator to
 *   remove the peer and add it again). A pin store that throws answers `503` and is logged.
 * - The 101 response carries this node's incarnation and a signature over it and the cluster id.
 * - An accepted connection is bound to the peer its handshake authenticated; a frame is passed
 *   on only if it decodes as an envelope from that peer to this node (others are dropped and
 *   logged at debug).
 * - A frame above maxFrameBytes closes that connection with 1009 (ws's maxPayload), is logged,
 *   and affects nothing else. A new connection from a peer supersedes its older ones (the peer
 *   only sends on its newest; an older one is half-open or dying).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { Scheduler } from '../util/scheduler.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import { HEADER_CLUSTER, HEADER_INCARNATION, serverHeaders, verifyClientHandshake, type HandshakeVerdict } from './handshake.js';
import { ReplayCache } from './replay-cache.js';
import type { IncarnationPins, NodeIdentity } from './types.js';

export interface InboundLinksOptions {
  readonly selfId: string;
  readonly secret: string;
  /** This node's cluster id and incarnation. */
  readonly identity: NodeIdentity;
  /** Peer id → incarnation first seen: a dialer presenting another one is refused. */
  readonly incarnations: IncarnationPins;
  readonly logger: Logger;
  readonly maxFrameBytes: number;
  readonly isKnownPeer: (id: string) => boolean;
  readonly wallClock: () => number;
  readonly scheduler: Scheduler;
  readonly deliver: (envelope: Envelope) => void;
  /** A peer proved itself on a new inbound connection: it is alive and reachable again. */
  readonly onPeerDialedIn?: (peer: string) => void;
}

interface Accepted {
  readonly peer: string;
  readonly nonce: string;
}

const CLOSE_GRACE_MS = 1_000;

export class InboundLinks {
  private readonly wss: WebSocketServer;
  private readonly replay = new ReplayCache();
  /** Handshakes that passed, keyed by request, for the `headers` hook that signs the 101. */
  private readonly accepted = new WeakMap<IncomingMessage, Accepted>();
  private readonly byPeer = new Map<string, Set<WebSocket>>();
  private readonly closedSockets = new WeakMap<WebSocket, Promise<void>>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: InboundLinksOptions) {
    this.log = options.logger;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false });
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const ok = this.accepted.get(req);
      if (ok === undefined) return;
      const proof = {
        from: ok.peer,
        to: options.selfId,
        nonce: ok.nonce,
        cluster: options.identity.clusterId,
        incarnation: options.identity.incarnation,
      };
      for (const [name, value] of Object.entries(serverHeaders(options.secret, proof))) headers.push(`${name}: ${value}`);
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A reset from the peer while we answer must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    if (this.closed) {
      reject(socket, '503 Service Unavailable');
      return;
    }
    let verdict: HandshakeVerdict;
    try {
      verdict = verifyClientHandshake(req.headers, {
        secret: this.options.secret,
        selfId: this.options.selfId,
        clusterId: this.options.identity.clusterId,
        isKnownPeer: this.options.isKnownPeer,
        nowMs: this.options.wallClock(),
        replay: this.replay,
        incarnations: this.options.incarnations,
      });
    } catch (err) {
      // The pin store failed (a persisted one can): fail closed, the dialer retries.
      this.log.error({ err, remote: req.socket.remoteAddress }, 'peer handshake check failed');
      reject(socket, '503 Service Unavailable');
      return;
    }
    if (!verdict.ok) {
      this.logRefusal(req, verdict);
      reject(socket, '401 Unauthorized');
      return;
    }
    this.accepted.set(req, { peer: verdict.peer, nonce: verdict.nonce });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, verdict.peer));
  }

  private logRefusal(req: IncomingMessage, verdict: Extract<HandshakeVerdict, { ok: false }>): void {
    const peer = verdict.claimedPeer?.slice(0, 64);
    const fields = { reason: verdict.reason, peer, remote: req.socket.remoteAddress };
    if (verdict.reason === 'wrong-cluster') {
      // Signed by the dialer, so it is what the dialer believes (and well-formed: checked).
      this.log.warn({ ...fields, cluster: req.headers[HEADER_CLUSTER] }, 'refused peer handshake');
    } else if (verdict.reason === 'stale-incarnation') {
      this.log.warn(
        { ...fields, incarnation: req.headers[HEADER_INCARNATION] },
        `refused peer handshake: peer ${peer} presents a new identity (its data dir was probably lost) ` +
          'and must be removed from the cluster and added again',
      );
    } else {
      this.log.warn(fields, 'refused peer handshake');
    }
  }

  /** Closes every inbound connection from `peer` (it was removed from the configuration). */
  closePeer(peer: string): Promise<void> {
    const sockets = [...(this.byPeer.get(peer) ?? [])];
    return Promise.all(sockets.map((ws) => this.closeSocket(ws, 1008, 'peer removed'))).then(() => undefined);
  }

  count(): number {
    let n = 0;
    for (const set of this.byPeer.values()) n += set.size;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.byPeer.values()].flatMap((set) => [...set]);
    await Promise.all(all.map((ws) => this.closeSocket(ws, 1001, 'shutting down')));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private attach(ws: WebSocket, peer: string): void {
    if (this.closed || !this.options.isKnownPeer(peer)) {
      ws.terminate();
      return;
    }
    const log = this.log.child({ peer });
    this.closedSockets.set(ws, new Promise((resolve) => ws.once('close', () => resolve())));
    let set = this.byPeer.get(peer);
    if (set === undefined) {
      set = new Set();
      this.byPeer.set(peer, set);
    }
    for (const older of set) void this.closeSocket(older, 1000, 'superseded');
    set.add(ws);
    log.debug('inbound peer link accepted');
    this.options.onPeerDialedIn?.(peer);

    ws.on('message', (data) => this.onFrame(peer, data, log));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        log.warn({ maxFrameBytes: this.options.maxFrameBytes }, 'peer frame too large; closing that connection (1009)');
      } else {
        log.warn({ err: err.message, code: err.code }, 'inbound peer link error');
      }
    });
    ws.on('close', (code) => {
      set.delete(ws);
      if (set.size === 0 && this.byPeer.get(peer) === set) this.byPeer.delete(peer);
      log.debug({ code }, 'inbound peer link closed');
    });
  }

  private onFrame(peer: string, data: RawData, log: Logger): void {
    const envelope = decodeEnvelope(rawToString(data));
    if (envelope === undefined) {
      log.debug('dropping a frame that is not an envelope');
      return;
    }
    if (envelope.from !== peer || envelope.to !== this.options.selfId) {
      log.debug({ from: envelope.from, to: envelope.to }, 'dropping an envelope with the wrong sender or receiver');
      return;
    }
    this.options.deliver(envelope);
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
    const done = this.closedSockets.get(ws) ?? Promise.resolve();
    ws.close(code, reason);
    // A half-open or paused peer never answers the close handshake: cut it after a grace period.
    const grace = this.options.scheduler.setTimer(CLOSE_GRACE_MS, () => ws.terminate());
    return done.then(() => grace.cancel());
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function reject(socket: Duplex, status: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // end() flushes the response; destroy once it is written (as ws does for its own refusals).
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
