/**
 * The peer-link handshake: HMAC-SHA-256 over a shared cluster secret, in both directions, plus
 * the cluster identity and node incarnation (DESIGN.md, Consensus: "the peer handshake checks
 * both").
 *
 * The dialer proves it holds the secret with signed upgrade headers (from, to, a wall-clock
 * timestamp, a fresh nonce, its cluster id and its incarnation); the server proves it back with
 * a signature over the same nonce, the cluster id and its own incarnation in its 101 response, so
 * a node never sends to an impostor either.
 *
 * Identity: each side refuses a peer whose signed cluster id differs from its own
 * ('wrong-cluster': another cluster that happens to share the secret), and one whose signed
 * incarnation differs from the one pinned for that peer id ('stale-incarnation': the peer lost
 * its data dir and came back under the same id, so it must not vote a second time). The pin is
 * consulted only once the signature and the nonce checked out, so a party without the secret can
 * neither pin an incarnation nor learn which one is pinned.
 *
 * Guarantees: the functions here are pure apart from the ReplayCache and IncarnationPins passed
 * in — time is an argument, no clock is read, no random number is drawn (the caller supplies the
 * nonce). Every refusal names one reason. Signatures are compared in constant time. A nonce is
 * remembered only after its signature checked out, so a party without the secret cannot fill the
 * cache.
 *
 * The signed strings name the protocol version and the direction, so a client signature can
 * never be replayed as a server one:
 *   client: distsync-peer-v1\nclient\n<from>\n<to>\n<ts>\n<nonce>\n<cluster>\n<dialer incarnation>
 *   server: distsync-peer-v1\nserver\n<to>\n<from>\n<nonce>\n<cluster>\n<server incarnation>
 * where from/to are the dialer's and the server's ids. No field can contain a newline (header
 * values cannot; cluster ids and incarnations are checked by isIdentityToken), so the strings
 * are unambiguous.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ReplayCache } from './replay-cache.js';
import type { IncarnationPins } from './types.js';

export const HANDSHAKE_PROTO = '1';
/** How far a dialer's timestamp may be from the server's wall clock, either way. */
export const HANDSHAKE_WINDOW_MS = 30_000;

export const HEADER_PROTO = 'x-distsync-proto';
export const HEADER_FROM = 'x-distsync-from';
export const HEADER_TO = 'x-distsync-to';
export const HEADER_TS = 'x-distsync-ts';
export const HEADER_NONCE = 'x-distsync-nonce';
export const HEADER_SIG = 'x-distsync-sig';
export const HEADER_CLUSTER = 'x-distsync-cluster';
/** The sender's incarnation: the dialer's in the upgrade request, the server's in the 101. */
export const HEADER_INCARNATION = 'x-distsync-incarnation';
export const HEADER_SERVER_SIG = 'x-distsync-server-sig';

const DOMAIN = 'distsync-peer-v1';
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const TS_PATTERN = /^[0-9]{1,16}$/;
const SIG_PATTERN = /^[0-9a-f]{64}$/;
/** Printable ASCII, 1..64 characters, no leading or trailing space (HTTP would trim it). */
const IDENTITY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** Whether `value` can be a cluster id or an incarnation: printable ASCII, 1..64 chars, not space-padded. */
export function isIdentityToken(value: string): boolean {
  return IDENTITY_PATTERN.test(value);
}

/** What the dialer signs. `ts` is the decimal wall-clock time in ms, as sent. */
export interface ClientHello {
  readonly from: string;
  readonly to: string;
  readonly ts: string;
  readonly nonce: string;
  readonly cluster: string;
  /** The dialer's incarnation. */
  readonly incarnation: string;
}

/** What the server signs in its 101: the dialer's ids and nonce, the cluster and its own incarnation. */
export interface ServerProof {
  /** The dialer's id. */
  readonly from: string;
  /** The server's id. */
  readonly to: string;
  /** The dialer's nonce. */
  readonly nonce: string;
  readonly cluster: string;
  /** The server's incarnation. */
  readonly incarnation: string;
}

export type HandshakeRefusal =
  | 'bad-proto'
  | 'malformed'
  | 'wrong-target'
  | 'unknown-peer'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'wrong-cluster'
  | 'replayed-nonce'
  | 'replay-cache-full'
  | 'stale-incarnation';

export type HandshakeVerdict =
  | { readonly ok: true; readonly peer: string; readonly nonce: string; readonly incarnation: string }
  | { readonly ok: false; readonly reason: HandshakeRefusal; readonly claimedPeer: string | undefined };

export interface VerifyOptions {
  readonly secret: string;
  readonly selfId: string;
  /** This node's cluster id: a dialer must present the same. */
  readonly clusterId: string;
  readonly isKnownPeer: (id: string) => boolean;
  /** Server wall clock, ms. */
  readonly nowMs: number;
  readonly replay: ReplayCache;
  /** Consulted (and possibly pinned) only for a handshake that passed every other check. */
  readonly incarnations: IncarnationPins;
  readonly windowMs?: number;
}

function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export function clientSignature(secret: string, hello: ClientHello): string {
  return hmacHex(
    secret,
    `${DOMAIN}\nclient\n${hello.from}\n${hello.to}\n${hello.ts}\n${hello.nonce}\n${hello.cluster}\n${hello.incarnation}`,
  );
}

/** The server signs (its own id, the dialer's id, the dialer's nonce, the cluster id, its own incarnation). */
export function serverSignature(secret: string, proof: ServerProof): string {
  return hmacHex(
    secret,
    `${DOMAIN}\nserver\n${proof.to}\n${proof.from}\n${proof.nonce}\n${proof.cluster}\n${proof.incarnation}`,
  );
}

