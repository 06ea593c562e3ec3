/**
 * The peer-link handshake: HMAC-SHA-256 over a shared cluster secret, in both directions.
 *
 * The dialer proves it holds the secret with signed upgrade headers (from, to, a wall-clock
 * timestamp and a fresh nonce); the server proves it back with a signature over the same nonce
 * in its 101 response, so a node never sends to an impostor either.
 *
 * Guarantees: the functions here are pure apart from the ReplayCache passed in — time is an
 * argument, no clock is read, no random number is drawn (the caller supplies the nonce). Every
 * refusal names one reason. Signatures are compared in constant time. A nonce is remembered
 * only after its signature checked out, so a party without the secret cannot fill the cache.
 *
 * The signed strings name the protocol version and the direction, so a client signature can
 * never be replayed as a server one. The Raft membership work will add the cluster id to both
 * signed strings (and check the node id against the stored one), so that a node from another
 * cluster sharing a secret, or a node that lost its data dir, is refused here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ReplayCache } from './replay-cache.js';

export const HANDSHAKE_PROTO = '1';
/** How far a dialer's timestamp may be from the server's wall clock, either way. */
export const HANDSHAKE_WINDOW_MS = 30_000;

export const HEADER_PROTO = 'x-distsync-proto';
export const HEADER_FROM = 'x-distsync-from';
export const HEADER_TO = 'x-distsync-to';
export const HEADER_TS = 'x-distsync-ts';
export const HEADER_NONCE = 'x-distsync-nonce';
export const HEADER_SIG = 'x-distsync-sig';
export const HEADER_SERVER_SIG = 'x-distsync-server-sig';

const DOMAIN = 'distsync-peer-v1';
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const TS_PATTERN = /^[0-9]{1,16}$/;
const SIG_PATTERN = /^[0-9a-f]{64}$/;

/** What the dialer signs. `ts` is the decimal wall-clock time in ms, as sent. */
export interface ClientHello {
  readonly from: string;
  readonly to: string;
  readonly ts: string;
  readonly nonce: string;
}

export type HandshakeRefusal =
  | 'bad-proto'
  | 'malformed'
  | 'wrong-target'
  | 'unknown-peer'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'replayed-nonce'
  | 'replay-cache-full';

export type HandshakeVerdict =
  | { readonly ok: true; readonly peer: string; readonly nonce: string }
  | { readonly ok: false; readonly reason: HandshakeRefusal; readonly claimedPeer: string | undefined };

export interface VerifyOptions {
  readonly secret: string;
  readonly selfId: string;
  readonly isKnownPeer: (id: string) => boolean;
  /** Server wall clock, ms. */
  readonly nowMs: number;
  readonly replay: ReplayCache;
  readonly windowMs?: number;
}

function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export function clientSignature(secret: string, hello: ClientHello): string {
  return hmacHex(secret, `${DOMAIN}\nclient\n${hello.from}\n${hello.to}\n${hello.ts}\n${hello.nonce}`);
}

/** The server signs (its own id, the dialer's id, the dialer's nonce). */
export function serverSignature(secret: string, hello: Pick<ClientHello, 'from' | 'to' | 'nonce'>): string {
  return hmacHex(secret, `${DOMAIN}\nserver\n${hello.to}\n${hello.from}\n${hello.nonce}`);
}

/** Upgrade request headers for a dialer. `nonce` must be 16 random bytes, hex. */
export function clientHeaders(
  secret: string,
  hello: { readonly from: string; readonly to: string; readonly nowMs: number; readonly nonce: string },
): Record<string, string> {
  const signed: ClientHello = { from: hello.from, to: hello.to, ts: String(Math.floor(hello.nowMs)), nonce: hello.nonce };
  return {
    [HEADER_PROTO]: HANDSHAKE_PROTO,
    [HEADER_FROM]: signed.from,
    [HEADER_TO]: signed.to,
    [HEADER_TS]: signed.ts,
    [HEADER_NONCE]: signed.nonce,
    [HEADER_SIG]: clientSignature(secret, signed),
  };
}

/** Constant-time comparison of two hex signatures (false for anything malformed). */
export function signaturesEqual(expectedHex: string, receivedHex: string | undefined): boolean {
  if (receivedHex === undefined || !SIG_PATTERN.test(receivedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(receivedHex, 'hex'));
}

/** The dialer's check of the server's proof in the 101 response. */
export function verifyServerSignature(
  secret: string,
  hello: Pick<ClientHello, 'from' | 'to' | 'nonce'>,
  received: string | string[] | undefined,
): boolean {
  return signaturesEqual(serverSignature(secret, hello), single(received));
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The server's check of a dialer's upgrade headers. Checks run cheapest first; the nonce is
 * consulted only once the signature is valid (see the header comment).
 */
export function verifyClientHandshake(headers: IncomingHttpHeaders, options: VerifyOptions): HandshakeVerdict {
  const from = single(headers[HEADER_FROM]);
  const refuse = (reason: HandshakeRefusal): HandshakeVerdict => ({ ok: false, reason, claimedPeer: from });

  if (single(headers[HEADER_PROTO]) !== HANDSHAKE_PROTO) return refuse('bad-proto');
  const to = single(headers[HEADER_TO]);
  const ts = single(headers[HEADER_TS]);
  const nonce = single(headers[HEADER_NONCE]);
  const sig = single(headers[HEADER_SIG]);
  if (from === undefined || to === undefined || ts === undefined || nonce === undefined || sig === undefined) {
    return refuse('malformed');
  }
  if (to !== options.selfId) return refuse('wrong-target');
  if (from === options.selfId || !options.isKnownPeer(from)) return refuse('unknown-peer');
  if (!TS_PATTERN.test(ts) || !NONCE_PATTERN.test(nonce)) return refuse('malformed');

  const windowMs = options.windowMs ?? HANDSHAKE_WINDOW_MS;
  const sentAt = Number(ts);
  if (Math.abs(options.nowMs - sentAt) > windowMs) return refuse('stale-timestamp');

  if (!signaturesEqual(clientSignature(options.secret, { from, to, ts, nonce }), sig)) {
    return refuse('bad-signature');
  }
  if (options.replay.has(nonce, options.nowMs)) return refuse('replayed-nonce');
  // Past sentAt + window the timestamp check refuses a replay by itself.
  if (!options.replay.remember(nonce, sentAt + windowMs, options.nowMs)) return refuse('replay-cache-full');
  return { ok: true, peer: from, nonce };
}
