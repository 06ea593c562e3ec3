/**
 * The lock API over GraphQL-over-HTTP (supertest against each node's own server) on an
 * in-memory three-node cluster: sessions, acquire/release/downgrade, idempotent retries,
 * fencing, reads at both consistencies, deadlocks, ownership and admin, and the errors of
 * bad input — each with its code, and the table left unchanged.
 */
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node.js';
import { bearer, startMemoryCluster, TOKENS } from '../helpers/test-node.js';
import { waitFor } from '../helpers/wait-for.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;

beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
  await waitFor(() => cluster.nodes.some((n) => n.services.meta.status().role === 'leader'), 10_000, 'a leader');
});
afterAll(() => cluster.stop());

interface GqlResult {
  status: number;
  data: Record<string, any> | null | undefined;
  errors: Array<{ message: string; path?: string[]; extensions: Record<string, any> }> | undefined;
}

async function gql(node: RunningNode | string, token: keyof typeof TOKENS, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult> {
  const target = typeof node === 'string' ? cluster.node(node) : node;
  const res = await request(target.server)
    .post('/graphql')
    .set('content-type', 'application/json')
    .set('authorization', bearer(token))
    .send({ query, variables });
  return { status: res.status, data: res.body.data, errors: res.body.errors };
}

/** The single error's code (fails the test when there is none). */
function codeOf(result: GqlResult): string {
  expect(result.errors, JSON.stringify(result)).toHaveLength(1);
  return result.errors![0]!.extensions['code'] as string;
}

const OPEN = 'mutation($ttl: Int!) { openSession(ttlMs: $ttl) { id ttlMs expiresAt state owner } }';
const ACQUIRE = `mutation($name: String!, $mode: LockMode!, $s: ID!, $t: Int!, $r: String, $async: Boolean! = false) {
  acquireLock(name: $name, mode: $mode, sessionId: $s, timeoutMs: $t, requestId: $r, async: $async) { status requestId name mode sessionId fencingToken expiresAt }
}`;
const RELEASE = `mutation($name: String!, $s: ID!, $f: Int64!, $r: String) {
  releaseLock(name: $name, sessionId: $s, fencingToken: $f, requestId: $r) { name remaining alreadyReleased }
}`;
const LOCK = 'query($name: String!, $c: Consistency! = LINEARIZABLE) { lock(name: $name, consistency: $c) { name lastFencingToken holders { sessionId mode count fencingToken } waiters { requestId sessionId mode deadline } } }';

async function openSession(node: string, token: keyof typeof TOKENS = 'write', ttl = 30_000): Promise<string> {
  const r = await gql(node, token, OPEN, { ttl });
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!['openSession'].id as string;
}

const acquire = (node: string, s: string, name: string, mode: 'SHARED' | 'EXCLUSIVE', t = 0, extra: Record<string, unknown> = {}, token: keyof typeof TOKENS = 'write') =>
  gql(node, token, ACQUIRE, { name, mode, s, t, ...extra });

describe('lock sessions over HTTP', () => {
  it('opens, renews, reads and closes a session; the answers carry expiresAt', async () => {
    const before = Date.now();
    const opened = await gql('n1', 'write', OPEN, { ttl: 10_000 });
    expect(opened.status).toBe(200);
    const session = opened.data!['openSession'];
    expect(session).toMatchObject({ ttlMs: 10_000, state: 'OPEN' });
    expect(session.id).toMatch(/^ses_[0-9a-f]{24}$/);
    expect(session.expiresAt).toBeGreaterThanOrEqual(before + 10_000 - 50);

    const renewed = await gql('n2', 'write', 'mutation($s: ID!) { keepAlive(sessionId: $s) { id expiresAt } }', { s: session.id });
    expect(renewed.data!['keepAlive'].expiresAt).toBeGreaterThanOrEqual(session.expiresAt);

    const read = await gql('n3', 'write', 'query($s: ID!) { session(id: $s) { id state holds waits ttlMs } }', { s: session.id });
    expect(read.data!['session']).toEqual({ id: session.id, state: 'OPEN', holds: [], waits: [], ttlMs: 10_000 });

    const closed = await gql('n3', 'write', 'mutation($s: ID!) { closeSession(sessionId: $s) { id state } }', { s: session.id });
    expect(closed.data!['closeSession']).toEqual({ id: session.id, state: 'CLOSED' });
    // An ended session stays readable, and keepAlive says it is over.
    const after = await gql('n1', 'write', 'query($s: ID!) { session(id: $s) { state } }', { s: session.id });
    expect(after.data!['session'].state).toBe('CLOSED');
    expect(codeOf(await gql('n1', 'write', 'mutation($s: ID!) { keepAlive(sessionId: $s) { id } }', { s: session.id }))).toBe('SESSION_EXPIRED');
  });

  it('refuses bad session input with codes', async () => {
    expect(codeOf(await gql('n1', 'write', OPEN, { ttl: 100 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql('n1', 'write', OPEN, { ttl: -5 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql('n1', 'write', OPEN, { ttl: 1e9 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql('n1', 'write', 'mutation { keepAlive(sessionId: "ses_nope") { id } }'))).toBe('SESSION_NOT_FOUND');
    expect(codeOf(await gql('n1', 'read', OPEN, { ttl: 10_000 }))).toBe('FORBIDDEN');
    const missing = await gql('n1', 'write', 'query { session(id: "ses_nope") { id } }');
    expect(missing.errors).toBeUndefined();
    expect(missing.data!['session']).toBeNull();
  });
});

describe('acquire and release over HTTP', () => {
  it('grants, refuses a conflicting try-lock, times out a wait, and hands over on release with a larger token', async () => {
    const a = await openSession('n1');
    const b = await openSession('n2');
    const first = await acquire('n1', a, 'http/orders', 'EXCLUSIVE');
    expect(first.data!['acquireLock']).toMatchObject({ status: 'GRANTED', name: 'http/orders', mode: 'EXCLUSIVE', sessionId: a });
    const token1 = first.data!['acquireLock'].fencingToken as string;
    expect(BigInt(token1)).toBeGreaterThan(0n);

    expect(codeOf(await acquire('n2', b, 'http/orders', 'EXCLUSIVE', 0))).toBe('LOCK_TIMEOUT');
    const started = Date.now();
    const timedOut = await acquire('n3', b, 'http/orders', 'SHARED', 300);
    expect(codeOf(timedOut)).toBe('LOCK_TIMEOUT');
    expect(timedOut.errors![0]!.extensions['retryable']).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const waiting = acquire('n2', b, 'http/orders', 'EXCLUSIVE', 5_000);
    await waitFor(async () => (await gql('n3', 'read', LOCK, { name: 'http/orders', c: 'LOCAL' })).data?.['lock']?.waiters.length === 1, 5_000, 'b queued');
    const released = await gql('n3', 'write', RELEASE, { name: 'http/orders', s: a, f: token1 });
    expect(released.data!['releaseLock']).toEqual({ name: 'http/orders', remaining: 0, alreadyReleased: false });
    const second = (await waiting).data!['acquireLock'];
    expect(second.status).toBe('GRANTED');
    expect(BigInt(second.fencingToken)).toBeGreaterThan(BigInt(token1));

    // A retried release of an already released token is harmless.
    expect((await gql('n1', 'write', RELEASE, { name: 'http/orders', s: a, f: token1 })).data!['releaseLock']).toMatchObject({ alreadyReleased: true });

    const fence = 'query($name: String!, $f: Int64!) { checkFence(name: $name, fencingToken: $f) { name fencingToken valid mode } }';
    expect((await gql('n1', 'read', fence, { name: 'http/orders', f: second.fencingToken })).data!['checkFence']).toEqual({
      name: 'http/orders',
      fencingToken: second.fencingToken,
      valid: true,
      mode: 'EXCLUSIVE',
    });
    expect((await gql('n2', 'read', fence, { name: 'http/orders', f: token1 })).data!['checkFence'].valid).toBe(false);

    const view = (await gql('n2', 'read', LOCK, { name: 'http/orders' })).data!['lock'];
    expect(view).toEqual({
      name: 'http/orders',
      lastFencingToken: second.fencingToken,
      holders: [{ sessionId: b, mode: 'EXCLUSIVE', count: 1, fencingToken: second.fencingToken }],
      waiters: [],
    });
  });

  it('answers a retried acquire with the same grant and a retried release once', async () => {
    const a = await openSession('n1');
    const one = await acquire('n1', a, 'http/retry', 'EXCLUSIVE', 0, { r: 'retry-1' });
    const again = await acquire('n2', a, 'http/retry', 'EXCLUSIVE', 0, { r: 'retry-1' });
    expect(again.data!['acquireLock']).toEqual(one.data!['acquireLock']);
    // Re-entry with a new request id: same hold, same token, count 2.
    const reentry = await acquire('n3', a, 'http/retry', 'EXCLUSIVE', 0, { r: 'retry-2' });
    expect(reentry.data!['acquireLock'].fencingToken).toBe(one.data!['acquireLock'].fencingToken);
    const token = one.data!['acquireLock'].fencingToken as string;
    const rel = await gql('n1', 'write', RELEASE, { name: 'http/retry', s: a, f: token, r: 'rel-1' });
    expect(rel.data!['releaseLock']).toMatchObject({ remaining: 1 });
    const relAgain = await gql('n2', 'write', RELEASE, { name: 'http/retry', s: a, f: token, r: 'rel-1' });
    expect(relAgain.data!['releaseLock']).toMatchObject({ remaining: 1 });
    const holders = (await gql('n3', 'read', LOCK, { name: 'http/retry' })).data!['lock'].holders;
    expect(holders).toEqual([{ sessionId: a, mode: 'EXCLUSIVE', count: 1, fencingToken: token }]);
    // The same request id for a different request is refused, and changes nothing.
    expect(codeOf(await acquire('n1', a, 'http/other', 'SHARED', 0, { r: 'retry-1' }))).toBe('BAD_USER_INPUT');
    expect((await gql('n1', 'read', LOCK, { name: 'http/other' })).data!['lock']).toBeNull();
  });

  it('shares SHARED holds, upgrades the sole holder, downgrades, and queues a writer behind readers', async () => {
    const a = await openSession('n1');
    const b = await openSession('n2');
    const ra = await acquire('n1', a, 'http/doc', 'SHARED');
    const rb = await acquire('n2', b, 'http/doc', 'SHARED');
    expect([ra.data!['acquireLock'].status, rb.data!['acquireLock'].status]).toEqual(['GRANTED', 'GRANTED']);
    // b upgrades while a still shares: it waits; a's release lets it through.
    const upgrade = acquire('n2', b, 'http/doc', 'EXCLUSIVE', 5_000);
    await waitFor(async () => (await gql('n1', 'read', LOCK, { name: 'http/doc', c: 'LOCAL' })).data?.['lock']?.waiters.length === 1, 5_000, 'upgrade queued');
    await gql('n1', 'write', RELEASE, { name: 'http/doc', s: a, f: ra.data!['acquireLock'].fencingToken });
    const up = (await upgrade).data!['acquireLock'];
    expect(up).toMatchObject({ status: 'GRANTED', fencingToken: rb.data!['acquireLock'].fencingToken });
    expect((await gql('n3', 'read', LOCK, { name: 'http/doc' })).data!['lock'].holders[0].mode).toBe('EXCLUSIVE');

    const down = await gql('n3', 'write', 'mutation($s: ID!) { downgradeLock(name: "http/doc", sessionId: $s) { name mode } }', { s: b });
    expect(down.data!['downgradeLock']).toEqual({ name: 'http/doc', mode: 'SHARED' });
    expect((await acquire('n1', a, 'http/doc', 'SHARED')).data!['acquireLock'].status).toBe('GRANTED');
    const notHeld = await gql('n1', 'write', 'mutation { downgradeLock(name: "http/none", sessionId: "ses_nope") { mode } }');
    expect(['SESSION_NOT_FOUND', 'NOT_HELD']).toContain(codeOf(notHeld));
  });

  it('aborts a deadlock victim with DEADLOCK and the cycle, and shows the wait-for graph', async () => {
    const a = await openSession('n1');
    const b = await openSession('n2');
    await acquire('n1', a, 'http/x', 'EXCLUSIVE');
    await acquire('n2', b, 'http/y', 'EXCLUSIVE');
    const aWaits = acquire('n1', a, 'http/y', 'EXCLUSIVE', 10_000);
    await waitFor(async () => (await gql('n3', 'read', LOCK, { name: 'http/y', c: 'LOCAL' })).data?.['lock']?.waiters.length === 1, 5_000, 'a queued');
    const graph = await gql('n3', 'read', 'query { waitForGraph { edges { from to name kind requestId } } }');
    expect(graph.data!['waitForGraph'].edges).toContainEqual(expect.objectContaining({ from: a, to: b, name: 'http/y', kind: 'HOLDER' }));

    const victim = await acquire('n2', b, 'http/x', 'EXCLUSIVE', 10_000);
    expect(codeOf(victim)).toBe('DEADLOCK');
    expect(victim.errors![0]!.extensions['cycle']).toEqual(expect.arrayContaining([a, b]));
    await gql('n2', 'write', 'mutation($s: ID!) { closeSession(sessionId: $s) { state } }', { s: b });
    expect((await aWaits).data!['acquireLock'].status).toBe('GRANTED');
  });

  it('cancels a waiting acquire when its HTTP client disconnects', async () => {
    const a = await openSession('n1');
    const b = await openSession('n2');
    await acquire('n1', a, 'http/abandoned', 'EXCLUSIVE');
    const node = cluster.node('n2');
    const body = JSON.stringify({ query: ACQUIRE, variables: { name: 'http/abandoned', mode: 'EXCLUSIVE', s: b, t: 60_000 } });
    const req = httpRequest(`${node.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer('write'), 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => undefined);
    req.end(body);
    const queued = () => node.services.locks.view().lock('http/abandoned')?.waiters.length ?? 0;
    await waitFor(() => queued() === 1, 5_000, 'the wait is queued');
    req.destroy();
    await waitFor(() => queued() === 0, 5_000, 'the wait is cancelled');
  });

  it('cancels a waiting async acquire on request, only for its own session, and keeps a grant that came first', async () => {
    const a = await openSession('n1');
    const b = await openSession('n2');
    const held = await acquire('n1', a, 'http/cancel', 'EXCLUSIVE');
    const waiting = await acquire('n2', b, 'http/cancel', 'EXCLUSIVE', 0, { async: true, r: 'cancel-me' });
    expect(waiting.data!['acquireLock']).toMatchObject({ status: 'WAITING', requestId: 'cancel-me', fencingToken: null });
    const CANCEL = 'mutation($s: ID!, $r: String!) { cancelLockWait(sessionId: $s, requestId: $r) { requestId cancelled fencingToken } }';
    expect(codeOf(await gql('n3', 'other', CANCEL, { s: b, r: 'cancel-me' }))).toBe('FORBIDDEN');
    expect(codeOf(await gql('n3', 'write', CANCEL, { s: a, r: 'cancel-me' }))).toBe('BAD_USER_INPUT');
    expect((await gql('n3', 'write', CANCEL, { s: b, r: 'cancel-me' })).data!['cancelLockWait']).toEqual({
      requestId: 'cancel-me',
      cancelled: true,
      fencingToken: null,
    });
    expect((await gql('n1', 'read', LOCK, { name: 'http/cancel' })).data!['lock'].waiters).toEqual([]);
    // A grant that applied before the cancel is kept and reported.
    await acquire('n2', b, 'http/cancel', 'EXCLUSIVE', 0, { async: true, r: 'granted-first' });
    await gql('n1', 'write', RELEASE, { name: 'http/cancel', s: a, f: held.data!['acquireLock'].fencingToken });
    await waitFor(async () => (await gql('n2', 'read', LOCK, { name: 'http/cancel', c: 'LOCAL' })).data?.['lock']?.holders[0]?.sessionId === b, 5_000, 'b granted');
    const late = (await gql('n2', 'write', CANCEL, { s: b, r: 'granted-first' })).data!['cancelLockWait'];
    expect(late.cancelled).toBe(false);
    expect(BigInt(late.fencingToken)).toBeGreaterThan(BigInt(held.data!['acquireLock'].fencingToken));
  });

  it('refuses bad lock input with codes and leaves the table unchanged', async () => {
    const a = await openSession('n1');
    const longName = 'x'.repeat(257);
    expect(codeOf(await acquire('n1', a, '', 'EXCLUSIVE'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await acquire('n1', a, longName, 'EXCLUSIVE'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await acquire('n1', a, 'http/bad', 'EXCLUSIVE', -1))).toBe('BAD_USER_INPUT');
    expect(codeOf(await acquire('n1', 'ses_nope', 'http/bad', 'EXCLUSIVE'))).toBe('SESSION_NOT_FOUND');
    expect(codeOf(await acquire('n1', a, 'http/bad', 'EXCLUSIVE', 0, { r: '' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql('n1', 'write', RELEASE, { name: 'http/bad', s: a, f: '1' }))).toBe('NOT_HELD');
    const badToken = await gql('n1', 'write', RELEASE, { name: 'http/bad', s: a, f: 'seven' });
    expect(badToken.errors?.[0]?.extensions['code']).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql('n1', 'read', LOCK, { name: '' }))).toBe('BAD_USER_INPUT');
    const held = await acquire('n1', a, 'http/bad', 'EXCLUSIVE');
    const token = BigInt(held.data!['acquireLock'].fencingToken as string);
    expect(codeOf(await gql('n1', 'write', RELEASE, { name: 'http/bad', s: a, f: String(token + 5n) }))).toBe('STALE_FENCING_TOKEN');
    expect((await gql('n2', 'read', LOCK, { name: 'http/bad' })).data!['lock'].holders).toHaveLength(1);
    const locks = await gql('n2', 'read', 'query { locks(prefix: "http/bad", first: 10) { name } }');
    expect(locks.data!['locks']).toEqual([{ name: 'http/bad' }]);
    expect(codeOf(await gql('n2', 'read', 'query { locks(first: 0) { name } }'))).toBe('BAD_USER_INPUT');
  });
});

describe('ownership and admin', () => {
  it('keeps a session to its token; admin may use and force-close any; sessions lists own or all', async () => {
    const mine = await openSession('n1', 'write');
    const theirs = await openSession('n2', 'other');
    const granted = await acquire('n1', mine, 'http/owned', 'EXCLUSIVE');
    expect(granted.data!['acquireLock'].status).toBe('GRANTED');

    expect(codeOf(await acquire('n2', mine, 'http/owned2', 'SHARED', 0, {}, 'other'))).toBe('FORBIDDEN');
    expect(codeOf(await gql('n2', 'other', 'mutation($s: ID!) { keepAlive(sessionId: $s) { id } }', { s: mine }))).toBe('FORBIDDEN');
    expect(codeOf(await gql('n2', 'other', RELEASE, { name: 'http/owned', s: mine, f: granted.data!['acquireLock'].fencingToken }))).toBe('FORBIDDEN');
    expect(codeOf(await gql('n2', 'other', 'query($s: ID!) { session(id: $s) { id } }', { s: mine }))).toBe('FORBIDDEN');
    expect((await gql('n3', 'read', LOCK, { name: 'http/owned' })).data!['lock'].holders).toHaveLength(1);

    const own = (await gql('n1', 'write', 'query { sessions { id owner } }')).data!['sessions'] as Array<{ id: string; owner: string }>;
    expect(own.map((s) => s.id)).toContain(mine);
    expect(own.map((s) => s.id)).not.toContain(theirs);
    expect(new Set(own.map((s) => s.owner)).size).toBe(1);
    const all = (await gql('n1', 'admin', 'query { sessions { id holds waits state } }')).data!['sessions'] as Array<{ id: string; holds: string[] }>;
    expect(all.map((s) => s.id)).toEqual(expect.arrayContaining([mine, theirs]));
    expect(all.find((s) => s.id === mine)!.holds).toEqual(['http/owned']);

    expect(codeOf(await gql('n1', 'write', 'mutation($s: ID!) { forceCloseSession(sessionId: $s) { state } }', { s: theirs }))).toBe('FORBIDDEN');
    const forced = await gql('n3', 'admin', 'mutation($s: ID!) { forceCloseSession(sessionId: $s) { id state holds } }', { s: mine });
    expect(forced.data!['forceCloseSession']).toEqual({ id: mine, state: 'CLOSED', holds: [] });
    expect((await gql('n2', 'read', LOCK, { name: 'http/owned' })).data!['lock'].holders).toEqual([]);
  });

  it('answers LOCAL reads from the replica and LINEARIZABLE ones after a read barrier', async () => {
    const a = await openSession('n1');
    await acquire('n1', a, 'http/reads', 'EXCLUSIVE');
    for (const node of ['n1', 'n2', 'n3']) {
      const linear = await gql(node, 'read', LOCK, { name: 'http/reads', c: 'LINEARIZABLE' });
      expect(linear.data!['lock'].holders).toHaveLength(1);
    }
    await waitFor(async () => (await gql('n3', 'read', LOCK, { name: 'http/reads', c: 'LOCAL' })).data?.['lock']?.holders.length === 1, 5_000, 'local replica caught up');
  });

  it('counts grants, waits, timeouts, deadlocks, expiries and hold time in /metrics', async () => {
    const metric = async (node: string, name: string): Promise<number> => {
      const text = (await request(cluster.node(node).server).get('/metrics')).text;
      return text
        .split('\n')
        .filter((line) => line.startsWith(name) && !line.startsWith('#'))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    };
    const before = {
      grants: await metric('n2', 'distsync_lock_grants_total'),
      timeouts: await metric('n2', 'distsync_lock_timeouts_total'),
      holds: await metric('n2', 'distsync_lock_hold_seconds_count'),
      waits: await metric('n2', 'distsync_lock_waits_total'),
    };
    const a = await openSession('n1');
    const b = await openSession('n2');
    const g = await acquire('n1', a, 'http/metrics', 'EXCLUSIVE');
    expect(codeOf(await acquire('n2', b, 'http/metrics', 'EXCLUSIVE', 100))).toBe('LOCK_TIMEOUT');
    await gql('n1', 'write', RELEASE, { name: 'http/metrics', s: a, f: g.data!['acquireLock'].fencingToken });
    await waitFor(async () => (await metric('n2', 'distsync_lock_hold_seconds_count')) === before.holds + 1, 5_000, 'hold time observed on n2');
    expect(await metric('n2', 'distsync_lock_grants_total')).toBe(before.grants + 1);
    expect(await metric('n2', 'distsync_lock_timeouts_total')).toBe(before.timeouts + 1);
    expect(await metric('n2', 'distsync_lock_waits_total')).toBe(before.waits + 1);
    const text = (await request(cluster.node('n2').server).get('/metrics')).text;
    for (const name of ['distsync_lock_deadlocks_total', 'distsync_lock_session_expiries_total', 'distsync_lock_wait_seconds_bucket', 'distsync_lock_sessions', 'distsync_lock_holds']) {
      expect(text).toContain(name);
    }
  });
});
