/** The peer handshake's pure functions: what is accepted, and one distinct reason per refusal. */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  HANDSHAKE_WINDOW_MS,
  HEADER_CLUSTER,
  HEADER_INCARNATION,
  HEADER_NONCE,
  HEADER_PROTO,
  HEADER_SIG,
  HEADER_SERVER_SIG,
  HEADER_TS,
  clientHeaders,
  clientSignature,
  isIdentityToken,
  serverHeaders,
  serverSignature,
  verifyClientHandshake,
  verifyServerHandshake,
  verifyServerSignature,
  type HandshakeVerdict,
  type ServerProof,
} from '../../../src/transport/handshake.js';
import { MemoryIncarnationPins } from '../../../src/transport/incarnation-pins.js';
import { ReplayCache } from '../../../src/transport/replay-cache.js';
import type { IncarnationPins } from '../../../src/transport/types.js';

const SECRET = 's3cret';
const NOW = 1_700_000_000_000;
const PEERS = new Set(['n2', 'n3']);
const CLUSTER = 'cluster-7f3a';
const INC = 'n2-inc-1';

let nonceCounter = 0;
function freshNonce(): string {
  return (nonceCounter++).toString(16).padStart(32, '0');
}

function hello(
  overrides: { secret?: string; from?: string; to?: string; nowMs?: number; nonce?: string; cluster?: string; incarnation?: string } = {},
): IncomingHttpHeaders {
  return clientHeaders(overrides.secret ?? SECRET, {
    from: overrides.from ?? 'n2',
    to: overrides.to ?? 'n1',
    nowMs: overrides.nowMs ?? NOW,
    nonce: overrides.nonce ?? freshNonce(),
    cluster: overrides.cluster ?? CLUSTER,
    incarnation: overrides.incarnation ?? INC,
  });
}

function verify(
  headers: IncomingHttpHeaders,
  options: { nowMs?: number; replay?: ReplayCache; incarnations?: IncarnationPins } = {},
): HandshakeVerdict {
  return verifyClientHandshake(headers, {
    secret: SECRET,
    selfId: 'n1',
    clusterId: CLUSTER,
    isKnownPeer: (id) => PEERS.has(id),
    nowMs: options.nowMs ?? NOW,
    replay: options.replay ?? new ReplayCache(),
    incarnations: options.incarnations ?? new MemoryIncarnationPins(),
  });
}

/** Pins that record every call, to show when they are (not) consulted. */
class SpyPins implements IncarnationPins {
  readonly calls: Array<[string, string]> = [];
  private readonly inner = new MemoryIncarnationPins();
  check(peer: string, incarnation: string): boolean {
    this.calls.push([peer, incarnation]);
    return this.inner.check(peer, incarnation);
  }
}

function reason(verdict: HandshakeVerdict): string {
  return verdict.ok ? 'ok' : verdict.reason;
}

