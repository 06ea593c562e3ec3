/**
 * The peer transport interface. Implemented by WebSocket links between real processes
 * (src/transport/ws-*.ts) and by an in-memory network for deterministic tests
 * (src/transport/memory-network.ts); everything above the transport sees only this.
 */
import type { Envelope, OutgoingMessage } from './envelope.js';

export type SendResult =
  | 'queued' // accepted: sent now or queued for the (re)connecting link
  | 'full' // the bounded send queue is full: the caller decides to retry or give up
  | 'unknown-peer'; // no such peer configured

export interface LinkStateChange {
  readonly peer: string;
  /** `connected`: our outbound link to the peer is up (handshake passed). */
  readonly state: 'connected' | 'disconnected';
  readonly at: number;
}

export interface PeerTransport {
  readonly selfId: string;
  /** Peers this transport can address (never includes selfId). */
  peers(): readonly string[];
  /** Sends to one peer. Never throws for network reasons; never blocks. */
  send(to: string, message: OutgoingMessage): SendResult;
  /** Registers a handler for every envelope addressed to this node; returns an unsubscribe. */
  onMessage(handler: (envelope: Envelope) => void): () => void;
  /** Outbound link state changes (the failure detector decides up/down, not this). */
  onLinkState(handler: (change: LinkStateChange) => void): () => void;
  /** Closes every link and stops reconnecting. */
  close(): Promise<void>;
}

/** A peer as configured: its id and the host:port of its node. */
export interface PeerAddress {
  readonly id: string;
  readonly address: string;
}

/**
 * Who this node is beyond its id: the cluster it belongs to and this incarnation of its data dir
 * (a fresh value when the data dir is created, kept for its life). Both are non-empty printable
 * ASCII, at most 64 characters, without leading or trailing spaces (see isIdentityToken).
 */
export interface NodeIdentity {
  readonly clusterId: string;
  readonly incarnation: string;
}

/**
 * The incarnation each peer was first seen with. A peer that comes back with another one lost
 * its data dir (and with it its votes and acknowledgements), so its links are refused until an
 * operator removes it and adds it again (which re-pins it).
 */
export interface IncarnationPins {
  /** True when `incarnation` is the one pinned for `peer` (pinning it if none is yet); false when a different one is pinned. */
  check(peer: string, incarnation: string): boolean;
}