/** Upgrade request headers for a dialer. `nonce` must be 16 random bytes, hex. */
export function clientHeaders(
  secret: string,
  hello: {
    readonly from: string;
    readonly to: string;
    readonly nowMs: number;
    readonly nonce: string;
    readonly cluster: string;
    readonly incarnation: string;
  },
): Record<string, string> {
  const signed: ClientHello = {
    from: hello.from,
    to: hello.to,
    ts: String(Math.floor(hello.nowMs)),
    nonce: hello.nonce,
    cluster: hello.cluster,
    incarnation: hello.incarnation,
  };
  return {
    [HEADER_PROTO]: HANDSHAKE_PROTO,
    [HEADER_FROM]: signed.from,
    [HEADER_TO]: signed.to,
    [HEADER_TS]: signed.ts,
    [HEADER_NONCE]: signed.nonce,
    [HEADER_CLUSTER]: signed.cluster,
    [HEADER_INCARNATION]: signed.incarnation,
    [HEADER_SIG]: clientSignature(secret, signed),
  };
}

/** The headers a server adds to its 101 response for an accepted dialer. */
export function serverHeaders(secret: string, proof: ServerProof): Record<string, string> {
  return {
    [HEADER_INCARNATION]: proof.incarnation,
    [HEADER_SERVER_SIG]: serverSignature(secret, proof),
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
  proof: ServerProof,
  received: string | string[] | undefined,
): boolean {
  return signaturesEqual(serverSignature(secret, proof), single(received));
}

export type ServerRefusal = 'bad-server-signature' | 'stale-incarnation';

export type ServerVerdict =
  | { readonly ok: true; readonly incarnation: string }
  | { readonly ok: false; readonly reason: ServerRefusal };

export interface VerifyServerOptions {
  readonly secret: string;
  /** The dialer's own id. */
  readonly selfId: string;
  /** The server dialed. */
  readonly peerId: string;
  /** The nonce the dialer sent. */
  readonly nonce: string;
  /** The dialer's cluster id: the server signs the same or its proof fails. */
  readonly clusterId: string;
  /** Consulted (and possibly pinned) only once the server's signature checked out. */
  readonly incarnations: IncarnationPins;
}

/**
 * The dialer's check of a 101 response: the server's signature over (ids, nonce, cluster id, the
 * incarnation it presents), then that incarnation against the one pinned for the peer. A server
 * from another cluster cannot produce the signature, so it is refused as 'bad-server-signature'.
 */
export function verifyServerHandshake(headers: IncomingHttpHeaders, options: VerifyServerOptions): ServerVerdict {
  const incarnation = single(headers[HEADER_INCARNATION]);
  if (incarnation === undefined || !isIdentityToken(incarnation)) return { ok: false, reason: 'bad-server-signature' };
  const proof: ServerProof = {
    from: options.selfId,
    to: options.peerId,
    nonce: options.nonce,
    cluster: options.clusterId,
    incarnation,
  };
  if (!verifyServerSignature(options.secret, proof, headers[HEADER_SERVER_SIG])) {
    return { ok: false, reason: 'bad-server-signature' };
  }
  if (!options.incarnations.check(options.peerId, incarnation)) return { ok: false, reason: 'stale-incarnation' };
  return { ok: true, incarnation };
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The server's check of a dialer's upgrade headers. Checks run cheapest first; the cluster id is
 * compared only once the signature is valid (so it is the dialer's own claim), the nonce is
 * consulted only after that, and the incarnation pin last (see the header comment).
 */
export function verifyClientHandshake(headers: IncomingHttpHeaders, options: VerifyOptions): HandshakeVerdict {
  const from = single(headers[HEADER_FROM]);
  const refuse = (reason: HandshakeRefusal): HandshakeVerdict => ({ ok: false, reason, claimedPeer: from });

  if (single(headers[HEADER_PROTO]) !== HANDSHAKE_PROTO) return refuse('bad-proto');
  const to = single(headers[HEADER_TO]);
  const ts = single(headers[HEADER_TS]);
  const nonce = single(headers[HEADER_NONCE]);
  const cluster = single(headers[HEADER_CLUSTER]);
  const incarnation = single(headers[HEADER_INCARNATION]);
  const sig = single(headers[HEADER_SIG]);
  if (
    from === undefined ||
    to === undefined ||
    ts === undefined ||
    nonce === undefined ||
    cluster === undefined ||
    incarnation === undefined ||
    sig === undefined
  ) {
    return refuse('malformed');
  }
  if (to !== options.selfId) return refuse('wrong-target');
  if (from === options.selfId || !options.isKnownPeer(from)) return refuse('unknown-peer');
  if (!TS_PATTERN.test(ts) || !NONCE_PATTERN.test(nonce) || !isIdentityToken(cluster) || !isIdentityToken(incarnation)) {
    return refuse('malformed');
  }

  const windowMs = options.windowMs ?? HANDSHAKE_WINDOW_MS;
  const sentAt = Number(ts);
  if (Math.abs(options.nowMs - sentAt) > windowMs) return refuse('stale-timestamp');

  if (!signaturesEqual(clientSignature(options.secret, { from, to, ts, nonce, cluster, incarnation }), sig)) {
    return refuse('bad-signature');
  }
  if (cluster !== options.clusterId) return refuse('wrong-cluster');
  if (options.replay.has(nonce, options.nowMs)) return refuse('replayed-nonce');
  // Past sentAt + window the timestamp check refuses a replay by itself.
  if (!options.replay.remember(nonce, sentAt + windowMs, options.nowMs)) return refuse('replay-cache-full');
  if (!options.incarnations.check(from, incarnation)) return refuse('stale-incarnation');
  return { ok: true, peer: from, nonce, incarnation };
}
