/**
 * Growing and shrinking a cluster of real processes: a fourth node started with --join is
 * added through GraphQL over WebSocket peer links (its peers learn its address from the
 * replicated membership), is promoted to voter, holds the replicated state, and is removed.
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

async function gql<T>(url: string, query: string, token: string): Promise<{ data?: T; errors?: Array<{ message: string }> }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
}

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'distsync-members-mp-'));
  const { LocalCluster } = await loadBuiltLocalCluster();
  cluster = await LocalCluster.create({ nodes: 3, dataRoot, logLevel: 'warn', extraArgs: ['--test-hooks', 'true'] });
  await cluster.startAll();
});

afterAll(async () => {
  await cluster?.stopAll();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe('membership across real processes', () => {
  it('adds a joining node, promotes it, replicates to it, and removes it', async () => {
    const n1 = cluster.node('n1');
    const { data } = await waitFor(async () => {
      const r = await gql<{ cluster: { id: string; leader: string | null } }>(n1.url, '{ cluster { id leader } }', cluster.readToken);
      return r.data?.cluster.leader ? r : undefined;
    }, 15_000, 'a leader');
    const write = await fetch(`${n1.url}/test/counter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.adminToken}` },
      body: JSON.stringify({ add: 7 }),
    });
    expect(write.status).toBe(200);

    const n4 = await cluster.addNode('n4', ['--join', 'true', '--cluster-id', data!.cluster.id]);
    cluster.spawnNode('n4');
    await cluster.waitHealthy('n4');
    const added = await gql<{ addNode: { nodes: Array<{ id: string }> } }>(
      cluster.node('n2').url,
      `mutation { addNode(id: "n4", address: "127.0.0.1:${n4.port}") { nodes { id } } }`,
      cluster.adminToken,
    );
    expect(added.errors).toBeUndefined();

    await waitFor(async () => {
      const r = await gql<{ cluster: { nodes: Array<{ id: string; role: string; reachable: boolean }> } }>(
        n1.url,
        '{ cluster { nodes { id role reachable } } }',
        cluster.readToken,
      );
      const member = r.data?.cluster.nodes.find((n) => n.id === 'n4');
      return member?.role === 'FOLLOWER' && member.reachable;
    }, 15_000, 'n4 promoted and reachable').catch(async (error: unknown) => {
      const views = await Promise.all(cluster.nodes.map((n) => gql(n.url, '{ cluster { leader nodes { id role reachable matchIndex } } }', cluster.readToken).catch((e: unknown) => String(e))));
      console.log(JSON.stringify(views, null, 1));
      for (const n of cluster.nodes) console.log(n.id, n.output.slice(-8).join('\n'));
      throw error;
    });
    await waitFor(async () => {
      const r = await fetch(`${n4.url}/test/counter`, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
      return r.status === 200 && ((await r.json()) as { total: number }).total === 7;
    }, 15_000, 'n4 holds the replicated counter');

    const removed = await gql<{ removeNode: { nodes: Array<{ id: string }> } }>(
      n1.url,
      'mutation { removeNode(id: "n4") { nodes { id } } }',
      cluster.adminToken,
    );
    expect(removed.errors).toBeUndefined();
    expect(removed.data!.removeNode.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    await cluster.signal('n4', 'SIGTERM');
  });
});
