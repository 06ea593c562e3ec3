/**
 * Raft failover across three real processes with default timeouts: kill -9 the meta
 * leader, a new leader is elected within 2 s, no acknowledged write is lost (a replicated
 * test counter), and the killed node restarts from its WAL and catches up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { loadBuiltLocalCluster } from '../helpers/built.js';
import { waitFor } from '../helpers/wait-for.js';

let dataRoot: string;
let cluster: LocalCluster;

interface View {
  leader: string | null;
  term: string;
  commitIndex: string;
  appliedIndex: string;
}

async function view(url: string): Promise<View | undefined> {
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.readToken}` },
      body: JSON.stringify({ query: '{ cluster { leader term commitIndex appliedIndex } }' }),
      signal: AbortSignal.timeout(1_000),
    });
    return ((await res.json()) as { data?: { cluster: View } }).data?.cluster;
  } catch {
    return undefined;
  }
}

async function allReachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.readToken}` },
      body: JSON.stringify({ query: '{ cluster { nodes { reachable } } }' }),
      signal: AbortSignal.timeout(1_000),
    });
    const nodes = ((await res.json()) as { data?: { cluster: { nodes: Array<{ reachable: boolean }> } } }).data?.cluster.nodes;
    return nodes !== undefined && nodes.every((n) => n.reachable);
  } catch {
    return false;
  }
}

async function counter(url: string, add?: number): Promise<{ status: number; body: { total?: number } }> {
  const res = await fetch(`${url}/test/counter`, {
    method: add === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.adminToken}` },
    ...(add === undefined ? {} : { body: JSON.stringify({ add }) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as { total?: number } };
}

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'distsync-raft-mp-'));
  const { LocalCluster } = await loadBuiltLocalCluster();
  cluster = await LocalCluster.create({ nodes: 3, dataRoot, logLevel: 'info', extraArgs: ['--test-hooks', 'true'] });
  await cluster.startAll();
});

afterAll(async () => {
  await cluster?.stopAll();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe('meta group failover across real processes', () => {
  it('elects a new leader within 2 s of kill -9, loses no acknowledged write, and the killed node catches up', async () => {
    const leader = await waitFor(async () => {
      const views = await Promise.all(cluster.nodes.map((n) => view(n.url)));
      const leaders = new Set(views.map((v) => v?.leader));
      return leaders.size === 1 && views[0]?.leader ? views[0].leader : undefined;
    }, 15_000, 'all nodes agree on a leader');

    let acknowledged = 0;
    let failed = 0;
    const write = async (nodeId: string) => {
      try {
        const r = await counter(cluster.node(nodeId).url, 1);
        if (r.status === 200) acknowledged++;
        else failed++;
      } catch {
        failed++; // the node died with the request in flight: it may or may not have applied
      }
    };
    await Promise.all(Array.from({ length: 30 }, (_, i) => write(cluster.nodes[i % 3]!.id)));
    expect(acknowledged).toBe(30);

    const survivors = cluster.nodes.filter((n) => n.id !== leader);
    // Writes keep coming from the survivors while the leader dies.
    const during = Promise.all(Array.from({ length: 20 }, (_, i) => write(survivors[i % 2]!.id)));
    const killedAt = Date.now();
    await cluster.signal(leader, 'SIGKILL');
    const newLeader = await waitFor(async () => {
      const views = await Promise.all(survivors.map((n) => view(n.url)));
      const l = views[0]?.leader;
      return l && l !== leader && views.every((v) => v?.leader === l) ? l : undefined;
    }, 10_000, 'a new leader');
    const electedMs = Date.now() - killedAt;
    console.log(`new leader ${newLeader} agreed by both survivors ${electedMs} ms after kill -9 of ${leader}`);
    expect(electedMs).toBeLessThanOrEqual(2_000);
    await during;

    const totals = await Promise.all(survivors.map((n) => counter(n.url)));
    for (const t of totals) {
      expect(t.body.total).toBeGreaterThanOrEqual(acknowledged);
      expect(t.body.total).toBeLessThanOrEqual(acknowledged + failed);
    }
    console.log(`acknowledged ${acknowledged}, failed ${failed}, total ${totals[0]!.body.total}`);

    cluster.spawnNode(leader);
    await cluster.waitHealthy(leader);
    const caughtUp = await waitFor(async () => {
      const r = await counter(cluster.node(leader).url).catch(() => undefined);
      return r?.status === 200 && r.body.total === totals[0]!.body.total ? r : undefined;
    }, 15_000, 'the restarted node catches up');
    expect(caughtUp.body.total).toBe(totals[0]!.body.total);
    const restartedView = await view(cluster.node(leader).url);
    expect(restartedView?.leader).toBe(newLeader);
  });

  it('hands leadership over on SIGTERM, faster than an election could', async () => {
    // A healthy cluster first: one leader and every link up (the node killed above is back).
    const leader = await waitFor(async () => {
      const views = await Promise.all(cluster.nodes.map((n) => view(n.url)));
      const leaders = new Set(views.map((v) => v?.leader));
      const meshed = (await Promise.all(cluster.nodes.map((n) => allReachable(n.url)))).every(Boolean);
      return meshed && leaders.size === 1 && views[0]?.leader ? views[0].leader : undefined;
    }, 15_000, 'all nodes agree on a leader and reach each other');
    const survivors = cluster.nodes.filter((n) => n.id !== leader);
    const stoppedAt = Date.now();
    const stopping = cluster.signal(leader, 'SIGTERM');
    const next = await waitFor(async () => {
      const views = await Promise.all(survivors.map((n) => view(n.url)));
      const l = views[0]?.leader;
      return l && l !== leader && views.every((v) => v?.leader === l) ? l : undefined;
    }, 10_000, 'a new leader');
    const movedMs = Date.now() - stoppedAt;
    console.log(`leadership moved from ${leader} to ${next} ${movedMs} ms after SIGTERM`);
    await stopping;
    if (movedMs >= 500) console.log(cluster.node(leader).output.slice(-25).join('\n'));
    // The election timeout is 500-1000 ms: a new leader well before that was handed over.
    expect(movedMs).toBeLessThan(500);
    await stopping;
    expect((await counter(survivors[0]!.url, 1)).status).toBe(200);
  });

  it('refuses a node that lost its data dir, so it cannot vote under its old identity', async () => {
    for (const n of cluster.nodes) {
      if (n.child?.exitCode !== null || n.child.signalCode !== null) {
        cluster.spawnNode(n.id);
        await cluster.waitHealthy(n.id);
      }
    }
    const leader = await waitFor(async () => {
      const views = await Promise.all(cluster.nodes.map((n) => view(n.url)));
      return new Set(views.map((v) => v?.leader)).size === 1 ? views[0]?.leader : undefined;
    }, 15_000, 'all three agree on a leader');
    const victim = cluster.nodes.find((n) => n.id !== leader)!;
    const others = cluster.nodes.filter((n) => n !== victim);
    await cluster.signal(victim.id, 'SIGKILL');
    await rm(victim.dataDir, { recursive: true, force: true });
    cluster.spawnNode(victim.id);
    await cluster.waitHealthy(victim.id);
    // Give the wiped node several election timeouts to try.
    await new Promise((r) => setTimeout(r, 3_000));
    const wiped = await view(victim.url);
    expect(wiped?.leader ?? null).toBeNull();
    // Its peers refuse its new incarnation, on their dialers and their servers.
    const refusals = others.flatMap((n) => n.output.filter((line) => line.includes('stale-incarnation')));
    expect(refusals.length).toBeGreaterThan(0);
    for (const other of others) {
      const res = await fetch(`${other.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.readToken}` },
        body: JSON.stringify({ query: '{ cluster { nodes { id reachable } } }' }),
      });
      const nodes = ((await res.json()) as { data: { cluster: { nodes: Array<{ id: string; reachable: boolean }> } } }).data
        .cluster.nodes;
      expect(nodes.find((n) => n.id === victim.id)?.reachable).toBe(false);
    }
  });
});

