/**
 * The lock API over graphql-ws on an in-memory three-node cluster: mutations and queries on
 * a socket, async acquires granted on lockGranted, lockEvents resumed from a cursor without a
 * gap (on another node too), a paused client's session expiring and it hearing lockLost when
 * it wakes, sessions kept alive by a live subscription, and a waiting acquire cancelled when
 * its client goes away.
 */
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startMemoryCluster } from '../helpers/test-node.js';
import { waitFor } from '../helpers/wait-for.js';
import { connect, once } from '../helpers/ws-client.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;
const clients: Client[] = [];

beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
  await waitFor(() => cluster.nodes.some((n) => n.services.meta.status().role === 'leader'), 10_000, 'a leader');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});
afterAll(() => cluster.stop());

/** Each client's underlying `ws` socket, captured when it opens. */
const sockets = new WeakMap<Client, { _socket: { pause(): void; resume(): void } }>();

function client(node: string, scope: 'write' | 'read' | 'admin' | 'other' = 'write'): Client {
  const c = connect(cluster.node(node).url, bearer(scope));
  c.on('opened', (socket) => sockets.set(c, socket as never));
  clients.push(c);
  return c;
}

interface Collected {
  readonly events: Array<Record<string, any>>;
  readonly errors: Array<Record<string, any>>;
  completed: boolean;
  stop(): void;
}

/** Subscribes and collects every payload (events, and errors delivered as payloads). */
function collect(c: Client, query: string, variables: Record<string, unknown>): Collected {
  const out: Collected = { events: [], errors: [], completed: false, stop: () => undefined };
  out.stop = c.subscribe<Record<string, any>>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) out.errors.push(...(value.errors as unknown as Array<Record<string, any>>));
        if (value.data) out.events.push(Object.values(value.data)[0] as Record<string, any>);
      },
      error: (error) => out.errors.push({ message: String(error) }),
      complete: () => {
        out.completed = true;
      },
    },
  );
  return out;
}

async function mutate<T = Record<string, any>>(c: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await once<Record<string, T>>(c, query, variables);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return Object.values(result.data!)[0]!;
}

const OPEN = 'mutation($ttl: Int!) { openSession(ttlMs: $ttl) { id expiresAt } }';
const ACQUIRE = `mutation($name: String!, $s: ID!, $t: Int! = 0, $async: Boolean! = false, $mode: LockMode! = EXCLUSIVE) {
  acquireLock(name: $name, sessionId: $s, timeoutMs: $t, async: $async, mode: $mode) { status requestId fencingToken }
}`;
const RELEASE = 'mutation($name: String!, $s: ID!, $f: Int64!) { releaseLock(name: $name, sessionId: $s, fencingToken: $f) { remaining } }';
const EVENT_FIELDS = 'cursor type sessionId name requestId mode fencingToken remaining reason cycle';