describe('verifyClientHandshake', () => {
  it('accepts a valid handshake and names the authenticated peer', () => {
    const headers = hello();
    expect(verify(headers)).toEqual({ ok: true, peer: 'n2', nonce: headers[HEADER_NONCE], incarnation: INC });
  });

  it('accepts timestamps at the edges of the window, both ways', () => {
    expect(reason(verify(hello({ nowMs: NOW - HANDSHAKE_WINDOW_MS })))).toBe('ok');
    expect(reason(verify(hello({ nowMs: NOW + HANDSHAKE_WINDOW_MS })))).toBe('ok');
  });

  it('refuses each failure with its own reason', () => {
    const replay = new ReplayCache();
    const replayed = hello();
    expect(reason(verify(replayed, { replay }))).toBe('ok');
    const incarnations = new MemoryIncarnationPins([['n2', INC]]);

    const reasons = {
      wrongSecret: reason(verify(hello({ secret: 'other' }))),
      unknownPeer: reason(verify(hello({ from: 'n9' }))),
      wrongTarget: reason(verify(hello({ to: 'n3' }))),
      staleTimestamp: reason(verify(hello({ nowMs: NOW - HANDSHAKE_WINDOW_MS - 1 }))),
      futureTimestamp: reason(verify(hello({ nowMs: NOW + HANDSHAKE_WINDOW_MS + 1 }))),
      replayedNonce: reason(verify(replayed, { replay })),
      wrongCluster: reason(verify(hello({ cluster: 'other-cluster' }))),
      staleIncarnation: reason(verify(hello({ incarnation: 'n2-inc-2' }), { incarnations })),
    };
    expect(reasons).toEqual({
      wrongSecret: 'bad-signature',
      unknownPeer: 'unknown-peer',
      wrongTarget: 'wrong-target',
      staleTimestamp: 'stale-timestamp',
      futureTimestamp: 'stale-timestamp',
      replayedNonce: 'replayed-nonce',
      wrongCluster: 'wrong-cluster',
      staleIncarnation: 'stale-incarnation',
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
    const { [HEADER_CLUSTER]: _cluster, ...noCluster } = hello();
    expect(reason(verify(noCluster))).toBe('malformed');
    const { [HEADER_INCARNATION]: _incarnation, ...noIncarnation } = hello();
    expect(reason(verify(noIncarnation))).toBe('malformed');
    expect(reason(verify(hello({ cluster: '' })))).toBe('malformed');
    expect(reason(verify(hello({ incarnation: 'x'.repeat(65) })))).toBe('malformed');
    expect(reason(verify(hello({ incarnation: 'new\nline' })))).toBe('malformed');
  });

  it('refuses any field changed after signing', () => {
    const headers = hello();
    expect(reason(verify({ ...headers, [HEADER_TS]: String(NOW + 1) }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, [HEADER_NONCE]: freshNonce() }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, 'x-distsync-from': 'n3' }))).toBe('bad-signature');
  });

  it('refuses a tampered cluster or incarnation header as a bad signature, before pinning anything', () => {
    const incarnations = new SpyPins();
    const headers = hello();
    // Rewritten to this node's own cluster: only the signature can tell.
    const otherCluster = hello({ cluster: 'other-cluster' });
    expect(reason(verify({ ...otherCluster, [HEADER_CLUSTER]: CLUSTER }, { incarnations }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, [HEADER_CLUSTER]: 'other-cluster' }, { incarnations }))).toBe('bad-signature');
    expect(reason(verify({ ...headers, [HEADER_INCARNATION]: 'n2-inc-2' }, { incarnations }))).toBe('bad-signature');
    expect(incarnations.calls).toEqual([]);
  });

  it('refuses another cluster sharing the secret, without consuming its nonce or pinning', () => {
    const incarnations = new SpyPins();
    const replay = new ReplayCache();
    expect(verify(hello({ cluster: 'other-cluster' }), { incarnations, replay })).toEqual({
      ok: false,
      reason: 'wrong-cluster',
      claimedPeer: 'n2',
    });
    expect(replay.size).toBe(0);
    expect(incarnations.calls).toEqual([]);
  });

  it('pins the first incarnation a peer presents and refuses a different one afterwards', () => {
    const incarnations = new MemoryIncarnationPins();
    expect(verify(hello({ incarnation: 'n2-inc-1' }), { incarnations })).toMatchObject({ ok: true, incarnation: 'n2-inc-1' });
    expect(incarnations.pinned('n2')).toBe('n2-inc-1');
    // The same node again (a restart with its data dir): still accepted.
    expect(reason(verify(hello({ incarnation: 'n2-inc-1' }), { incarnations }))).toBe('ok');
    // Same id, same secret, new incarnation: a node that lost its data dir.
    expect(verify(hello({ incarnation: 'n2-inc-2' }), { incarnations })).toEqual({
      ok: false,
      reason: 'stale-incarnation',
      claimedPeer: 'n2',
    });
    expect(incarnations.pinned('n2')).toBe('n2-inc-1');
    expect(reason(verify(hello({ incarnation: 'n2-inc-1' }), { incarnations }))).toBe('ok');
    // Pins are per peer: n3's first incarnation is pinned independently.
    expect(reason(verify(hello({ from: 'n3', incarnation: 'n2-inc-2' }), { incarnations }))).toBe('ok');
  });

  it('consults the pins only after the signature and nonce checks passed', () => {
    const incarnations = new SpyPins();
    const replay = new ReplayCache();
    const once = hello({ incarnation: 'n2-inc-1' });
    expect(reason(verify(hello({ secret: 'other', incarnation: 'evil' }), { incarnations, replay }))).toBe('bad-signature');
    expect(reason(verify(hello({ nowMs: NOW - HANDSHAKE_WINDOW_MS - 1, incarnation: 'evil' }), { incarnations, replay }))).toBe(
      'stale-timestamp',
    );
    expect(incarnations.calls).toEqual([]);
    expect(reason(verify(once, { incarnations, replay }))).toBe('ok');
    expect(reason(verify(once, { incarnations, replay }))).toBe('replayed-nonce');
    const full = new ReplayCache({ maxEntries: 0 });
    expect(reason(verify(hello({ incarnation: 'evil' }), { incarnations, replay: full }))).toBe('replay-cache-full');
    expect(incarnations.calls).toEqual([['n2', 'n2-inc-1']]);
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
  const proof: ServerProof = { from: 'n2', to: 'n1', nonce: 'ab'.repeat(16), cluster: CLUSTER, incarnation: 'n1-inc-1' };

  it('accepts the server signature over the dialer nonce, the cluster id and the server incarnation', () => {
    expect(verifyServerSignature(SECRET, proof, serverSignature(SECRET, proof))).toBe(true);
  });

  it('refuses a wrong secret, another nonce, a missing header or a client signature', () => {
    expect(verifyServerSignature(SECRET, proof, serverSignature('other', proof))).toBe(false);
    expect(verifyServerSignature(SECRET, proof, serverSignature(SECRET, { ...proof, nonce: 'cd'.repeat(16) }))).toBe(false);
    expect(verifyServerSignature(SECRET, proof, undefined)).toBe(false);
    expect(verifyServerSignature(SECRET, proof, [serverSignature(SECRET, proof)])).toBe(false);
    // Direction is part of the signed string: a client signature is not a server proof.
    const clientSig = clientSignature(SECRET, { from: 'n1', to: 'n2', ts: '', nonce: proof.nonce, cluster: CLUSTER, incarnation: 'n1-inc-1' });
    expect(verifyServerSignature(SECRET, proof, clientSig)).toBe(false);
  });

  it('changes when the server incarnation or the cluster id changes', () => {
    const sig = serverSignature(SECRET, proof);
    expect(serverSignature(SECRET, { ...proof, incarnation: 'n1-inc-2' })).not.toBe(sig);
    expect(serverSignature(SECRET, { ...proof, cluster: 'other-cluster' })).not.toBe(sig);
    expect(verifyServerSignature(SECRET, { ...proof, incarnation: 'n1-inc-2' }, sig)).toBe(false);
    expect(verifyServerSignature(SECRET, { ...proof, cluster: 'other-cluster' }, sig)).toBe(false);
  });
});

describe('verifyServerHandshake', () => {
  const nonce = 'ab'.repeat(16);
  const proof: ServerProof = { from: 'n2', to: 'n1', nonce, cluster: CLUSTER, incarnation: 'n1-inc-1' };
  const check = (headers: IncomingHttpHeaders, incarnations: IncarnationPins = new MemoryIncarnationPins()) =>
    verifyServerHandshake(headers, { secret: SECRET, selfId: 'n2', peerId: 'n1', nonce, clusterId: CLUSTER, incarnations });

  it('accepts a valid 101 and pins the server incarnation', () => {
    const incarnations = new MemoryIncarnationPins();
    expect(check(serverHeaders(SECRET, proof), incarnations)).toEqual({ ok: true, incarnation: 'n1-inc-1' });
    expect(incarnations.pinned('n1')).toBe('n1-inc-1');
  });

  it('refuses a server whose incarnation differs from the pinned one', () => {
    const incarnations = new MemoryIncarnationPins([['n1', 'n1-inc-0']]);
    expect(check(serverHeaders(SECRET, proof), incarnations)).toEqual({ ok: false, reason: 'stale-incarnation' });
    expect(incarnations.pinned('n1')).toBe('n1-inc-0');
  });

  it('refuses a server of another cluster, a tampered incarnation or a missing one, without pinning', () => {
    const incarnations = new SpyPins();
    expect(check(serverHeaders(SECRET, { ...proof, cluster: 'other-cluster' }), incarnations)).toEqual({
      ok: false,
      reason: 'bad-server-signature',
    });
    expect(check({ ...serverHeaders(SECRET, proof), [HEADER_INCARNATION]: 'n1-inc-2' }, incarnations)).toMatchObject({
      reason: 'bad-server-signature',
    });
    const { [HEADER_INCARNATION]: _incarnation, ...noIncarnation } = serverHeaders(SECRET, proof);
    expect(check(noIncarnation, incarnations)).toMatchObject({ reason: 'bad-server-signature' });
    expect(check({ [HEADER_INCARNATION]: 'n1-inc-1' }, incarnations)).toMatchObject({ reason: 'bad-server-signature' });
    expect(check({ ...serverHeaders(SECRET, proof), [HEADER_SERVER_SIG]: serverSignature('other', proof) }, incarnations)).toMatchObject({
      reason: 'bad-server-signature',
    });
    expect(incarnations.calls).toEqual([]);
  });
});

describe('identity tokens', () => {
  it('accepts printable ASCII of 1..64 characters and nothing else', () => {
    expect(isIdentityToken('c')).toBe(true);
    expect(isIdentityToken('9b2f6a3e-cluster one')).toBe(true);
    expect(isIdentityToken('x'.repeat(64))).toBe(true);
    expect(isIdentityToken('')).toBe(false);
    expect(isIdentityToken('x'.repeat(65))).toBe(false);
    expect(isIdentityToken(' padded')).toBe(false);
    expect(isIdentityToken('padded ')).toBe(false);
    expect(isIdentityToken('a\nb')).toBe(false);
    expect(isIdentityToken('caf\u00e9')).toBe(false);
  });
});

describe('MemoryIncarnationPins', () => {
  it('pins the first incarnation per peer, then accepts only that one until forgotten', () => {
    const pins = new MemoryIncarnationPins([['a', 'a1']]);
    expect(pins.check('a', 'a2')).toBe(false);
    expect(pins.check('a', 'a1')).toBe(true);
    expect(pins.check('b', 'b1')).toBe(true);
    expect(pins.check('b', 'b2')).toBe(false);
    pins.forget('b');
    expect(pins.check('b', 'b2')).toBe(true);
    expect(pins.pinned('b')).toBe('b2');
  });
});
