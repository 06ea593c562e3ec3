/**
 * A lock holder killed with kill -9, across three real processes with default timeouts: its
 * session stops renewing, the leader expires it, and the lock goes to the next waiter within
 * the TTL plus one election — first the holder process alone, then the holder together with
 * the node it talks to (the meta leader), the waiter being on another node. Never before the
 * holder's own lease (last acknowledged renewal sent + TTL) has run out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { loadBuiltLocalCluster } from '../helpers/built.js';
import { waitFor } from '../helpers/wait-for.js';
import { runFixture, type Fixture, type Report } from './lock-fixtures/child.js';
import { ACQUIRE, CLOSE_SESSION, KEEP_ALIVE, OPEN_SESSION, RELEASE, gql, agreedLeader as agreedLeaderOf, leaderOf, type Acquisition } from './lock-fixtures/gql.js';

const LOCK = 'job';
const TTL_MS = 3_000;
/** The election timeout is 500-1000 ms (5 ticks of 100 ms, randomized up to twice that). */
const ELECTION_MS = 1_000;
const MARGIN_MS = 1_000;
const WAIT_MS = 15_000;

let dataRoot: string;
let cluster: LocalCluster;
const fixtures: Fixture[] = [];

/** The leader `nodeIds` all name (other than `not`, a node just killed). */
function agreedLeader(nodeIds: readonly string[], not?: string, timeoutMs = 15_000): Promise<string> {
  return agreedLeaderOf(nodeIds.map((id) => cluster.node(id).url), cluster.readToken, not, timeoutMs);
}

/** A session on `nodeIds` (the first, failing over to the others), renewed every second. */
async function waiterSession(nodeIds: readonly string[]): Promise<{ id: string; stop(): Promise<void> }> {
  const token = cluster.writeToken;
  const id = (await gql<{ openSession: { id: string } }>(cluster.node(nodeIds[0]!).url, token, OPEN_SESSION, { ttl: 5_000 })).openSession.id;
  let renewing = true;
  const loop = (async () => {
    for (let n = 0; renewing; n++) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (!renewing) return;
      await gql(cluster.node(nodeIds[n % nodeIds.length]!).url, token, KEEP_ALIVE, { s: id }, 1_500).catch(() => undefined);
    }
  })();
  return {
    id,
    async stop() {
      renewing = false;
      await loop;
    },
  };
}

async function queued(url: string, sessionId: string): Promise<boolean> {
  const data = await gql<{ lock: { waiters: Array<{ sessionId: string }> } | null }>(
    url,
    cluster.readToken,
    'query($n: String!) { lock(name: $n) { waiters { sessionId } } }',
    { n: LOCK },
  );
  return data.lock?.waiters.some((w) => w.sessionId === sessionId) ?? false;
}

/** When the holder sent the last renewal it saw acknowledged (or acquired, if none came after). */
function lastAckedSend(reports: readonly Report[]): number {
  const holding = reports.find((r) => r.event === 'holding')!;
  const renewals = reports.filter((r) => r.event === 'keepalive').map((r) => Number(r['sentAt']));
  return Math.max(holding.at - 1, ...renewals);
}

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'distsync-lock-kill-'));
  const { LocalCluster } = await loadBuiltLocalCluster();
  cluster = await LocalCluster.create({ nodes: 3, dataRoot, logLevel: 'warn' });
  await cluster.startAll();
});

