/**
 * The meta group through the API on an in-memory three-node cluster: the cluster view's
 * Raft fields, raftEvents, and the transferLeadership admin mutation with its errors.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { bearer, startMemoryCluster } from '../helpers/test-node.js';
import { connect } from '../helpers/ws-client.js';

let cluster: Awaited<ReturnType<typeof startMemoryCluster>>;
beforeAll(async () => {
  cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
});
afterAll(() => cluster.stop());

async function gql(nodeId: string, query: string, scope: 'read' | 'admin' = 'read', variables?: Record<string, unknown>) {
  const res = await request(cluster.node(nodeId).server)
    .post('/graphql')
    .set('content-type', 'application/json')
    .set('authorization', bearer(scope))
    .send(JSON.stringify({ query, variables }));
  return res.body as {
    data?: { cluster: ClusterJson; transferLeadership: { leader: string; term: string } };
    errors?: Array<{ message: string; extensions: { code: string } }>;
  };
}

interface ClusterJson {
  leader: string | null;
  term: string;
  commitIndex: string;
  appliedIndex: string;
  nodes: Array<{ id: string; role: string; matchIndex: string | null; reachable: boolean }>;
}

const VIEW = '{ cluster { leader term commitIndex appliedIndex nodes { id role matchIndex reachable } } }';

describe('the meta group in the API', () => {
  it('shows one leader, 64-bit indexes as strings, and match indexes from the leader', async () => {
    const view = await waitFor(async () => {
      const body = await gql('n1', VIEW);
      return body.data?.cluster.leader ? body.data.cluster : undefined;
    }, 10_000, 'a leader in the view');
    expect(['n1', 'n2', 'n3']).toContain(view.leader);
    expect(view.term).toMatch(/^[1-9]\d*$/);
    expect(Number(view.commitIndex)).toBeGreaterThanOrEqual(1);
    expect(view.nodes.filter((n: { role: string }) => n.role === 'LEADER').map((n: { id: string }) => n.id)).toEqual([view.leader]);
    const fromLeader = await waitFor(async () => {
      const c = (await gql(view.leader!, VIEW)).data!.cluster;
      return c.nodes.every((n: { matchIndex: string | null }) => n.matchIndex !== null && Number(n.matchIndex) >= 1) ? c : undefined;
    }, 5_000, 'match indexes on the leader');
    expect(fromLeader.nodes).toHaveLength(3);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== view.leader)!;
    const fromFollower = (await gql(follower, VIEW)).data!.cluster;
    expect(fromFollower.nodes.every((n: { matchIndex: string | null }) => n.matchIndex === null)).toBe(true);
  });

  it('moves leadership on request and reports it on raftEvents', async () => {
    const leader = (await gql('n1', VIEW)).data!.cluster.leader!;
    const target = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const asker = ['n1', 'n2', 'n3'].find((id) => id !== leader && id !== target)!;
    const events: Array<{ type: string; leader: string | null }> = [];
    const client = connect(cluster.node(asker).url, bearer('read'));
    try {
      client.subscribe<{ raftEvents: { type: string; leader: string | null } }>(
        { query: 'subscription { raftEvents { type group leader role term droppedBefore } }' },
        { next: (r) => r.data && events.push(r.data.raftEvents), error: () => undefined, complete: () => undefined },
      );
      await new Promise((r) => setTimeout(r, 100));
      const moved = await gql(asker, 'mutation T($to: String!) { transferLeadership(to: $to) { leader term } }', 'admin', {
        to: target,
      });
      expect(moved.errors).toBeUndefined();
      expect(moved.data!.transferLeadership.leader).toBe(target);
      await waitFor(() => events.find((e) => e.type === 'LEADER_ELECTED' && e.leader === target), 5_000, 'LEADER_ELECTED');
    } finally {
      await client.dispose();
    }
  });

  it('refuses transferLeadership to a read token and to an unknown member', async () => {
    const denied = await gql('n1', 'mutation { transferLeadership(to: "n2") { leader } }', 'read');
    expect(denied.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const unknown = await gql('n1', 'mutation { transferLeadership(to: "n9") { leader } }', 'admin');
    expect(unknown.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('replicates test-counter writes through the test hook on any node', async () => {
    const hook = (nodeId: string, body?: unknown) => {
      const r = body
        ? request(cluster.node(nodeId).server).post('/test/counter').send(body)
        : request(cluster.node(nodeId).server).get('/test/counter');
      return r.set('authorization', bearer('admin'));
    };
    const writes = await Promise.all(['n1', 'n2', 'n3', 'n1', 'n2', 'n3'].map((id) => hook(id, { add: 2 })));
    expect(writes.map((w) => w.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const id of ['n1', 'n2', 'n3']) {
      expect((await hook(id)).body).toMatchObject({ total: 12, writes: 6 });
    }
    expect((await request(cluster.node('n1').server).get('/test/counter').set('authorization', bearer('read'))).status).toBe(401);
  });

  it('exports Raft metrics', async () => {
    const write = await request(cluster.node('n1').server)
      .post('/test/counter')
      .set('authorization', bearer('admin'))
      .send({ add: 1 });
    expect(write.status).toBe(200);
    const text = (await request(cluster.node('n1').server).get('/metrics')).text;
    const value = (name: string, labels: RegExp = /group="meta"/) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.test(l));
      return Number(line?.split(' ').pop());
    };
    expect(value('distsync_raft_term')).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_commit_index')).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_applied_index')).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_proposals_total', /outcome="committed"/)).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_append_fsync_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_persisted_entries_total')).toBeGreaterThanOrEqual(1);
    expect(value('distsync_raft_leader_changes_total')).toBeGreaterThanOrEqual(1);
  });
});

