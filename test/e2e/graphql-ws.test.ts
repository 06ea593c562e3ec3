/**
 * graphql-ws on /graphql: auth in connectionParams (4403 when refused), queries and
 * mutations through the same pipeline as HTTP, and the clusterEvents subscription when
 * a peer goes down and comes back. Iterators are released when clients go away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node.js';
import { waitFor } from '../helpers/wait-for.js';
import { bearer, startMemoryCluster, startTestNode } from '../helpers/test-node.js';
import { closeCodeOf, connect, once } from '../helpers/ws-client.js';

describe('graphql-ws on one node', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startTestNode({ id: 'ws1' });
  });
  afterAll(() => node.stop());

  it('runs a mutation with variables for a write token', async () => {
    const client = connect(node.url, bearer('write'));
    try {
      const result = await once(client, 'mutation P($m: String!) { ping(message: $m) { message nodeId } }', {
        m: 'over ws',
      });
      expect(result).toEqual({ data: { ping: { message: 'over ws', nodeId: 'ws1' } } });
    } finally {
      await client.dispose();
    }
  });

  it('closes the connection with 4403 without a valid token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0000000000000']) {
      const client = connect(node.url, authorization);
      expect(await closeCodeOf(client)).toBe(4403);
      await client.dispose();
    }
  });

  it('answers FORBIDDEN for an admin field with a read token, and keeps the connection', async () => {
    const client = connect(node.url, bearer('read'));
    try {
      const denied = await once(client, 'mutation { setLogLevel(level: debug) }');
      expect(denied.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(node.services.node.logLevel()).toBe('silent');
      const allowed = await once(client, '{ node { id } }');
      expect(allowed.data).toEqual({ node: { id: 'ws1' } });
    } finally {
      await client.dispose();
    }
  });

  it('answers a syntax error and an unknown field per operation', async () => {
    const client = connect(node.url, bearer('read'));
    try {
      await expect(once(client, '{ node { id ')).rejects.toSatisfy(
        (errors: unknown) => Array.isArray(errors) && String(errors[0]?.message).startsWith('Syntax Error'),
      );
      await expect(once(client, '{ node { colour } }')).rejects.toSatisfy(
        (errors: unknown) => Array.isArray(errors) && String(errors[0]?.message).includes('Cannot query field'),
      );
      expect((await once(client, '{ node { id } }')).data).toEqual({ node: { id: 'ws1' } });
    } finally {
      await client.dispose();
    }
  });
});

describe('clusterEvents', () => {
  it('pushes PEER_DOWN when a peer stops answering and PEER_UP when it returns', async () => {
    const cluster = await startMemoryCluster(['n1', 'n2', 'n3'], { heartbeatIntervalMs: 50, failureTimeoutMs: 300 });
    const n1 = cluster.node('n1');
    const client = connect(n1.url, bearer('read'));
    try {
      await waitFor(() => n1.services.cluster.members().every((m) => m.reachable), 5_000, 'all peers up');
      const listenersBefore = n1.services.cluster.listenerCount();
      const events: Array<{ type: string; nodeId: string; sequence: number; droppedBefore: number }> = [];
      const unsubscribe = client.subscribe<{ clusterEvents: (typeof events)[number] }>(
        { query: 'subscription { clusterEvents { sequence type nodeId at droppedBefore } }' },
        { next: (r) => r.data && events.push(r.data.clusterEvents), error: () => undefined, complete: () => undefined },
      );
      await waitFor(() => n1.services.cluster.listenerCount() > listenersBefore, 5_000, 'subscription active');

      cluster.network.crash('n3');
      await waitFor(() => events.find((e) => e.type === 'PEER_DOWN'), 5_000, 'PEER_DOWN event');
      cluster.network.restart('n3');
      await waitFor(() => events.find((e) => e.type === 'PEER_UP'), 5_000, 'PEER_UP event');

      expect(events.map((e) => [e.type, e.nodeId])).toEqual([
        ['PEER_DOWN', 'n3'],
        ['PEER_UP', 'n3'],
      ]);
      expect(events[1]!.sequence).toBeGreaterThan(events[0]!.sequence);
      expect(events.every((e) => e.droppedBefore === 0)).toBe(true);

      unsubscribe();
      await waitFor(() => n1.services.cluster.listenerCount() === listenersBefore, 5_000, 'listener released');
    } finally {
      await client.dispose();
      await cluster.stop();
    }
  });

  it('releases the subscription when the client disconnects without unsubscribing', async () => {
    const node = await startTestNode({ id: 'solo2' });
    try {
      const before = node.services.cluster.listenerCount();
      const client = connect(node.url, bearer('read'));
      client.subscribe(
        { query: 'subscription { clusterEvents { type } }' },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      await waitFor(() => node.services.cluster.listenerCount() === before + 1, 5_000, 'subscription active');
      await client.dispose();
      await waitFor(() => node.services.cluster.listenerCount() === before, 5_000, 'listener released');
      await waitFor(() => node.graphqlWs.clientCount() === 0, 5_000, 'socket closed on the server');
    } finally {
      await node.stop();
    }
  });
});

describe('graphql-ws liveness', () => {
  it('terminates a connection whose client stops answering pings', async () => {
    const http = await import('node:http');
    const { default: WebSocket } = await import('ws');
    const { createGraphQLWsServer } = await import('../../src/api/graphql-ws.js');
    const { silentLogger } = await import('../../src/log.js');
    const { PreparedDocuments } = await import('../../src/api/prepared-documents.js');
    const node = await startTestNode({ id: 'live1' });
    const graphqlWs = createGraphQLWsServer({
      yoga: node.yoga,
      tokens: { authenticate: () => ({ id: 'tok_test', scope: 'read' }) } as never,
      maxPayloadBytes: 64 * 1024,
      pingIntervalMs: 50,
      deadAfterMs: 150,
      documents: new PreparedDocuments(),
      logger: silentLogger(),
    });
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => graphqlWs.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const healthy = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
      const paused = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
      await Promise.all([healthy, paused].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
      expect(graphqlWs.clientCount()).toBe(2);
      // A paused process reads nothing, so it never answers the server's pings.
      (paused as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitFor(() => graphqlWs.clientCount() === 1, 3_000, 'paused client terminated');
      await new Promise((r) => setTimeout(r, 350)); // several more ping rounds
      expect(healthy.readyState).toBe(WebSocket.OPEN);
      healthy.close();
      paused.terminate();
    } finally {
      await graphqlWs.close();
      await new Promise((resolve) => server.close(resolve));
      await node.stop();
    }
  });
});
