/**
 * WsPeerTransport over real sockets on 127.0.0.1: delivery, authentication both ways, frame and
 * queue bounds, reconnects, liveness, peer changes and clean shutdown.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { clientHeaders, serverHeaders, type ServerProof } from '../../../src/transport/handshake.js';
import { MemoryIncarnationPins } from '../../../src/transport/incarnation-pins.js';
import type { Random } from '../../../src/util/random.js';
import { ManualScheduler, RealScheduler, type Scheduler, type TimerHandle } from '../../../src/util/scheduler.js';
import { waitFor } from '../../helpers/wait-for.js';
import { CLUSTER_ID, Harness, SECRET, dialFailures, isConnected, linesWith, refusals, type TestNode } from './ws-harness.js';

const h = new Harness();
afterEach(() => h.cleanup());

const WARN = 40;

async function cluster(ids: string[]): Promise<Map<string, TestNode>> {
  const servers = await Promise.all(ids.map(() => h.server()));
  const nodes = new Map<string, TestNode>();
  ids.forEach((id, i) => {
    const peers = ids.flatMap((other, j) => (other === id ? [] : [{ id: other, address: servers[j]!.address }]));
    nodes.set(id, h.node(id, servers[i]!, peers));
  });
  return nodes;
}

describe('WsPeerTransport', () => {
  it('three nodes exchange messages both ways, in order per link', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    for (const [from, node] of nodes) {
      for (const to of node.transport.peers()) {
        for (let seq = 0; seq < 50; seq++) {
          expect(node.transport.send(to, { type: 'test', group: 'meta', body: { from, seq } })).toBe('queued');
        }
      }
    }
    for (const node of nodes.values()) {
      await waitFor(() => node.received.length === 100, 5_000, `${node.id} receives 100 messages`);
      for (const peer of node.transport.peers()) {
        const fromPeer = node.received.filter((e) => e.from === peer);
        expect(fromPeer.map((e) => (e.body as { seq: number }).seq)).toEqual([...Array(50).keys()]);
        expect(fromPeer[0]).toEqual({ v: 1, from: peer, to: node.id, group: 'meta', type: 'test', body: { from: peer, seq: 0 } });
      }
    }
    const a = nodes.get('a')!;
    await waitFor(() => isConnected(a, 'b') && isConnected(a, 'c'), 5_000, 'a reports both links up');
    expect(a.linkEvents.filter((e) => e.state === 'connected').map((e) => e.peer).sort()).toEqual(['b', 'c']);
    expect(a.transport.peers()).toEqual(['b', 'c']);
    expect(a.transport.send('nobody', { type: 'x', body: null })).toBe('unknown-peer');
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const nodes = await cluster(['a', 'b']);
    const b = nodes.get('b')!;
    b.transport.onMessage(() => {
      throw new Error('handler bug');
    });
    const seen: string[] = [];
    b.transport.onMessage((e) => seen.push(e.type));
    nodes.get('a')!.transport.send('b', { type: 'one', body: 1 });
    nodes.get('a')!.transport.send('b', { type: 'two', body: 2 });
    await waitFor(() => seen.length === 2, 5_000, 'both messages reach the second handler');
    expect(seen).toEqual(['one', 'two']);
    expect(linesWith(b.logs, 'peer message handler threw')).toHaveLength(2);
  });

  it('refuses a peer with the wrong secret, in both directions, and never logs a secret', async () => {
    const [sa, sx] = [await h.server(), await h.server()];
    const a = h.node('a', sa, [{ id: 'x', address: sx.address }]);
    const x = h.node('x', sx, [{ id: 'a', address: sa.address }], { clusterSecret: 'wrong-secret' });
    x.transport.send('a', { type: 'hello', body: 'from x' });
    a.transport.send('x', { type: 'hello', body: 'from a' });

    // Each server refuses the other's handshake (signature made with another secret).
    const refusedAtA = await waitFor(() => linesWith(a.logs, 'refused peer handshake').length >= 2 && linesWith(a.logs, 'refused peer handshake'), 5_000, 'a refuses x twice');
    expect(refusedAtA[0]).toMatchObject({ level: WARN, reason: 'bad-signature', peer: 'x' });
    await waitFor(() => linesWith(x.logs, 'refused peer handshake').length >= 2, 5_000, 'x refuses a twice');
    expect(linesWith(x.logs, 'refused peer handshake')[0]).toMatchObject({ reason: 'bad-signature', peer: 'a' });
    // ...and each dialer saw the 401.
    expect(linesWith(a.logs, 'peer link failed; will keep redialing')[0]).toMatchObject({ level: WARN, reason: 'refused by peer (401)' });

    expect(a.received).toEqual([]);
    expect(x.received).toEqual([]);
    expect(isConnected(a, 'x') || isConnected(x, 'a')).toBe(false);
    expect(a.linkEvents).toEqual([]);
    for (const line of [...a.logs.raw, ...x.logs.raw]) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain('wrong-secret');
      expect(line).not.toMatch(/[0-9a-f]{64}/); // no signature either
    }
  });

  it.each([
    ['signs with the wrong secret', (req: IncomingMessage) => serverHeaders('not-the-secret', proofFor(req))],
    ['sends no proof at all', () => undefined],
    ['sends an incarnation it did not sign', (req: IncomingMessage) => ({ ...serverHeaders(SECRET, proofFor(req)), 'x-distsync-incarnation': 'other-inc' })],
    ['belongs to another cluster', (req: IncomingMessage) => serverHeaders(SECRET, { ...proofFor(req), cluster: 'other-cluster' })],
  ])('as a dialer, refuses a server that %s', async (_name, proof) => {
    // A fake server that accepts every dialer without knowing the secret.
    const fake = await h.server();
    const wss = new WebSocketServer({ noServer: true });
    let accepted = 0;
    let messages = 0;
    wss.on('headers', (headers, req) => {
      for (const [name, value] of Object.entries(proof(req) ?? {})) headers.push(`${name}: ${value}`);
    });
    fake.onUpgrade = (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        accepted++;
        ws.on('message', () => messages++);
      });
    h.defer(() => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });

    const a = h.node('a', await h.server(), [{ id: 'fake', address: fake.address }]);
    expect(a.transport.send('fake', { type: 'secret-stuff', body: 'must not leave' })).toBe('queued');
    await waitFor(() => accepted >= 2, 5_000, 'the dialer retried after refusing the server');
    expect(linesWith(a.logs, 'peer link failed; will keep redialing')[0]).toMatchObject({ level: WARN, reason: 'bad-server-signature' });
    await waitFor(() => wss.clients.size === 0, 5_000, 'the dialer closed its refused sockets');
    expect(messages).toBe(0);
    expect(a.linkEvents).toEqual([]);
    expect(a.transport.stats()[0]).toMatchObject({ peer: 'fake', connected: false });
  });

  it('refuses an unknown peer id', async () => {
    const [sa, si] = [await h.server(), await h.server()];
    const a = h.node('a', sa, []);
    const intruder = h.node('intruder', si, [{ id: 'a', address: sa.address }]);
    intruder.transport.send('a', { type: 'hello', body: 1 });
    const refused = await waitFor(() => linesWith(a.logs, 'refused peer handshake')[1], 5_000, 'a refuses the intruder twice');
    expect(refused).toMatchObject({ level: WARN, reason: 'unknown-peer', peer: 'intruder' });
    expect(a.received).toEqual([]);
    expect(isConnected(intruder, 'a')).toBe(false);
  });

  it('refuses a peer restarted with a new incarnation (lost its data dir), as a server and as a dialer', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    b.transport.send('a', { type: 'before', body: 0 });
    await waitFor(() => a.received.length === 1 && isConnected(a, 'b'), 5_000, 'a and b talk');

    await b.transport.close();
    await b.server.close();
    await waitFor(() => a.linkEvents.some((e) => e.peer === 'b' && e.state === 'disconnected'), 5_000, 'a sees b go away');
    // The failure episode starts with b unreachable (logged at info)...
    const down = await waitFor(() => dialFailures(a.logs)[0], 5_000, 'a fails to reach b');
    expect(down.level).toBeLessThan(WARN);

    // Same id, same secret, same address, but an empty data dir: a new incarnation and no pins.
    const b2 = h.node('b', await h.server(b.server.port), [{ id: 'a', address: a.server.address }]);
    expect(b2.identity.clusterId).toBe(b.identity.clusterId);
    expect(b2.identity.incarnation).not.toBe(b.identity.incarnation);
    b2.transport.send('a', { type: 'after', body: 1 });
    a.transport.send('b', { type: 'to-new-b', body: 2 });

    // a's server side refuses b2's dials...
    const refused = await waitFor(() => refusals(a.logs, 'stale-incarnation')[1], 5_000, 'a refuses b2 twice');
    expect(refused).toMatchObject({ level: WARN, peer: 'b', incarnation: b2.identity.incarnation });
    expect(refused.msg).toMatch(/peer b presents a new identity \(its data dir was probably lost\).*removed from the cluster and added again/);
    // ...and a's dialer refuses b2's 101 (b2 pinned a afresh and accepted it), warning once in this
    // episode even though the episode already logged b being unreachable.
    await waitFor(() => linesWith(b2.logs, 'inbound peer link accepted').length >= 3, 5_000, 'a redials b2 and refuses it each time');
    const warned = dialFailures(a.logs, 'stale-incarnation');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: WARN, incarnation: b2.identity.incarnation });
    expect(warned[0]!.msg).toMatch(/peer b presents a new identity/);

    expect(a.received.map((e) => e.type)).toEqual(['before']);
    expect(b2.received).toEqual([]);
    expect(isConnected(a, 'b') || isConnected(b2, 'a')).toBe(false);
    expect(a.linkEvents.filter((e) => e.peer === 'b').map((e) => e.state)).toEqual(['connected', 'disconnected']);
    expect(b2.linkEvents).toEqual([]);
  });

  it('as a dialer, refuses a server whose incarnation differs from the one pinned for it, until the pin is fixed', async () => {
    const [sa, sb] = [await h.server(), await h.server()];
    const pins = new MemoryIncarnationPins([['b', 'b-inc-before-data-loss']]);
    const a = h.node('a', sa, [{ id: 'b', address: sb.address }], { incarnations: pins });
    const b = h.node('b', sb, [{ id: 'a', address: sa.address }]);
    expect(a.transport.send('b', { type: 'queued-while-refused', body: 0 })).toBe('queued');

    // b has no pin for a, so it accepts a's dials; a refuses every 101 it gets and keeps redialing.
    await waitFor(() => linesWith(b.logs, 'inbound peer link accepted').length >= 3, 5_000, 'a dials b repeatedly');
    const warned = dialFailures(a.logs);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: WARN, reason: 'stale-incarnation', incarnation: b.identity.incarnation });
    expect(warned[0]!.msg).toContain('peer b presents a new identity');
    expect(pins.pinned('b')).toBe('b-inc-before-data-loss');
    expect(b.received).toEqual([]);
    expect(a.linkEvents).toEqual([]);
    expect(isConnected(a, 'b')).toBe(false);
    // The other direction is refused by a's server side, with the same pin.
    await waitFor(() => refusals(a.logs, 'stale-incarnation').length > 0, 5_000, 'a refuses b as a server');
    expect(refusals(a.logs, 'stale-incarnation')[0]).toMatchObject({ level: WARN, peer: 'b', incarnation: b.identity.incarnation });
    expect(a.received).toEqual([]);

    // The operator removes b and adds it again (its pin is dropped): the link comes up by itself.
    pins.forget('b');
    await waitFor(() => b.received.length === 1, 5_000, 'the queued message arrives once a accepts b');
    expect(b.received[0]!.type).toBe('queued-while-refused');
    expect(pins.pinned('b')).toBe(b.identity.incarnation);
    expect(a.linkEvents).toEqual([expect.objectContaining({ peer: 'b', state: 'connected' })]);
  });

  it('refuses a peer from another cluster sharing the secret, in both directions, without pinning it', async () => {
    const [sa, sx] = [await h.server(), await h.server()];
    const pins = { a: new MemoryIncarnationPins(), x: new MemoryIncarnationPins() };
    const a = h.node('a', sa, [{ id: 'x', address: sx.address }], { incarnations: pins.a });
    const x = h.node('x', sx, [{ id: 'a', address: sa.address }], { incarnations: pins.x, identity: h.identity('x', 'other-cluster') });
    a.transport.send('x', { type: 'hello', body: 0 });
    x.transport.send('a', { type: 'hello', body: 0 });

    await waitFor(() => refusals(a.logs).length >= 2 && refusals(x.logs).length >= 2, 5_000, 'each refuses the other twice');
    expect(refusals(a.logs)[0]).toMatchObject({ level: WARN, msg: 'refused peer handshake', reason: 'wrong-cluster', peer: 'x', cluster: 'other-cluster' });
    expect(refusals(x.logs)[0]).toMatchObject({ level: WARN, reason: 'wrong-cluster', peer: 'a', cluster: CLUSTER_ID });
    expect(dialFailures(a.logs)[0]).toMatchObject({ level: WARN, reason: 'refused by peer (401)' });
    expect(dialFailures(x.logs)[0]).toMatchObject({ level: WARN, reason: 'refused by peer (401)' });

    expect(a.received).toEqual([]);
    expect(x.received).toEqual([]);
    expect(a.linkEvents).toEqual([]);
    expect(x.linkEvents).toEqual([]);
    expect(pins.a.pinned('x')).toBeUndefined();
    expect(pins.x.pinned('a')).toBeUndefined();
  });

  it('refuses to start with a malformed identity', async () => {
    const sa = await h.server();
    for (const identity of [
      { clusterId: '', incarnation: 'a-1' },
      { clusterId: 'c', incarnation: 'x'.repeat(65) },
      { clusterId: 'c', incarnation: 'line\nbreak' },
    ]) {
      expect(() => h.node('a', sa, [], { identity })).toThrow(/WsPeerTransport: identity\.(clusterId|incarnation)/);
    }
  });

  it('drops frames whose sender or receiver does not match the authenticated link', async () => {
    const sa = await h.server();
    const a = h.node('a', sa, [{ id: 'b', address: '127.0.0.1:1' }, { id: 'c', address: '127.0.0.1:1' }]);
    // A raw client that authenticates as b, then lies in its envelopes.
    const ws = new WebSocket(`ws://${sa.address}/cluster`, {
      headers: clientHeaders(SECRET, {
        from: 'b',
        to: 'a',
        nowMs: Date.now(),
        nonce: 'ab'.repeat(16),
        cluster: CLUSTER_ID,
        incarnation: 'b-raw-client',
      }),
    });
    h.defer(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ v: 1, from: 'c', to: 'a', type: 'spoofed', body: 0 }));
    ws.send(JSON.stringify({ v: 1, from: 'b', to: 'c', type: 'misrouted', body: 0 }));
    ws.send('not json');
    ws.send(JSON.stringify({ v: 2, from: 'b', to: 'a', type: 'future', body: 0 }));
    ws.send(JSON.stringify({ v: 1, from: 'b', to: 'a', type: 'good', body: 0 }));
    await waitFor(() => a.received.length === 1, 5_000, 'the good frame arrives');
    expect(a.received.map((e) => e.type)).toEqual(['good']);
    expect(a.logs.lines.filter((l) => l.msg.startsWith('dropping'))).toHaveLength(4);
  });

  it('closes a connection that sends a frame above maxFrameBytes and keeps serving others', async () => {
    const [sr, sbig, sgood] = [await h.server(), await h.server(), await h.server()];
    const receiver = h.node('r', sr, [{ id: 'big', address: sbig.address }, { id: 'good', address: sgood.address }], { maxFrameBytes: 1024 });
    const big = h.node('big', sbig, [{ id: 'r', address: sr.address }]);
    const good = h.node('good', sgood, [{ id: 'r', address: sr.address }]);

    // The receiver's own limit applies to what it sends too: a programming error, thrown.
    expect(() => receiver.transport.send('big', { type: 'huge', body: 'x'.repeat(2_000) })).toThrow(RangeError);

    await waitFor(() => isConnected(big, 'r'), 5_000, 'big connects');
    big.transport.send('r', { type: 'huge', body: 'x'.repeat(2_000) });
    await waitFor(() => linesWith(receiver.logs, 'peer frame too large; closing that connection (1009)').length === 1, 5_000, 'receiver logs the oversized frame');
    expect(linesWith(receiver.logs, 'peer frame too large; closing that connection (1009)')[0]).toMatchObject({ level: WARN, peer: 'big' });
    await waitFor(() => big.linkEvents.some((e) => e.state === 'disconnected'), 5_000, 'big sees its link closed');

    good.transport.send('r', { type: 'small', body: 'still here' });
    await waitFor(() => receiver.received.some((e) => e.from === 'good'), 5_000, 'receiver still delivers from a good peer');
    // The offender's link comes back and small frames flow again.
    big.transport.send('r', { type: 'small', body: 'sorry' });
    await waitFor(() => receiver.received.some((e) => e.from === 'big'), 5_000, 'big reconnects and delivers');
    expect(receiver.received.map((e) => e.type)).toEqual(['small', 'small']);
  });

  it('queues for a stopped peer up to the bound, refuses beyond it, then flushes in order', async () => {
    const portB = await h.freePort();
    const sa = await h.server();
    const a = h.node('a', sa, [{ id: 'b', address: `127.0.0.1:${portB}` }], { maxQueueBytes: 4_096 });

    const results: string[] = [];
    for (let seq = 0; seq < 60; seq++) results.push(a.transport.send('b', { type: 'q', body: { seq, pad: 'p'.repeat(100) } }));
    const accepted = results.indexOf('full');
    expect(accepted).toBeGreaterThan(10);
    expect(results.slice(accepted).every((r) => r === 'full')).toBe(true); // nothing sneaks in after the first refusal
    const queued = a.transport.stats()[0]!.queuedBytes;
    expect(queued).toBeLessThanOrEqual(4_096);
    expect(queued).toBeGreaterThan(4_096 - 200);
    expect(linesWith(a.logs, 'peer send queue full; refusing messages')).toHaveLength(1); // once per episode

    const sb = await h.server(portB);
    const b = h.node('b', sb, [{ id: 'a', address: sa.address }]);
    await waitFor(() => b.received.length === accepted, 5_000, 'queued messages arrive');
    expect(b.received.map((e) => (e.body as { seq: number }).seq)).toEqual([...Array(accepted).keys()]);
    expect(a.transport.stats()[0]).toMatchObject({ connected: true, queuedBytes: 0 });

    expect(a.transport.send('b', { type: 'q', body: { seq: 1_000 } })).toBe('queued');
    await waitFor(() => b.received.length === accepted + 1, 5_000, 'later messages flow');
    expect(linesWith(a.logs, 'peer send queue accepting again')[0]).toMatchObject({ refused: 60 - accepted });
  });

  it('while up, refuses sends once socket buffer plus queue would pass the bound (a peer that stopped reading)', async () => {
    const stuck = await h.server();
    const wss = new WebSocketServer({ noServer: true });
    wss.on('headers', (headers, req) => headers.push(...proofLines(req)));
    stuck.onUpgrade = (req, socket, head) => wss.handleUpgrade(req, socket, head, () => socket.pause());
    const bound = 1 << 20;
    const a = h.node('a', await h.server(), [{ id: 's', address: stuck.address }], { maxQueueBytes: bound, pingTimeoutMs: 10_000 });
    // Registered after a, so it runs first: a's close() then needs no grace period.
    h.defer(() => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });
    await waitFor(() => isConnected(a, 's'), 5_000, 'a connects to the stuck peer');

    // Larger than the whole bound: refused at once, nothing written.
    expect(a.transport.send('s', { type: 'big', body: 'y'.repeat(bound + 1) })).toBe('full');
    expect(a.transport.stats()[0]!.bufferedAmount).toBe(0);

    // Fill the kernel buffers, then the socket buffer, until the bound refuses.
    const chunk = 'z'.repeat(64 * 1024);
    let result = 'queued';
    for (let i = 0; i < 4_000 && result === 'queued'; i++) result = a.transport.send('s', { type: 'fill', body: chunk });
    expect(result).toBe('full');
    const stats = a.transport.stats()[0]!;
    expect(stats).toMatchObject({ connected: true, queuedBytes: 0 });
    expect(stats.bufferedAmount).toBeGreaterThan(0);
    expect(stats.bufferedAmount).toBeLessThanOrEqual(bound);
    // Still refusing, and memory does not grow.
    expect(a.transport.send('s', { type: 'fill', body: chunk })).toBe('full');
    expect(a.transport.stats()[0]!.bufferedAmount).toBeLessThanOrEqual(stats.bufferedAmount);
  });

  it('reconnects after the peer server closes and reopens on the same port', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    await waitFor(() => isConnected(a, 'b'), 5_000, 'a connects to b');

    await b.transport.close();
    await b.server.close();
    await waitFor(() => a.linkEvents.some((e) => e.peer === 'b' && e.state === 'disconnected'), 5_000, 'a sees b go away');
    expect(a.transport.send('b', { type: 'while-down', body: 1 })).toBe('queued');

    const reopened = await h.server(b.server.port);
    // The same node restarted with its data dir: same identity, same pins.
    const b2 = h.node('b', reopened, [{ id: 'a', address: a.server.address }], { identity: b.identity, incarnations: b.incarnations });
    await waitFor(() => b2.received.length === 1, 5_000, 'the message sent while down arrives');
    expect(b2.received[0]!.type).toBe('while-down');
    expect(a.linkEvents.filter((e) => e.peer === 'b').map((e) => e.state)).toEqual(['connected', 'disconnected', 'connected']);
    expect(a.transport.stats()[0]!.reconnects).toBeGreaterThan(0);
  });

  it('backs off exponentially while a peer refuses, and resets only after a link stayed up', async () => {
    // Virtual time for a's timers; the "random" draw is always the ceiling, so delays show it.
    const manual = new ManualScheduler();
    const ceilingRandom: Random = { next: () => 0.999, int: (_min, max) => max, chance: () => false };
    const [sa, sb] = [await h.server(), await h.server()];
    const a = h.node('a', sa, [{ id: 'b', address: sb.address }], {
      scheduler: manual,
      random: ceilingRandom,
      backoff: { initialMs: 100, maxMs: 400 },
      pingIntervalMs: 1_000_000,
    });
    const b = h.node('b', sb, []); // refuses a (unknown peer) until told otherwise
    const redials = (): number[] => linesWith(a.logs, 'redialing peer').map((l) => l['delayMs'] as number);
    const redial = async (n: number): Promise<number> => {
      await waitFor(() => redials().length > n, 5_000, `redial #${n} scheduled`);
      return redials()[n]!;
    };

    for (const [n, expected] of [100, 200, 400, 400].entries()) {
      expect(await redial(n)).toBe(expected);
      manual.advance(expected);
    }
    const accept = async (): Promise<void> => {
      b.transport.setPeers([{ id: 'a', address: sa.address }]);
      manual.advance(400);
      await waitFor(() => isConnected(a, 'b'), 5_000, 'a connects');
    };
    await accept();
    b.transport.setPeers([]); // drops a's link at once: not stable, no reset
    expect(await redial(4)).toBe(400);

    await accept();
    manual.advance(400); // up for stableMs (= maxMs)
    b.transport.setPeers([]);
    expect(await redial(5)).toBe(100);
  });

  it('redials at once, without waiting out its backoff, when the peer it waits for dials in', async () => {
    // a waits a full minute between dials (virtual time that never advances): only b dialing in can wake it.
    const manual = new ManualScheduler();
    const ceilingRandom: Random = { next: () => 0.999, int: (_min, max) => max, chance: () => false };
    const [sa, sb] = [await h.server(), await h.server()];
    const bPort = sb.port;
    await sb.close(); // b is down: a's first dial fails and a starts waiting
    const a = h.node('a', sa, [{ id: 'b', address: `127.0.0.1:${bPort}` }], {
      scheduler: manual,
      random: ceilingRandom,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      pingIntervalMs: 1_000_000,
    });
    await waitFor(() => linesWith(a.logs, 'redialing peer').length > 0, 5_000, 'a waits to redial');
    const reopened = await h.server(bPort);
    h.node('b', reopened, [{ id: 'a', address: sa.address }]);
    await waitFor(() => isConnected(a, 'b'), 5_000, 'a connects to b as soon as b dials in');
    expect(a.transport.stats()[0]!.reconnects).toBe(1);
  });

  it('drops a link whose peer stops answering pings, then redials', async () => {
    // A server with a valid proof that never pongs: a paused or half-open peer.
    const paused = await h.server();
    const wss = new WebSocketServer({ noServer: true, autoPong: false });
    wss.on('headers', (headers, req) => headers.push(...proofLines(req)));
    let dials = 0;
    paused.onUpgrade = (req, socket, head) => wss.handleUpgrade(req, socket, head, () => dials++);
    h.defer(() => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });

    const a = h.node('a', await h.server(), [{ id: 'p', address: paused.address }], { pingIntervalMs: 30, pingTimeoutMs: 150 });
    await waitFor(() => a.linkEvents.some((e) => e.state === 'disconnected'), 5_000, 'a drops the silent link');
    expect(linesWith(a.logs, 'peer did not answer ping; dropping link')).not.toHaveLength(0);
    await waitFor(() => dials >= 2, 5_000, 'a redials');
    expect(a.linkEvents[0]).toMatchObject({ peer: 'p', state: 'connected' });
  });

  it('setPeers dials new peers and closes both directions to removed ones', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    const c = h.node('c', await h.server(), [{ id: 'a', address: a.server.address }]);
    await waitFor(() => isConnected(a, 'b') && isConnected(b, 'a'), 5_000, 'a and b connect');

    a.transport.setPeers([{ id: 'c', address: c.server.address }]);
    expect(a.transport.peers()).toEqual(['c']);
    expect(a.transport.send('b', { type: 'x', body: 0 })).toBe('unknown-peer');
    expect(a.linkEvents.at(-1)).toMatchObject({ peer: 'b', state: 'disconnected' });
    // a closed b's inbound link too, and now refuses b's redials.
    await waitFor(() => b.linkEvents.some((e) => e.state === 'disconnected'), 5_000, 'b loses its link to a');
    await waitFor(() => linesWith(a.logs, 'refused peer handshake').some((l) => l['peer'] === 'b' && l['reason'] === 'unknown-peer'), 5_000, 'a refuses b');

    a.transport.send('c', { type: 'to-c', body: 0 });
    c.transport.send('a', { type: 'to-a', body: 0 });
    await waitFor(() => c.received.length === 1 && a.received.some((e) => e.from === 'c'), 5_000, 'a and c talk');
  });

  it('close() stops everything, closes inbound links too, and leaves no sockets or timers behind', async () => {
    const before = socketHandles();
    const [sa, sb] = [await h.server(), await h.server()];
    const timers = { a: new TrackingScheduler(), b: new TrackingScheduler() };
    const a = h.node('a', sa, [{ id: 'b', address: sb.address }], { scheduler: timers.a });
    const b = h.node('b', sb, [{ id: 'a', address: sa.address }], { scheduler: timers.b });
    a.transport.send('b', { type: 'x', body: 0 });
    b.transport.send('a', { type: 'x', body: 0 });
    await waitFor(() => a.received.length === 1 && b.received.length === 1, 5_000, 'messages delivered');
    expect(timers.a.pending).toBeGreaterThan(0); // pings are running

    await a.transport.close();
    expect(timers.a.pending).toBe(0); // no retry, ping, pong or grace timer survives close()
    // b's outbound link ran into a's inbound side, which a closed.
    await waitFor(() => b.linkEvents.some((e) => e.peer === 'a' && e.state === 'disconnected'), 5_000, 'b sees a close its inbound link');
    expect(a.linkEvents.at(-1)).toMatchObject({ peer: 'b', state: 'disconnected' });
    await a.transport.close(); // idempotent
    expect(a.transport.peers()).toEqual([]);
    expect(a.transport.send('b', { type: 'late', body: 0 })).toBe('unknown-peer');

    await b.transport.close();
    expect(timers.b.pending).toBe(0);
    await Promise.all([sa.close(), sb.close()]);
    // Closed handles are released asynchronously; leaked ones never are.
    await waitFor(() => socketHandles() <= before, 5_000, 'sockets released');
  });
});

/** What a hand-made server signs for the dialer of `req`: the harness cluster and a fixed incarnation. */
function proofFor(req: IncomingMessage): ServerProof {
  return {
    from: String(req.headers['x-distsync-from']),
    to: String(req.headers['x-distsync-to']),
    nonce: String(req.headers['x-distsync-nonce']),
    cluster: CLUSTER_ID,
    incarnation: 'fake-inc-1',
  };
}

/** A valid server proof as 101 header lines. */
function proofLines(req: IncomingMessage): string[] {
  return Object.entries(serverHeaders(SECRET, proofFor(req))).map(([name, value]) => `${name}: ${value}`);
}

/** Open TCP sockets, servers and connects in this process. */
function socketHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind.startsWith('TCP') || kind === 'ConnectWrap').length;
}

/** A RealScheduler that counts timers neither fired nor cancelled (unref'd timers are invisible otherwise). */
class TrackingScheduler implements Scheduler {
  private readonly real = new RealScheduler();
  private readonly live = new Set<object>();

  get pending(): number {
    return this.live.size;
  }

  now(): number {
    return this.real.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const token = {};
    this.live.add(token);
    const handle = this.real.setTimer(delayMs, () => {
      this.live.delete(token);
      callback();
    });
    return {
      cancel: () => {
        this.live.delete(token);
        handle.cancel();
      },
    };
  }
}
