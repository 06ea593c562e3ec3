/** The peer handshake's pure functions: what is accepted, and one distinct reason per refusal. */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  HANDSHAKE_WINDOW_MS,
  HEADER_NONCE,
  HEADER_PROTO,
  HEADER_SIG,
  HEADER_TS,
  clientHeaders,
  clientSignature,
  serverSignature,
  verifyClientHandshake,
  verifyServerSignature,
  type HandshakeVerdict,
} from '../../../src/transport/handshake.js';
import { ReplayCache } from '../../../src/transport/replay-cache.js';

const SECRET = 's3cret';
const NOW = 1_700_000_000_000;
const PEERS = new Set(['n2', 'n3']);

let nonceCounter = 0;
function freshNonce(): string {
  return (nonceCounter++).toString(16).padStart(32, '0');
}

function hello(overrides: { secret?: string; from?: string; to?: string; nowMs?: number; nonce?: string } = {}): IncomingHttpHeaders {
  return clientHeaders(overrides.secret ?? SECRET, {
    from: overrides.from ?? 'n2',
    to: overrides.to ?? 'n1',
    nowMs: overrides.nowMs ?? NOW,
    nonce: overrides.nonce ?? freshNonce(),
  });
}

function verify(headers: IncomingHttpHeaders, options: { nowMs?: number; replay?: ReplayCache } = {}): HandshakeVerdict {
  return verifyClientHandshake(headers, {
    secret: SECRET,
    selfId: 'n1',
    isKnownPeer: (id) => PEERS.has(id),
    nowMs: options.nowMs ?? NOW,
    replay: options.replay ?? new ReplayCache(),
  });
}

function reason(verdict: HandshakeVerdict): string {
  return verdict.ok ? 'ok' : verdict.reason;
}

describe('verifyClientHandshake', () => {
  it('accepts a valid handshake and names the authenticated peer', () => {
    const headers = hello();
    expect(verify(headers)).toEqual({ ok: true, peer: 'n2', nonce: headers[HEADER_NONCE] });
  });

  it('accepts timestamps at the edges of the window, both ways', () => {
    expect(reason(verify(hello({ nowMs: NOW - HANDSHAKE_WINDOW_MS })))).toBe('ok');
    expect(reason(verify(hello({ nowMs: NOW + HANDSHAKE_WINDOW_MS })))).toBe('ok');
  });

  it('refuses each failure with its own reason', () => {
    const replay = new ReplayCache();
    const replayed = hello();
    expect(reason(verify(replayed, { replay }))).toBe('ok');

    const reasons = {
      wrongSecret: reason(verify(hello({ secret: 'other' }))),
      unknownPeer: reason(verify(hello({ from: 'n9' }))),
      wrongTarget: reason(verify(hello({ to: 'n3' }))),
      staleTimestamp: reason(verify(hello({ nowMs: NOW - HANDSHAKE_WINDOW_MS - 1 }))),
      futureTimestamp: reason(verify(hello({ nowMs: NOW + HANDSHAKE_WINDOW_MS + 1 }))),
      replayedNonce: reason(verify(replayed, { replay })),
    };
    expect(reasons).toEqual({
      wrongSecret: 'bad-signature',
      unknownPeer: 'unknown-peer',
      wrongTarget: 'wrong-target',
      staleTimestamp: 'stale-timestamp',
      futureTimestamp: 'stale-timestamp',
      replayedNonce: 'replayed-nonce',
    });
  });

  it('reports the claimed peer id with a refusal', () => {
    expect(verify(hello({ from: 'n9' }))).toEqual({ ok: false, reason: 'unknown-peer', claimedPeer: 'n9' });
  });

  it('refuses its own id as a peer', () => {
    expect(reason(verify(hello({ from: 'n1' })))).toBe('unknown-peer');
  });

  it('refuses a wrong protocol version and missing or malformed fields', () => {
    expect(reason(verify({ ...hello(), [HEADER_PROTO]: '2' }))).toBe('bad-proto');
    const { [HEADER_SIG]: _sig, ...unsigned } = hello();
    expect(reason(verify(unsigned))).toBe('malformed');
    expect(reason(verify(hello({ nonce: 'short' })))).toBe('malformed');
    expect(reason(verify({ ...hello(), [HEADER_TS]: '12e5' }))).toBe('malformed');
    expect(reason(verify({ ...hello(), [HEADER_SIG]: 'zz' }))).toBe('bad-signature');
  });

  it('refuses any field changed after signing', () => {
    const headers = hello();
    expect(reason(verify({ ...headers, [HEADER_TS]: String(NOW + 1) }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, [HEADER_NONCE]: freshNonce() }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, 'x-distsync-from': 'n3' }))).toBe('bad-signature');
  });

  it('does not let a party without the secret fill the replay cache', () => {
    const replay = new ReplayCache({ maxEntries: 1 });
    expect(reason(verify(hello({ secret: 'other' }), { replay }))).toBe('bad-signature');
    expect(replay.size).toBe(0);
    expect(reason(verify(hello(), { replay }))).toBe('ok');
  });

  it('fails closed when the replay cache is full of live nonces, and recovers as they expire', () => {
    const replay = new ReplayCache({ maxEntries: 2 });
    expect(reason(verify(hello(), { replay }))).toBe('ok');
    expect(reason(verify(hello(), { replay }))).toBe('ok');
    expect(reason(verify(hello(), { replay }))).toBe('replay-cache-full');
    const later = NOW + HANDSHAKE_WINDOW_MS + 1;
    expect(reason(verify(hello({ nowMs: later }), { replay, nowMs: later }))).toBe('ok');
  });

  it('a replay after the window is refused by the timestamp check', () => {
    const replay = new ReplayCache();
    const headers = hello();
    expect(reason(verify(headers, { replay }))).toBe('ok');
    expect(reason(verify(headers, { replay, nowMs: NOW + HANDSHAKE_WINDOW_MS + 1 }))).toBe('stale-timestamp');
  });
});

describe('server proof', () => {
  const proof = { from: 'n2', to: 'n1', nonce: 'ab'.repeat(16) };

  it('accepts the server signature over the dialer nonce', () => {
    expect(verifyServerSignature(SECRET, proof, serverSignature(SECRET, proof))).toBe(true);
  });

  it('refuses a wrong secret, another nonce, a missing header or a client signature', () => {
    expect(verifyServerSignature(SECRET, proof, serverSignature('other', proof))).toBe(false);
    expect(verifyServerSignature(SECRET, proof, serverSignature(SECRET, { ...proof, nonce: 'cd'.repeat(16) }))).toBe(false);
    expect(verifyServerSignature(SECRET, proof, undefined)).toBe(false);
    expect(verifyServerSignature(SECRET, proof, [serverSignature(SECRET, proof)])).toBe(false);
    // Direction is part of the signed string: a client signature is not a server proof.
    const clientSig = clientSignature(SECRET, { from: 'n1', to: 'n2', ts: '', nonce: proof.nonce });
    expect(verifyServerSignature(SECRET, proof, clientSig)).toBe(false);
  });
});
