/**
 * The lock table replicated through the meta group on an in-memory three-node cluster:
 * commands proposed on different nodes apply identically everywhere, with the leader's
 * clock, and every replica emits the same events with the same (index, position) cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SequencedLockEvent } from '../../src/lock/meta-module.js';
import { LOCKS } from '../../src/lock/meta-module.js';
import { waitFor } from '../helpers/wait-for.js';
import { startMemoryCluster } from '../helpers/test-node.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;
const seen = new Map<string, SequencedLockEvent[]>();
beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
  for (const node of cluster.nodes) {
    const list: SequencedLockEvent[] = [];
    seen.set(node.config.id, list);
    node.services.locks.onEvents((events) => list.push(...events));
  }
  await waitFor(() => cluster.nodes.some((n) => n.services.meta.status().role === 'leader'), 10_000, 'a leader');
});
afterAll(() => cluster.stop());

const propose = (nodeId: string, command: Record<string, unknown>) =>
  cluster.node(nodeId).services.meta.propose(LOCKS, command) as Promise<Record<string, unknown>>;

describe('lock commands through Raft', () => {
  it('grants, queues and hands over a lock the same way on every replica', async () => {
    expect(await propose('n1', { op: 'openSession', sessionId: 's1', owner: 'tok_a', ttlMs: 10_000 })).toMatchObject({ ok: true });
    expect(await propose('n2', { op: 'openSession', sessionId: 's2', owner: 'tok_b', ttlMs: 10_000 })).toMatchObject({ ok: true });

    const first = await propose('n1', { op: 'acquire', requestId: 'r1', sessionId: 's1', name: 'orders', mode: 'EXCLUSIVE', timeoutMs: 0 });
    expect(first).toMatchObject({ ok: true, status: 'GRANTED', fencingToken: '1' });
    const second = await propose('n2', { op: 'acquire', requestId: 'r2', sessionId: 's2', name: 'orders', mode: 'EXCLUSIVE', timeoutMs: 5_000 });
    expect(second).toMatchObject({ ok: true, status: 'WAITING' });
    // A retried request gets the same answer, not a second wait.
    expect(await propose('n3', { op: 'acquire', requestId: 'r1', sessionId: 's1', name: 'orders', mode: 'EXCLUSIVE', timeoutMs: 0 })).toEqual(first);

    expect(await propose('n3', { op: 'release', sessionId: 's1', name: 'orders', fencingToken: '1' })).toMatchObject({ ok: true });
    await waitFor(
      () => [...seen.values()].every((list) => list.some((e) => e.event.type === 'GRANTED' && e.event.requestId === 'r2')),
      5_000,
      'every replica saw r2 granted',
    );
    const grants = [...seen.values()].map((list) => list.find((e) => e.event.type === 'GRANTED' && e.event.requestId === 'r2'));
    expect(new Set(grants.map((g) => JSON.stringify(g))).size).toBe(1);
    expect(grants[0]!.event).toMatchObject({ sessionId: 's2', fencingToken: '2', queued: true });

    const views = cluster.nodes.map((n) => JSON.stringify(n.services.locks.view().lock('orders')));
    expect(new Set(views).size).toBe(1);
  });

  it('answers refusals as results and leaves the table unchanged', async () => {
    const before = cluster.nodes.map((n) => JSON.stringify(n.services.locks.view().locks()));
    expect(await propose('n2', { op: 'acquire', requestId: 'r9', sessionId: 'nope', name: 'orders', mode: 'SHARED', timeoutMs: 0 })).toMatchObject({
      ok: false,
      code: 'SESSION_NOT_FOUND',
    });
    expect(await propose('n1', { op: 'release', sessionId: 's1', name: 'orders', fencingToken: '7' })).toMatchObject({ ok: false });
    expect(await propose('n1', { op: 'fly' })).toMatchObject({ ok: false, code: 'BAD_INPUT' });
    expect(await propose('n1', { op: 'toString' })).toMatchObject({ ok: false, code: 'BAD_INPUT' });
    await cluster.node('n1').services.meta.readBarrier();
    expect(cluster.nodes.map((n) => JSON.stringify(n.services.locks.view().locks()))).toEqual(before);
  });
});
