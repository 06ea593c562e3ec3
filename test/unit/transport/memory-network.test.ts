/**
 * MemoryNetwork: seeded determinism, fault rates, reordering, partitions, crashes, link events.
 * Randomized tests take their seed from DISTSYNC_SEED (printed in the test name) to replay.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/transport/envelope.js';
import { MemoryNetwork, type FaultConfig } from '../../../src/transport/memory-network.js';
import type { LinkStateChange, PeerTransport } from '../../../src/transport/types.js';
import { SeededRandom } from '../../../src/util/random.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';

const SEED = Number(process.env['DISTSYNC_SEED'] ?? 20240611);

type Delivery = [time: number, from: string, to: string, type: string, body: unknown];

interface World {
  readonly scheduler: ManualScheduler;
  readonly network: MemoryNetwork;
  readonly nodes: Map<string, PeerTransport>;
  readonly deliveries: Delivery[];
  readonly links: Map<string, LinkStateChange[]>;
}

function world(seed: number, ids: string[], faults: Partial<FaultConfig> = {}): World {
  const scheduler = new ManualScheduler();
  const network = new MemoryNetwork({ scheduler, random: new SeededRandom(seed), faults });
  const nodes = new Map<string, PeerTransport>();
  const deliveries: Delivery[] = [];
  const links = new Map<string, LinkStateChange[]>();
  for (const id of ids) {
    const transport = network.createTransport(id);
    nodes.set(id, transport);
    links.set(id, []);
    transport.onMessage((e: Envelope) => deliveries.push([scheduler.now(), e.from, e.to, e.type, e.body]));
    transport.onLinkState((change) => links.get(id)!.push(change));
  }
  // Creating b after a told a that b connected; tests look at what happens after setup.
  for (const events of links.values()) events.length = 0;
  return { scheduler, network, nodes, deliveries, links };
}

function send(w: World, from: string, to: string, body: unknown = null, type = 'm'): void {
  expect(w.nodes.get(from)!.send(to, { type, body })).toBe('queued');
}

/** Count of pairs delivered out of send order on each link (body is the per-link sequence). */
function inversions(deliveries: Delivery[]): number {
  const last = new Map<string, number>();
  let count = 0;
  for (const [, from, to, , body] of deliveries) {
    const key = `${from}>${to}`;
    const seq = body as number;
    if (seq < (last.get(key) ?? -1)) count++;
    last.set(key, Math.max(seq, last.get(key) ?? -1));
  }
  return count;
}

describe('MemoryNetwork determinism', () => {
  function run(seed: number): Delivery[] {
    const w = world(seed, ['n1', 'n2', 'n3'], { dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, minDelayMs: 1, maxDelayMs: 20 });
    // Messages at several virtual times, plus replies sent from inside handlers.
    w.nodes.get('n2')!.onMessage((e) => {
      if (e.type === 'ping') w.nodes.get('n2')!.send(e.from, { type: 'pong', body: e.body });
    });
    for (let round = 0; round < 20; round++) {
      for (const from of w.nodes.keys()) for (const to of w.nodes.get(from)!.peers()) w.nodes.get(from)!.send(to, { type: 'ping', body: { round, from } });
      w.scheduler.advance(7);
    }
    w.scheduler.runUntilIdle();
    return w.deliveries;
  }

  it('replays the same deliveries, order and times from the same seed, and differs for another', () => {
    const first = run(SEED);
    expect(first.length).toBeGreaterThan(100);
    expect(run(SEED)).toEqual(first);
    expect(run(SEED + 1)).not.toEqual(first);
  });
});

