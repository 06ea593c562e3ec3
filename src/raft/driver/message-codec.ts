/**
 * Raft messages on the peer link: the envelope body is the message with binary fields
 * (entry data, snapshot chunks) as base64, so it survives the JSON envelope.
 */
import type { Entry, Message } from '../types.js';

export const RAFT_MESSAGE = 'raft.msg';
export const RAFT_PROPOSE = 'raft.propose';
export const RAFT_CONF_CHANGE = 'raft.confchange';

interface WireEntry extends Omit<Entry, 'data'> {
  readonly data: string;
}

export interface WireMessage extends Omit<Message, 'entries' | 'snapData'> {
  readonly entries: readonly WireEntry[];
  readonly snapData?: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

export function toWire(m: Message): WireMessage {
  const { snapData, entries, ...rest } = m;
  return {
    ...rest,
    entries: entries.map((e) => ({ ...e, data: b64(e.data) })),
    ...(snapData ? { snapData: b64(snapData) } : {}),
  };
}

export function fromWire(w: WireMessage): Message {
  const { snapData, entries, ...rest } = w;
  return {
    ...rest,
    entries: entries.map((e) => ({ ...e, data: unb64(e.data) })),
    ...(snapData !== undefined ? { snapData: unb64(snapData) } : {}),
  };
}

/** A proposal forwarded from a follower to the leader. */
export interface ForwardedProposal {
  readonly clientId: string;
  readonly seq: number;
  readonly payload: string; // base64
}
