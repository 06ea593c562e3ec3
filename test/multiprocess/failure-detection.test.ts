/**
 * Three real node processes (the built JavaScript) on free loopback ports: they see each
 * other; after `kill -9` of one, the other two report it down within the failure timeout
 * plus one heartbeat interval (measured by the nodes' own event timestamps); restarted,
 * it is reported up again, and it sees the others.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { loadBuiltLocalCluster } from '../helpers/built.js';
import { waitFor } from '../helpers/wait-for.js';
import { connect } from '../helpers/ws-client.js';

const HEARTBEAT_MS = 100;
const FAILURE_TIMEOUT_MS = 1000;

interface Member {
  id: string;
  reachable: boolean;
}

let dataRoot: string;
let cluster: LocalCluster;

async function clusterView(url: string, token: string): Promise<Member[] | undefined> {
  try {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ cluster { nodes { id reachable } } }' }),
    });
    const body = (await res.json()) as { data?: { cluster: { nodes: Member[] } } };
    return body.data?.cluster.nodes;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'distsync-mp-'));
  const { LocalCluster } = await loadBuiltLocalCluster();
  cluster = await LocalCluster.create({
    nodes: 3,
    dataRoot,
    logLevel: 'warn',
    extraArgs: ['--heartbeat-interval-ms', String(HEARTBEAT_MS), '--failure-timeout-ms', String(FAILURE_TIMEOUT_MS)],
  });
  await cluster.startAll();
});

afterAll(async () => {
  await cluster?.stopAll();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe('failure detection across real processes', () => {
  it('three nodes see each other', async () => {
    for (const node of cluster.nodes) {
      const view = await waitFor(
        async () => {
          const members = await clusterView(node.url, cluster.readToken);
          return members?.every((m) => m.reachable) ? members : undefined;
        },
        10_000,
        `${node.id} sees every member`,
      );
      expect(view.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    }
  });

  it('reports a kill -9 peer down within timeout + one heartbeat, and up after restart', async () => {
    type Event = { type: string; nodeId: string; at: number };
    const events = new Map<string, Event[]>([['n1', []], ['n2', []]]);
    const clients = ['n1', 'n2'].map((id) => {
      const client = connect(cluster.node(id).url, `Bearer ${cluster.readToken}`);
      client.subscribe<{ clusterEvents: Event }>(
        { query: 'subscription { clusterEvents { type nodeId at } }' },
        {
          next: (r) => r.data && events.get(id)!.push(r.data.clusterEvents),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      return client;
    });
    try {
      // Let both subscriptions start before the kill.
      await new Promise((r) => setTimeout(r, 300));
      const killedAt = Date.now();
      await cluster.signal('n3', 'SIGKILL');

      for (const id of ['n1', 'n2']) {
        const down = await waitFor(
          () => events.get(id)!.find((e) => e.type === 'PEER_DOWN' && e.nodeId === 'n3'),
          FAILURE_TIMEOUT_MS + HEARTBEAT_MS + 5_000,
          `${id} reports n3 down`,
        );
        const detectionMs = down.at - killedAt;
        console.log(`${id} reported n3 down ${detectionMs} ms after kill -9`);
        expect(detectionMs).toBeLessThanOrEqual(FAILURE_TIMEOUT_MS + HEARTBEAT_MS);
        const view = await clusterView(cluster.node(id).url, cluster.readToken);
        expect(view?.find((m) => m.id === 'n3')?.reachable).toBe(false);
        expect(view?.filter((m) => m.reachable).map((m) => m.id)).toEqual(['n1', 'n2'].sort());
      }

      const restartedAt = Date.now();
      cluster.spawnNode('n3');
      await cluster.waitHealthy('n3');
      for (const id of ['n1', 'n2']) {
        const up = await waitFor(
          () => events.get(id)!.find((e) => e.type === 'PEER_UP' && e.nodeId === 'n3'),
          10_000,
          `${id} reports n3 up`,
        );
        console.log(`${id} reported n3 up ${up.at - restartedAt} ms after restart`);
      }
      await waitFor(
        async () => (await clusterView(cluster.node('n3').url, cluster.readToken))?.every((m) => m.reachable),
        10_000,
        'restarted n3 sees every member',
      );
    } finally {
      await Promise.all(clients.map(async (c) => c.dispose()));
    }
  });
});
