/**
 * One node's outbound link to one peer: the only socket it sends that peer anything on.
 *
 * Guarantees:
 * - Dials `ws://<address>/cluster` with signed handshake headers (ids, time, nonce, cluster id,
 *   incarnation) and reports `connected` only after the server proved it holds the secret and
 *   belongs to this cluster (server signature on the 101 response, over the cluster id and the
 *   server's incarnation) and that incarnation matched the one pinned for the peer. A server
 *   that fails either is dropped before anything is sent and retried like any failure (the
 *   operator may fix it); the first such failure of an episode is logged at warn.
 * - Logging: at most one info and one warn line per failure episode (until the link is up
 *   again), so a peer that was down and then comes back refusing still gets its warning.
 * - Redials after any failure with exponential backoff and full jitter; the backoff resets once
 *   a link has stayed up for `stableMs`.
 * - While the link is not up, frames wait in a byte-bounded FIFO and are written in order as
 *   soon as it is; while up, a frame that would take socket buffer + queue past the bound is
 *   refused ('full') and not sent. Either way memory stays bounded.
 * - A ping every pingIntervalMs; no pong within pingTimeoutMs terminates the socket (a paused
 *   or half-open peer) and redials.
 * - Delivery is at most once: frames in the socket buffer when a link breaks are lost (layers
 *   above retransmit). Frames are never reordered on one link.
 * Assumes frames were already checked against the frame limit by the caller.
 */
import { WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { Random } from '../util/random.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';
import { corkForTick, rawSocketOf } from '../util/cork.js';
import { Backoff } from './backoff.js';
import { HEADER_INCARNATION, clientHeaders, verifyServerHandshake, type ServerVerdict } from './handshake.js';
import { SendQueue } from './send-queue.js';
import type { IncarnationPins, NodeIdentity, PeerAddress } from './types.js';

export interface OutboundLinkOptions {
  readonly selfId: string;
  readonly peer: PeerAddress;
  readonly secret: string;
  /** This node's cluster id and incarnation. */
  readonly identity: NodeIdentity;
  /** Peer id → incarnation first seen: a server presenting another one is refused. */
  readonly incarnations: IncarnationPins;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly maxQueueBytes: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly stableMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** Wall clock (ms) for the handshake timestamp. */
  readonly wallClock: () => number;
  /** 16 random bytes, hex: the handshake nonce (from a CSPRNG, not `random`). */
  readonly nonce: () => string;
  readonly onState: (state: 'connected' | 'disconnected') => void;
}

export interface OutboundLinkStats {
  readonly peer: string;
  readonly connected: boolean;
  readonly queuedBytes: number;
  readonly bufferedAmount: number;
  readonly reconnects: number;
}

type Phase = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** Outbound sockets carry no data towards us; anything bigger than a control frame is abuse. */
const OUTBOUND_MAX_PAYLOAD = 64 * 1024;
/** How long close() waits for a polite close handshake before cutting the socket. */
const CLOSE_GRACE_MS = 1_000;

export class OutboundLink {
  private phase: Phase = 'idle';
  private socket: WebSocket | undefined;
  private socketClosed: Promise<void> = Promise.resolve();
  private readonly queue: SendQueue;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private retryTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private pongDeadline: TimerHandle | undefined;
  private connectedAt = 0;
  private reconnects = 0;
  /** Per failure episode (until the link is up again): one info and one warn line, then debug. */
  private failureLogged = false;
  private failureWarned = false;
  /** Frames refused since the queue filled up; undefined while not full. */
  private refusedInEpisode: number | undefined;

  constructor(private readonly options: OutboundLinkOptions) {
    this.queue = new SendQueue(options.maxQueueBytes);
    this.backoff = new Backoff({ ...options.backoff, random: options.random });
    this.log = options.logger.child({ peer: options.peer.id });
  }

  get peerId(): string {
    return this.options.peer.id;
  }

  get address(): string {
    return this.options.peer.address;
  }

  start(): void {
    if (this.phase === 'idle') this.dial();
  }

  /**
   * Ends a backoff wait at once (the peer just proved it is up by dialing us) and starts from
   * the initial backoff again. No effect while connecting, open or closed.
   */
  redialNow(): void {
    if (this.phase !== 'waiting') return;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.backoff.reset();
    this.reconnects++;
    this.dial();
  }

  send(frame: string, bytes: number): 'queued' | 'full' {
    if (this.phase === 'closed') return 'full';
    const ws = this.socket;
    if (this.phase === 'open' && ws !== undefined && ws.readyState === WebSocket.OPEN) {
      if (!this.queue.fits(bytes, ws.bufferedAmount)) return this.refuse();
      // Raft sends bursts (appends to each follower, forwarded proposals): one write per tick.
      corkForTick(rawSocketOf(ws));
      ws.send(frame);
      return this.accept();
    }
    return this.queue.push(frame, bytes) ? this.accept() : this.refuse();
  }

  stats(): OutboundLinkStats {
    return {
      peer: this.options.peer.id,
      connected: this.phase === 'open',
      queuedBytes: this.queue.bytes,
      bufferedAmount: this.socket?.bufferedAmount ?? 0,
      reconnects: this.reconnects,
    };
  }

  /** Stops redialing and closes the socket; resolves once it is closed. */
  close(): Promise<void> {
    if (this.phase !== 'closed') {
      const wasOpen = this.phase === 'open';
      this.phase = 'closed';
      this.retryTimer?.cancel();
      this.stopPings();
      this.queue.clear();
      const ws = this.socket;
      if (ws !== undefined) {
        if (ws.readyState === WebSocket.OPEN) {
          ws.close(1001, 'shutting down');
          const grace = this.options.scheduler.setTimer(CLOSE_GRACE_MS, () => ws.terminate());
          void this.socketClosed.then(() => grace.cancel());
        } else {
          ws.terminate();
        }
      }
      if (wasOpen) this.options.onState('disconnected');
    }
    return this.socketClosed;
  }

  private accept(): 'queued' {
    if (this.refusedInEpisode !== undefined) {
      this.log.info({ refused: this.refusedInEpisode }, 'peer send queue accepting again');
      this.refusedInEpisode = undefined;
    }
    return 'queued';
  }

  private refuse(): 'full' {
    if (this.refusedInEpisode === undefined) {
      this.refusedInEpisode = 0;
      this.log.warn(
        { queuedBytes: this.queue.bytes, bufferedAmount: this.socket?.bufferedAmount ?? 0, maxQueueBytes: this.queue.maxBytes },
        'peer send queue full; refusing messages',
      );
    }
    this.refusedInEpisode++;
    return 'full';
  }

  private dial(): void {
    const { selfId, peer, secret, identity } = this.options;
    this.phase = 'connecting';
    const nonce = this.options.nonce();
    const headers = clientHeaders(secret, {
      from: selfId,
      to: peer.id,
      nowMs: this.options.wallClock(),
      nonce,
      cluster: identity.clusterId,
      incarnation: identity.incarnation,
    });
    const ws = new WebSocket(`ws://${peer.address}/cluster`, {
      headers,
      perMessageDeflate: false,
      maxPayload: OUTBOUND_MAX_PAYLOAD,
      handshakeTimeout: this.options.pingTimeoutMs,
      followRedirects: false,
    });
    this.socket = ws;
    this.socketClosed = new Promise((resolve) => ws.once('close', () => resolve()));
    let serverProved = false;

    ws.on('upgrade', (response) => {
      let verdict: ServerVerdict;
      try {
        verdict = verifyServerHandshake(response.headers, {
          secret,
          selfId,
          peerId: peer.id,
          nonce,
          clusterId: identity.clusterId,
          incarnations: this.options.incarnations,
        });
      } catch (err) {
        // The pin store failed (a persisted one can): fail closed and retry.
        this.log.error({ err }, 'peer incarnation check failed');
        this.noteFailure('incarnation-check-failed', 'warn');
        ws.terminate();
        return;
      }
      serverProved = verdict.ok;
      if (!verdict.ok) {
        if (verdict.reason === 'stale-incarnation') {
          this.noteFailure(
            'stale-incarnation',
            'warn',
            `peer link failed: peer ${peer.id} presents a new identity (its data dir was probably lost) ` +
              'and must be removed from the cluster and added again; will keep redialing',
            { incarnation: response.headers[HEADER_INCARNATION] },
          );
        } else {
          this.noteFailure(verdict.reason, 'warn');
        }
        ws.terminate(); // before `open`: nothing is ever sent to a server that failed to prove itself
      }
    });
    ws.on('open', () => {
      if (!serverProved || ws !== this.socket || this.phase !== 'connecting') {
        ws.terminate();
        return;
      }
      this.onOpen(ws);
    });
    ws.on('pong', () => {
      this.pongDeadline?.cancel();
      this.pongDeadline = undefined;
    });
    ws.on('message', () => this.log.debug('ignoring data on an outbound peer link'));
    ws.on('error', (err) => {
      const refused = /\b401\b/.test(err.message);
      this.noteFailure(refused ? 'refused by peer (401)' : err.message, refused ? 'warn' : 'info');
    });
    ws.on('close', (code) => this.onClose(ws, code));
  }

  private onOpen(ws: WebSocket): void {
    this.phase = 'open';
    this.connectedAt = this.options.scheduler.now();
    this.failureLogged = false;
    this.failureWarned = false;
    // Flush in order before anything newer can be written (send() writes only when open).
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) ws.send(item.frame);
    this.schedulePing(ws);
    this.log.info({ reconnects: this.reconnects }, 'peer link up');
    this.options.onState('connected');
  }

  private onClose(ws: WebSocket, code: number): void {
    if (ws !== this.socket) return;
    this.socket = undefined;
    this.stopPings();
    if (this.phase === 'closed') return;
    if (this.phase === 'open') {
      if (this.options.scheduler.now() - this.connectedAt >= this.options.stableMs) this.backoff.reset();
      this.log.info({ code }, 'peer link down');
      this.options.onState('disconnected');
    }
    this.phase = 'waiting';
    const delay = this.backoff.next();
    this.log.debug({ delayMs: delay }, 'redialing peer');
    this.retryTimer = this.options.scheduler.setTimer(delay, () => {
      this.retryTimer = undefined;
      if (this.phase !== 'waiting') return;
      this.reconnects++;
      this.dial();
    });
  }

  private noteFailure(
    reason: string,
    level: 'warn' | 'info',
    msg = 'peer link failed; will keep redialing',
    extra: Record<string, unknown> = {},
  ): void {
    if (this.phase === 'closed') return;
    // A warn-worthy failure after an info one (peer down, then back but refusing) still warns.
    if (this.failureLogged && (level === 'info' || this.failureWarned)) {
      this.log.debug({ reason }, 'peer link attempt failed');
      return;
    }
    this.failureLogged = true;
    if (level === 'warn') this.failureWarned = true;
    this.log[level]({ reason, address: this.options.peer.address, ...extra }, msg);
  }

  private schedulePing(ws: WebSocket): void {
    this.pingTimer = this.options.scheduler.setTimer(this.options.pingIntervalMs, () => {
      if (ws !== this.socket || this.phase !== 'open') return;
      ws.ping();
      // One deadline at a time, set by the oldest unanswered ping; any pong clears it.
      this.pongDeadline ??= this.options.scheduler.setTimer(this.options.pingTimeoutMs, () => {
        if (ws !== this.socket) return;
        this.log.warn({ timeoutMs: this.options.pingTimeoutMs }, 'peer did not answer ping; dropping link');
        ws.terminate();
      });
      this.schedulePing(ws);
    });
  }

  private stopPings(): void {
    this.pingTimer?.cancel();
    this.pingTimer = undefined;
    this.pongDeadline?.cancel();
    this.pongDeadline = undefined;
  }
}