afterAll(async () => {
  await Promise.all(fixtures.map((f) => f.stop()));
  await cluster?.stopAll();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe('A holder killed with kill -9: its locks go to the next waiter within TTL plus one election', () => {
  /**
   * Starts a holder process on `holderNode`, queues a waiter on `waiterNodes[0]`, runs `kill`
   * (which answers when it sent the first kill), and returns how long the waiter waited after it.
   */
  async function killHolder(holderNode: string, waiterNodes: readonly string[], kill: (holder: Fixture) => Promise<number>) {
    const holder = runFixture('./holder.mjs', {
      DS_URL: cluster.node(holderNode).url,
      DS_TOKEN: cluster.writeToken,
      DS_LOCK: LOCK,
      DS_TTL: String(TTL_MS),
    });
    fixtures.push(holder);
    const holding = await holder.next('holding', 15_000);
    const waiterUrl = cluster.node(waiterNodes[0]!).url;
    const waiter = await waiterSession(waiterNodes);
    try {
      const acquiring = gql<{ acquireLock: Acquisition }>(
        waiterUrl,
        cluster.writeToken,
        ACQUIRE,
        { name: LOCK, s: waiter.id, t: WAIT_MS, r: `waiter-${holderNode}-${Date.now()}` },
        WAIT_MS + 5_000,
      ).then((d) => ({ grant: d.acquireLock, at: Date.now() }));
      acquiring.catch(() => undefined);
      await waitFor(() => queued(waiterUrl, waiter.id), 5_000, 'the waiter is queued');
      // The holder keeps its session through a couple of renewals while the waiter waits.
      await waitFor(() => holder.reports.filter((r) => r.event === 'keepalive' && r.at > holding.at).length >= 2, 5_000, 'renewals');
      const killedAt = await kill(holder);
      const { grant, at } = await acquiring;
      // Every line the dead holder wrote has been read by now.
      const lastSend = lastAckedSend(holder.reports);
      await gql(waiterUrl, cluster.writeToken, RELEASE, { name: LOCK, s: waiter.id, f: grant.fencingToken, r: `release-${grant.requestId}` });
      return { holding, grant, killedAt, grantedAt: at, lastSend, waitedMs: at - killedAt };
    } finally {
      await waiter.stop();
      await gql(waiterUrl, cluster.writeToken, CLOSE_SESSION, { s: waiter.id }).catch(() => undefined);
    }
  }

  it('a holder process: the waiter is granted within TTL + one election, after the lease ran out', async () => {
    const ids = cluster.nodes.map((n) => n.id);
    await agreedLeader(ids);
    const r = await killHolder(ids[0]!, [ids[1]!, ids[2]!], async (holder) => {
      const at = Date.now();
      process.kill(holder.pid, 'SIGKILL');
      await new Promise((resolve) => holder.child.once('exit', resolve));
      return at;
    });
    console.log(
      `holder process killed -9 (token ${String(r.holding['token'])}): waiter granted token ${r.grant.fencingToken} ${r.waitedMs} ms later; ` +
        `the holder's last acknowledged renewal was sent ${r.killedAt - r.lastSend} ms before the kill ` +
        `(its lease ran out ${r.lastSend + TTL_MS - r.killedAt} ms after the kill at the earliest)`,
    );
    expect(r.waitedMs).toBeLessThanOrEqual(TTL_MS + ELECTION_MS + MARGIN_MS);
    expect(r.grantedAt).toBeGreaterThanOrEqual(r.lastSend + TTL_MS);
    expect(BigInt(r.grant.fencingToken!)).toBeGreaterThan(BigInt(String(r.holding['token'])));
  }, 120_000);

  it('a holder and its node (the meta leader) together: the waiter on another node is granted within TTL + one election', async () => {
    const ids = cluster.nodes.map((n) => n.id);
    const leader = await agreedLeader(ids);
    const others = ids.filter((id) => id !== leader);
    let electing: Promise<{ leader: string; at: number }> | undefined;
    let leaderAtKill: string | undefined;
    const r = await killHolder(leader, others, async (holder) => {
      leaderAtKill = await leaderOf(cluster.node(others[0]!).url, cluster.readToken);
      const at = Date.now();
      process.kill(holder.pid, 'SIGKILL');
      await cluster.signal(leader, 'SIGKILL');
      electing = agreedLeader(others, leader).then((l) => ({ leader: l, at: Date.now() }));
      electing.catch(() => undefined);
      return at;
    });
    const { leader: newLeader, at: electedAt } = await electing!;
    console.log(
      `holder and its node ${leader} (the meta leader: ${leaderAtKill}) killed -9 (token ${String(r.holding['token'])}): waiter on ${others[0]} granted token ` +
        `${r.grant.fencingToken} ${r.waitedMs} ms later; new leader ${newLeader} agreed ${electedAt - r.killedAt} ms after the kill; the holder's last acknowledged renewal was sent ` +
        `${r.killedAt - r.lastSend} ms before the kill`,
    );
    expect(r.waitedMs).toBeLessThanOrEqual(TTL_MS + ELECTION_MS + MARGIN_MS);
    expect(r.grantedAt).toBeGreaterThanOrEqual(r.lastSend + TTL_MS);
    expect(BigInt(r.grant.fencingToken!)).toBeGreaterThan(BigInt(String(r.holding['token'])));
  }, 120_000);
});
