/**
 * LockService on an in-memory three-node cluster: grants and FIFO hand-over across
 * nodes, try-lock and timeouts (a timer only proposes the cancel), deadlock abort,
 * session ownership, and the leader expiring a session that stopped renewing, which
 * hands its lock to the next waiter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCKS } from '../../src/lock/meta-module.js';
import type { Caller, Grant, LockService } from '../../src/services/lock-service.js';
import { waitFor } from '../helpers/wait-for.js';
import { startMemoryCluster } from '../helpers/test-node.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;
const svc = (id: string): LockService => cluster.node(id).services.lockService;
let seq = 0;
const req = () => `req-${++seq}`;

beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
  await waitFor(() => cluster.nodes.some((n) => n.services.meta.status().role === 'leader'), 10_000, 'a leader');
});
afterAll(() => cluster.stop());

const as = (id: string): Caller => ({ id, isAdmin: false });
const acquire = async (node: string, sessionId: string, owner: string, name: string, mode: 'SHARED' | 'EXCLUSIVE', timeoutMs: number) =>
  (await svc(node).acquire({ requestId: req(), sessionId, caller: as(owner), name, mode, timeoutMs })) as Grant;
const release = (node: string, sessionId: string, owner: string, name: string, fencingToken: string) =>
  svc(node).release({ sessionId, caller: as(owner), name, fencingToken });
const fence = async (node: string, name: string, token: string) => (await svc(node).checkFence(name, token)).valid;

describe('LockService', () => {
  it('hands a lock to the next waiter in FIFO order, across nodes, with increasing fencing tokens', async () => {
    const a = await svc('n1').openSession(as('alice'), 10_000);
    const b = await svc('n2').openSession(as('bob'), 10_000);
    const first = await acquire('n1', a.sessionId, 'alice', 'orders', 'EXCLUSIVE', 0);
    expect(first.fencingToken).toBe('1');
    const waiting = acquire('n2', b.sessionId, 'bob', 'orders', 'EXCLUSIVE', 5_000);
    await new Promise((r) => setTimeout(r, 100));
    await release('n3', a.sessionId, 'alice', 'orders', first.fencingToken);
    const second = await waiting;
    expect(second.fencingToken).toBe('2');
    expect(await fence('n3', 'orders', '2')).toBe(true);
    expect(await fence('n3', 'orders', '1')).toBe(false);
    await release('n2', b.sessionId, 'bob', 'orders', '2');
  });

  it('answers a try-lock and a timed-out wait with LOCK_TIMEOUT, and the table stays consistent', async () => {
    const a = await svc('n1').openSession(as('alice'), 10_000);
    const b = await svc('n2').openSession(as('bob'), 10_000);
    const held = await acquire('n1', a.sessionId, 'alice', 'stock', 'EXCLUSIVE', 0);
    await expect(acquire('n2', b.sessionId, 'bob', 'stock', 'SHARED', 0)).rejects.toMatchObject({ extensions: { code: 'LOCK_TIMEOUT' } });
    const started = Date.now();
    await expect(acquire('n3', b.sessionId, 'bob', 'stock', 'SHARED', 300)).rejects.toMatchObject({ extensions: { code: 'LOCK_TIMEOUT' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await release('n1', a.sessionId, 'alice', 'stock', held.fencingToken);
    const later = await acquire('n2', b.sessionId, 'bob', 'stock', 'SHARED', 0);
    expect(BigInt(later.fencingToken)).toBeGreaterThan(BigInt(held.fencingToken));
  });

  it('aborts one side of a deadlock with DEADLOCK and the cycle', async () => {
    const a = await svc('n1').openSession(as('alice'), 10_000);
    const b = await svc('n2').openSession(as('bob'), 10_000);
    await acquire('n1', a.sessionId, 'alice', 'x', 'EXCLUSIVE', 0);
    await acquire('n2', b.sessionId, 'bob', 'y', 'EXCLUSIVE', 0);
    const aWaits = acquire('n1', a.sessionId, 'alice', 'y', 'EXCLUSIVE', 5_000);
    aWaits.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await expect(acquire('n2', b.sessionId, 'bob', 'x', 'EXCLUSIVE', 5_000)).rejects.toMatchObject({
      extensions: { code: 'DEADLOCK', cycle: expect.arrayContaining([a.sessionId, b.sessionId]) },
    });
    await svc('n2').closeSession(b.sessionId, as('bob'));
    await expect(aWaits).resolves.toMatchObject({ fencingToken: expect.any(String) });
  });

  it('keeps sessions to their owner', async () => {
    const a = await svc('n1').openSession(as('alice'), 10_000);
    await expect(acquire('n2', a.sessionId, 'mallory', 'z', 'SHARED', 0)).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await expect(svc('n2').keepAlive('ses_missing', as('alice'))).rejects.toMatchObject({ extensions: { code: 'SESSION_NOT_FOUND' } });
    await expect(svc('n1').openSession(as('alice'), 100)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('expires a session that stops renewing and grants its lock to the next waiter', async () => {
    const quiet = await svc('n1').openSession(as('carol'), 3_000);
    const busy = await svc('n2').openSession(as('dave'), 30_000);
    const held = await acquire('n1', quiet.sessionId, 'carol', 'ledger', 'EXCLUSIVE', 0);
    const started = Date.now();
    const next = await acquire('n3', busy.sessionId, 'dave', 'ledger', 'EXCLUSIVE', 10_000);
    const waitedMs = Date.now() - started;
    expect(BigInt(next.fencingToken)).toBeGreaterThan(BigInt(held.fencingToken));
    expect(waitedMs).toBeGreaterThanOrEqual(2_500);
    expect(await fence('n2', 'ledger', held.fencingToken)).toBe(false);
    const view = cluster.node('n3').services.locks.view().session(quiet.sessionId);
    expect(view?.state).toBe('EXPIRED');
  });

  it('ends a wait at its deadline even when no node keeps a timer for it (the leader cancels it)', async () => {
    const a = await svc('n1').openSession(as('erin'), 10_000);
    const b = await svc('n2').openSession(as('finn'), 10_000);
    await acquire('n1', a.sessionId, 'erin', 'orphan', 'EXCLUSIVE', 0);
    // Proposed straight to the meta group: as if the node that took the acquire died with its timer.
    const proposeWait = (node: string) =>
      cluster.node(node).services.meta.propose(LOCKS, {
        op: 'acquire',
        requestId: 'orphaned-wait',
        sessionId: b.sessionId,
        name: 'orphan',
        mode: 'EXCLUSIVE',
        timeoutMs: 400,
      });
    const waiting = await proposeWait('n3');
    expect(waiting).toMatchObject({ ok: true, status: 'WAITING' });
    const queued = () => cluster.node('n3').services.locks.view().lock('orphan')?.waiters.length ?? 0;
    expect(queued()).toBe(1);
    await waitFor(() => queued() === 0, 3_000, 'the leader cancels the overdue wait');
    const retried = await proposeWait('n1');
    expect(retried).toMatchObject({ ok: false, code: 'LOCK_TIMEOUT' });
  });
});