describe(`MemoryNetwork faults (seed ${SEED})`, () => {
  it('drops about dropRate of 2,000 messages', () => {
    const w = world(SEED, ['a', 'b'], { dropRate: 0.3 });
    for (let i = 0; i < 2_000; i++) send(w, 'a', 'b', i);
    w.scheduler.runUntilIdle();
    const lost = 2_000 - w.deliveries.length;
    expect(lost).toBeGreaterThan(2_000 * 0.25); // ±5 standard deviations (σ ≈ 20)
    expect(lost).toBeLessThan(2_000 * 0.35);
    expect(w.network.stats()).toEqual({ sent: 2_000, delivered: 2_000 - lost, dropped: lost, duplicated: 0, inFlight: 0 });
  });

  it('drops nothing at dropRate 0', () => {
    const w = world(SEED, ['a', 'b'], { minDelayMs: 0, maxDelayMs: 50 });
    for (let i = 0; i < 500; i++) send(w, 'a', 'b', i);
    w.scheduler.runUntilIdle();
    expect(w.deliveries).toHaveLength(500);
  });

  it('duplicates about duplicateRate of messages, each at most once more', () => {
    const w = world(SEED, ['a', 'b'], { duplicateRate: 0.2, minDelayMs: 0, maxDelayMs: 5 });
    for (let i = 0; i < 2_000; i++) send(w, 'a', 'b', i);
    w.scheduler.runUntilIdle();
    const extra = w.deliveries.length - 2_000;
    expect(extra).toBeGreaterThan(2_000 * 0.15);
    expect(extra).toBeLessThan(2_000 * 0.25);
    expect(w.network.stats().duplicated).toBe(extra);
    const copies = new Map<number, number>();
    for (const d of w.deliveries) copies.set(d[4] as number, (copies.get(d[4] as number) ?? 0) + 1);
    expect(copies.size).toBe(2_000);
    expect(Math.max(...copies.values())).toBe(2);
  });

  it('keeps each link FIFO with a fixed delay and no reorderRate', () => {
    const w = world(SEED, ['a', 'b', 'c'], { minDelayMs: 5, maxDelayMs: 5 });
    for (let i = 0; i < 300; i++) {
      send(w, 'a', 'b', i);
      send(w, 'c', 'b', i);
      if (i % 10 === 0) w.scheduler.advance(1);
    }
    w.scheduler.runUntilIdle();
    expect(w.deliveries).toHaveLength(600);
    expect(inversions(w.deliveries)).toBe(0);
    expect(w.deliveries[0]![0]).toBe(5);
  });

  it('reorders with varying delays', () => {
    const w = world(SEED, ['a', 'b'], { minDelayMs: 0, maxDelayMs: 10 });
    for (let i = 0; i < 300; i++) send(w, 'a', 'b', i);
    w.scheduler.runUntilIdle();
    expect(inversions(w.deliveries)).toBeGreaterThan(10);
  });

  it('reorders with reorderRate even at zero delay, by a bounded extra delay', () => {
    const w = world(SEED, ['a', 'b'], { reorderRate: 0.1 });
    for (let i = 0; i < 300; i++) send(w, 'a', 'b', i);
    w.scheduler.runUntilIdle();
    expect(inversions(w.deliveries)).toBeGreaterThan(5);
    // maxDelayMs 0: the extra delay is exactly 1 ms.
    expect(new Set(w.deliveries.map((d) => d[0]))).toEqual(new Set([0, 1]));
  });

  it('validates fault settings', () => {
    const w = world(SEED, ['a']);
    expect(() => w.network.setFaults({ dropRate: 1.5 })).toThrow(RangeError);
    expect(() => w.network.setFaults({ minDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
    w.network.setFaults({ dropRate: 0.5 });
    expect(w.network.getFaults()).toMatchObject({ dropRate: 0.5, maxDelayMs: 0 });
  });
});

describe('MemoryNetwork partitions and crashes', () => {
  const ids = ['a', 'b', 'c', 'd'];

  function allPairs(w: World): Set<string> {
    w.deliveries.length = 0;
    for (const from of ids) for (const to of ids) if (from !== to) send(w, from, to, `${from}${to}`);
    w.scheduler.runUntilIdle();
    return new Set(w.deliveries.map((d) => d[4] as string));
  }

  it('blocks both directions across groups and allows within a group', () => {
    const w = world(SEED, ids, { minDelayMs: 1, maxDelayMs: 3 });
    w.network.partition(['a', 'b'], ['c', 'd']);
    send(w, 'a', 'c');
    expect(w.network.stats()).toMatchObject({ sent: 1, dropped: 1, inFlight: 0 }); // refused at send time
    expect(allPairs(w)).toEqual(new Set(['ab', 'ba', 'cd', 'dc']));
    expect(w.network.reachable('a', 'c')).toBe(false);
    expect(w.network.reachable('c', 'a')).toBe(false);
  });

  it('puts unnamed nodes together in one extra group', () => {
    const w = world(SEED, ids);
    w.network.partition(['a'], ['b']);
    expect(allPairs(w)).toEqual(new Set(['cd', 'dc']));
  });

  it('isolate cuts one node off and keeps the rest together', () => {
    const w = world(SEED, ids);
    w.network.isolate('b');
    expect(allPairs(w)).toEqual(new Set(['ac', 'ad', 'ca', 'cd', 'da', 'dc']));
  });

  it('heal restores delivery', () => {
    const w = world(SEED, ids);
    w.network.partition(['a', 'b'], ['c', 'd']);
    w.network.heal();
    expect(allPairs(w).size).toBe(12);
  });

  it('loses messages in flight when a partition starts, even if it heals before they land', () => {
    const w = world(SEED, ids, { minDelayMs: 10, maxDelayMs: 10 });
    send(w, 'a', 'c', 'cut');
    send(w, 'a', 'b', 'kept'); // same side: unaffected
    w.scheduler.advance(5);
    w.network.partition(['a', 'b'], ['c', 'd']);
    w.scheduler.advance(1);
    w.network.heal();
    w.scheduler.runUntilIdle();
    expect(w.deliveries.map((d) => d[4])).toEqual(['kept']);
    expect(w.network.stats()).toMatchObject({ sent: 2, delivered: 1, dropped: 1, inFlight: 0 });
    send(w, 'a', 'c', 'after');
    w.scheduler.runUntilIdle();
    expect(w.deliveries.map((d) => d[4])).toEqual(['kept', 'after']);
  });

  it('a crashed node neither sends nor receives; in-flight messages to it are lost; restart restores it', () => {
    const w = world(SEED, ids, { minDelayMs: 10, maxDelayMs: 10 });
    send(w, 'a', 'b', 'in-flight');
    w.scheduler.advance(5);
    w.network.crash('b');
    w.network.restart('b'); // back before the delivery time: still lost (the link broke)
    w.network.crash('b');
    send(w, 'a', 'b', 'to-crashed');
    send(w, 'b', 'a', 'from-crashed');
    w.scheduler.runUntilIdle();
    expect(w.deliveries).toEqual([]);
    expect(w.nodes.get('b')!.peers()).toEqual(['a', 'c', 'd']); // still configured

    w.network.restart('b');
    send(w, 'a', 'b', 'x');
    send(w, 'b', 'a', 'y');
    w.scheduler.runUntilIdle();
    expect(w.deliveries.map((d) => d[4]).sort()).toEqual(['x', 'y']);
    const { sent, delivered, dropped, duplicated, inFlight } = w.network.stats();
    expect(sent + duplicated).toBe(delivered + dropped + inFlight);
    expect(dropped).toBe(3);
  });

  it('reports link state changes to each live end', () => {
    const w = world(SEED, ['a', 'b', 'c']);
    w.scheduler.advance(3);
    w.network.partition(['a'], ['b', 'c']);
    expect(w.links.get('a')).toEqual([
      { peer: 'b', state: 'disconnected', at: 3 },
      { peer: 'c', state: 'disconnected', at: 3 },
    ]);
    expect(w.links.get('b')).toEqual([{ peer: 'a', state: 'disconnected', at: 3 }]);
    w.network.heal();
    expect(w.links.get('a')!.slice(2).map((e) => `${e.peer}:${e.state}`)).toEqual(['b:connected', 'c:connected']);

    const heardByC = w.links.get('c')!.length;
    w.network.crash('c');
    expect(w.links.get('a')!.at(-1)).toMatchObject({ peer: 'c', state: 'disconnected' });
    expect(w.links.get('c')).toHaveLength(heardByC); // a crashed node hears nothing
    w.network.restart('c');
    expect(w.links.get('a')!.at(-1)).toMatchObject({ peer: 'c', state: 'connected' });
    expect(w.links.get('c')!.slice(heardByC).map((e) => `${e.peer}:${e.state}`)).toEqual(['a:connected', 'b:connected']);

    // No change, no event.
    const count = w.links.get('a')!.length;
    w.network.heal();
    expect(w.links.get('a')).toHaveLength(count);
  });

  it('peers include transports created later; unknown ids are refused, never "full"', () => {
    const w = world(SEED, ['a', 'b']);
    expect(w.nodes.get('a')!.peers()).toEqual(['b']);
    expect(w.nodes.get('a')!.send('zz', { type: 'm', body: 0 })).toBe('unknown-peer');
    expect(w.nodes.get('a')!.send('a', { type: 'm', body: 0 })).toBe('unknown-peer');
    const c = w.network.createTransport('c');
    expect(w.nodes.get('a')!.peers()).toEqual(['b', 'c']);
    expect(c.peers()).toEqual(['a', 'b']);
    expect(w.links.get('a')).toEqual([{ peer: 'c', state: 'connected', at: 0 }]);
    expect(() => w.network.createTransport('c')).toThrow();
    for (let i = 0; i < 10_000; i++) expect(w.nodes.get('a')!.send('c', { type: 'm', body: i })).toBe('queued');
  });

  it('close() leaves the network; the id can join again, and nothing in flight reaches the new one', async () => {
    const w = world(SEED, ['a', 'b'], { minDelayMs: 10, maxDelayMs: 10 });
    send(w, 'a', 'b', 'old');
    await w.nodes.get('b')!.close();
    expect(w.links.get('a')).toEqual([{ peer: 'b', state: 'disconnected', at: 0 }]);
    expect(w.nodes.get('a')!.peers()).toEqual([]);
    expect(w.nodes.get('b')!.send('a', { type: 'm', body: 0 })).toBe('unknown-peer');
    const b2 = w.network.createTransport('b');
    const got: unknown[] = [];
    b2.onMessage((e) => got.push(e.body));
    w.scheduler.runUntilIdle();
    expect(got).toEqual([]);
    send(w, 'a', 'b', 'new');
    w.scheduler.runUntilIdle();
    expect(got).toEqual(['new']);
  });

  it('carries envelopes as the wire does: encoded, never shared objects', () => {
    const w = world(SEED, ['a', 'b']);
    const body = { list: [1, 2], skip: undefined };
    w.nodes.get('a')!.send('b', { type: 't', group: 'meta', body });
    const got: Envelope[] = [];
    w.nodes.get('b')!.onMessage((e) => got.push(e));
    w.scheduler.runUntilIdle();
    expect(got[0]).toEqual({ v: 1, from: 'a', to: 'b', group: 'meta', type: 't', body: { list: [1, 2] } });
    expect(got[0]!.body).not.toBe(body);
    expect(() => w.nodes.get('a')!.send('b', { type: 't', body: 1n })).toThrow(TypeError);
  });
});
