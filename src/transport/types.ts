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