describe('locks over graphql-ws', () => {
  it('grants a queued async acquire on lockGranted, with its fencing token', async () => {
    const holder = client('n1');
    const waiter = client('n2');
    const a = await mutate(holder, OPEN, { ttl: 30_000 });
    const b = await mutate(waiter, OPEN, { ttl: 30_000 });
    const held = await mutate(holder, ACQUIRE, { name: 'ws/orders', s: a.id });
    expect(held.status).toBe('GRANTED');

    const granted = collect(waiter, `subscription($s: ID!) { lockGranted(sessionId: $s) { ${EVENT_FIELDS} } }`, { s: b.id });
    await waitFor(() => cluster.node('n2').services.lockEvents.waitingReaders > 0, 5_000, 'subscription registered');
    const pending = await mutate(waiter, ACQUIRE, { name: 'ws/orders', s: b.id, async: true, t: 10_000 });
    expect(pending).toMatchObject({ status: 'WAITING', fencingToken: null });

    await mutate(holder, RELEASE, { name: 'ws/orders', s: a.id, f: held.fencingToken });
    await waitFor(() => granted.events.length > 0, 5_000, 'lockGranted event');
    const event = granted.events[0]!;
    expect(event).toMatchObject({ type: 'GRANTED', sessionId: b.id, name: 'ws/orders', requestId: pending.requestId, mode: 'EXCLUSIVE' });
    expect(BigInt(event.fencingToken)).toBeGreaterThan(BigInt(held.fencingToken));
    expect(event.cursor).toMatch(/^\d+:\d+$/);
    granted.stop();
  });

  it('streams every event of a lock and resumes after a cursor on another node without a gap', async () => {
    const c1 = client('n1');
    const s = await mutate(c1, OPEN, { ttl: 30_000 });
    const live = collect(client('n3', 'read'), `subscription { lockEvents(name: "ws/ledger") { ${EVENT_FIELDS} } }`, {});
    await waitFor(() => cluster.node('n3').services.lockEvents.waitingReaders > 0, 5_000, 'subscription registered');

    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      const g = await mutate(c1, ACQUIRE, { name: 'ws/ledger', s: s.id });
      tokens.push(g.fencingToken);
      await mutate(c1, RELEASE, { name: 'ws/ledger', s: s.id, f: g.fencingToken });
    }
    await waitFor(() => live.events.length === 10, 5_000, 'ten events');
    expect(live.events.map((e) => e.type)).toEqual(Array.from({ length: 5 }, () => ['GRANTED', 'RELEASED']).flat());
    expect(live.events.filter((e) => e.type === 'GRANTED').map((e) => e.fencingToken)).toEqual(tokens);

    // Resume after the fourth event, on another node: exactly the last six, in order.
    const resumed = collect(client('n2', 'read'), `subscription($after: String) { lockEvents(name: "ws/ledger", after: $after) { ${EVENT_FIELDS} } }`, {
      after: live.events[3]!.cursor,
    });
    await waitFor(() => resumed.events.length === 6, 5_000, 'six replayed events');
    expect(resumed.events).toEqual(live.events.slice(4));
    const bad = collect(client('n2', 'read'), 'subscription { lockEvents(name: "ws/ledger", after: "yesterday") { cursor } }', {});
    await waitFor(() => bad.errors.length > 0, 5_000, 'bad cursor refused');
    expect(bad.errors[0]!['extensions']?.code ?? bad.errors[0]!['message']).toMatch(/BAD_USER_INPUT/);
  });

  it('runs queries and refuses a subscription to another token’s session', async () => {
    const mine = client('n1');
    const s = await mutate(mine, OPEN, { ttl: 30_000 });
    const view = await mutate(mine, 'query($s: ID!) { session(id: $s) { id state } }', { s: s.id });
    expect(view).toEqual({ id: s.id, state: 'OPEN' });
    const spy = collect(client('n2', 'other'), 'subscription($s: ID!) { lockGranted(sessionId: $s) { cursor } }', { s: s.id });
    await waitFor(() => spy.errors.length > 0 || spy.completed, 5_000, 'refused');
    expect(JSON.stringify(spy.errors)).toMatch(/FORBIDDEN/);
    const missing = collect(client('n2'), 'subscription { lockLost(sessionId: "ses_nope") { cursor } }', {});
    await waitFor(() => missing.errors.length > 0 || missing.completed, 5_000, 'refused');
    expect(JSON.stringify(missing.errors)).toMatch(/SESSION_NOT_FOUND/);
  });

  it('keeps a session alive while its subscription answers pings, and lets it expire once that ends', async () => {
    const c = client('n1');
    const s = await mutate(c, OPEN, { ttl: 3_000 });
    const sub = collect(c, 'subscription($s: ID!) { lockLost(sessionId: $s) { cursor type } }', { s: s.id });
    await new Promise((r) => setTimeout(r, 4_500)); // past the TTL, with no keepAlive
    const alive = await mutate(c, 'query($s: ID!) { session(id: $s) { state expiresAt } }', { s: s.id });
    expect(alive.state).toBe('OPEN');
    expect(alive.expiresAt).toBeGreaterThan(s.expiresAt);
    sub.stop();
    await waitFor(
      async () => (await mutate(c, 'query($s: ID!) { session(id: $s) { state } }', { s: s.id })).state === 'EXPIRED',
      6_000,
      'the session expires once nothing renews it',
    );
  });

  it('lets a paused client’s session expire and tells it lockLost when it wakes', async () => {
    const c = client('n2');
    const s = await mutate(c, OPEN, { ttl: 3_000 });
    const held = await mutate(c, ACQUIRE, { name: 'ws/paused', s: s.id });
    const lost = collect(c, `subscription($s: ID!) { lockLost(sessionId: $s) { ${EVENT_FIELDS} } }`, { s: s.id });
    await waitFor(() => cluster.node('n2').services.sessionRenewer.heldSessions > 0, 5_000, 'subscription holds the session');
    // Stop reading the socket: the client no longer answers pings, as a paused process would.
    const socket = sockets.get(c)!._socket;
    socket.pause();
    const observer = client('n3', 'admin');
    await waitFor(
      async () => (await mutate(observer, 'query($s: ID!) { session(id: $s) { state } }', { s: s.id })).state === 'EXPIRED',
      8_000,
      'the paused session expires',
    );
    socket.resume();
    await waitFor(() => lost.events.length >= 2, 5_000, 'lockLost and the session end').catch((e) => { console.log(JSON.stringify(lost)); throw e; });
    expect(lost.events[0]).toMatchObject({ type: 'LOST', name: 'ws/paused', fencingToken: held.fencingToken, sessionId: s.id });
    expect(lost.events[1]).toMatchObject({ type: 'SESSION_ENDED', reason: 'EXPIRED' });
    await waitFor(() => lost.completed, 5_000, 'the stream completes');
  });

  it('ends a stream that cannot go on with an error payload carrying its code, then completes', async () => {
    const stream = collect(client('n2', 'read'), 'subscription { lockEvents(name: "ws/gap") { cursor } }', {});
    const log = cluster.node('n2').services.lockEvents;
    await waitFor(() => log.waitingReaders > 0, 5_000, 'subscription registered');
    // As when this node installs a snapshot: the events it skipped can never be replayed here.
    log.gap(log.lastCursor().index);
    await waitFor(() => stream.completed, 5_000, 'the stream completes');
    expect(stream.errors).toHaveLength(1);
    expect(stream.errors[0]).toMatchObject({ extensions: { code: 'CURSOR_EXPIRED' } });
  });

  it('answers every lock mutation and query over graphql-ws too, errors with their codes', async () => {
    const c = client('n3');
    const admin = client('n1', 'admin');
    const s = await mutate(c, OPEN, { ttl: 30_000 });
    expect((await mutate(c, 'mutation($s: ID!) { keepAlive(sessionId: $s) { id expiresAt } }', { s: s.id })).id).toBe(s.id);
    const g = await mutate(c, ACQUIRE, { name: 'ws/all', s: s.id, mode: 'EXCLUSIVE' });
    expect((await mutate(c, 'mutation($s: ID!) { downgradeLock(name: "ws/all", sessionId: $s) { mode } }', { s: s.id })).mode).toBe('SHARED');
    const fence = await mutate(c, 'query($f: Int64!) { checkFence(name: "ws/all", fencingToken: $f) { valid mode } }', { f: g.fencingToken });
    expect(fence).toEqual({ valid: true, mode: 'SHARED' });
    expect(await mutate(c, 'query { lock(name: "ws/all", consistency: LOCAL) { holders { mode } } }')).toEqual({ holders: [{ mode: 'SHARED' }] });
    expect(await mutate(c, 'query { locks(prefix: "ws/all") { name } }')).toEqual([{ name: 'ws/all' }]);
    expect((await mutate(c, 'query { sessions { id } }')).map((x: { id: string }) => x.id)).toContain(s.id);
    expect(await mutate(c, 'query { waitForGraph { edges { from } } }')).toEqual({ edges: expect.any(Array) });
    expect((await mutate(c, RELEASE, { name: 'ws/all', s: s.id, f: g.fencingToken })).remaining).toBe(0);
    expect((await mutate(c, 'mutation($s: ID!) { closeSession(sessionId: $s) { state } }', { s: s.id })).state).toBe('CLOSED');

    const other = await mutate(c, OPEN, { ttl: 30_000 });
    expect((await mutate(admin, 'mutation($s: ID!) { forceCloseSession(sessionId: $s) { state } }', { s: other.id })).state).toBe('CLOSED');
    const codes = async (cl: Client, query: string, variables: Record<string, unknown> = {}) =>
      ((await once(cl, query, variables)).errors ?? []).map((e) => e.extensions?.['code']);
    expect(await codes(c, ACQUIRE, { name: 'ws/all', s: s.id })).toEqual(['SESSION_EXPIRED']);
    expect(await codes(c, ACQUIRE, { name: '', s: s.id })).toEqual(['BAD_USER_INPUT']);
    expect(await codes(c, 'mutation { forceCloseSession(sessionId: "ses_x") { state } }')).toEqual(['FORBIDDEN']);
    expect(await codes(c, RELEASE, { name: 'ws/all', s: 'ses_nope', f: '1' })).toEqual(['SESSION_NOT_FOUND']);
  });

  it('cancels a waiting acquire when its client goes away', async () => {
    const holder = client('n1');
    const a = await mutate(holder, OPEN, { ttl: 30_000 });
    await mutate(holder, ACQUIRE, { name: 'ws/abandoned', s: a.id });
    const leaving = connect(cluster.node('n3').url, bearer('write'));
    const b = await mutate(leaving, OPEN, { ttl: 30_000 });
    void once(leaving, ACQUIRE, { name: 'ws/abandoned', s: b.id, t: 60_000 }).catch(() => undefined);
    const queued = () => cluster.node('n1').services.locks.view().lock('ws/abandoned')?.waiters.length ?? 0;
    await waitFor(() => queued() === 1, 5_000, 'the wait is queued');
    await leaving.dispose();
    await waitFor(() => queued() === 0, 5_000, 'the wait is cancelled');
  });
});
