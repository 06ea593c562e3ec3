/**
 * Membership changes through the API on an in-memory cluster: a node started with --join
 * is added as a learner, promoted to voter once caught up, receives the replicated state,
 * and is removed again; bad requests answer with their codes.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node.js';
import { waitFor } from '../helpers/wait-for.js';
import { bearer, startMemoryCluster, startTestNode } from '../helpers/test-node.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;
let joiner: RunningNode | undefined;
beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
});
afterAll(async () => {
  await joiner?.stop();
  await cluster.stop();
});

interface Member {
  id: string;
  role: string;
}

async function gql(node: RunningNode, query: string, variables?: Record<string, unknown>, scope: 'admin' | 'read' = 'admin') {
  const res = await request(node.server)
    .post('/graphql')
    .set('content-type', 'application/json')
    .set('authorization', bearer(scope))
    .send(JSON.stringify({ query, variables }));
  return res.body as {
    data?: Record<string, { id: string; nodes: Member[]; leader: string | null }>;
    errors?: Array<{ message: string; extensions: { code: string } }>;
  };
}

const counter = (node: RunningNode, add?: number) =>
  (add === undefined ? request(node.server).get('/test/counter') : request(node.server).post('/test/counter').send({ add })).set(
    'authorization',
    bearer('admin'),
  );

describe('membership through the API', () => {
  it('adds a joining node as a learner, promotes it, and replicates to it', async () => {
    const n2 = cluster.node('n2');
    await waitFor(async () => (await gql(n2, '{ cluster { leader } }')).data?.['cluster']?.leader, 10_000, 'a leader');
    expect((await counter(n2, 5)).status).toBe(200);
    const clusterId = (await gql(n2, '{ cluster { id } }')).data!['cluster']!.id;
    expect(clusterId).toMatch(/^[0-9a-f]{16}$/);

    joiner = await startTestNode(
      {
        id: 'n4',
        peers: ['n1', 'n2', 'n3'].map((id) => ({ id, address: `memory:${id}` })),
        overrides: { join: true, clusterId },
      },
      { transport: cluster.network.createTransport('n4') },
    );
    expect(joiner.identity.bootstrapVoters).toEqual([]);

    const added = await gql(n2, 'mutation A($id: String!, $a: String!) { addNode(id: $id, address: $a) { nodes { id role } } }', {
      id: 'n4',
      a: '127.0.0.1:19004', // the in-memory network ignores addresses
    });
    expect(added.errors, JSON.stringify(added.errors)).toBeUndefined();
    expect(added.data!['addNode']!.nodes.find((n) => n.id === 'n4')?.role).toMatch(/^(LEARNER|FOLLOWER)$/);

    await waitFor(async () => {
      const view = (await gql(cluster.node('n1'), '{ cluster { nodes { id role } } }')).data!['cluster']!;
      return view.nodes.find((n) => n.id === 'n4')?.role === 'FOLLOWER';
    }, 10_000, 'n4 promoted to voter');
    const seen = await waitFor(async () => {
      const r = await counter(joiner!);
      const body = r.body as { total: number };
      return r.status === 200 && body.total === 5 ? body : undefined;
    }, 10_000, 'n4 has the replicated counter');
    expect(seen.total).toBe(5);
    expect(joiner.services.meta.status().config.voters).toContain('n4');
  });

  it('refuses bad membership requests with their codes', async () => {
    const n1 = cluster.node('n1');
    const again = await gql(n1, 'mutation { addNode(id: "n2", address: "127.0.0.1:1") { id } }');
    expect(again.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const badAddress = await gql(n1, 'mutation { addNode(id: "n9", address: "nowhere") { id } }');
    expect(badAddress.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const badId = await gql(n1, 'mutation { addNode(id: "no spaces", address: "127.0.0.1:1") { id } }');
    expect(badId.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const unknown = await gql(n1, 'mutation { removeNode(id: "n9") { id } }');
    expect(unknown.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const forbidden = await gql(n1, 'mutation { removeNode(id: "n4") { id } }', undefined, 'read');
    expect(forbidden.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('removes a member, and the others keep committing', async () => {
    const n3 = cluster.node('n3');
    const removed = await gql(n3, 'mutation { removeNode(id: "n4") { nodes { id } } }');
    expect(removed.errors).toBeUndefined();
    expect(removed.data!['removeNode']!.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    await waitFor(() => cluster.nodes.every((n) => !n.services.meta.status().config.voters.includes('n4')), 5_000, 'n4 gone everywhere');
    expect((await counter(n3, 1)).status).toBe(200);
  });
});
