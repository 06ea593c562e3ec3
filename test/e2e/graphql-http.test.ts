/**
 * GraphQL over HTTP, end to end through the node's own server (supertest): the node and
 * cluster queries, errors with their status and `extensions.code`, and auth.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node.js';
import { waitFor } from '../helpers/wait-for.js';
import { bearer, startMemoryCluster, startTestNode } from '../helpers/test-node.js';

const GQL_RESPONSE = 'application/graphql-response+json';

describe('GraphQL over HTTP on one node', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startTestNode({ id: 'solo' });
  });
  afterAll(() => node.stop());

  const post = (body: unknown, scope: 'admin' | 'write' | 'read' | null = 'read', accept?: string) => {
    let req = request(node.server).post('/graphql').set('content-type', 'application/json');
    if (scope) req = req.set('authorization', bearer(scope));
    if (accept) req = req.set('accept', accept);
    return req.send(JSON.stringify(body));
  };

  it('answers the node query', async () => {
    const res = await post({ query: '{ node { id version uptimeMs address } }' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.node).toMatchObject({ id: 'solo', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(res.body.data.node.uptimeMs).toBeGreaterThan(0);
  });

  it('runs a mutation with variables and an operation name', async () => {
    const res = await post(
      {
        query: 'mutation Ping($m: String!) { ping(message: $m) { message nodeId receivedAt } }',
        variables: { m: 'hello' },
        operationName: 'Ping',
      },
      'write',
    );
    expect(res.status).toBe(200);
    expect(res.body.data.ping).toMatchObject({ message: 'hello', nodeId: 'solo' });
    expect(Math.abs(res.body.data.ping.receivedAt - Date.now())).toBeLessThan(10_000);
  });

  it('reports a syntax error: 200 under application/json, 400 under graphql-response+json', async () => {
    const json = await post({ query: '{ node { id ' });
    expect(json.status).toBe(200);
    expect(json.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(json.body.data).toBeUndefined();
    const strict = await post({ query: '{ node { id ' }, 'read', GQL_RESPONSE);
    expect(strict.status).toBe(400);
    expect(strict.headers['content-type']).toContain(GQL_RESPONSE);
    expect(JSON.parse(strict.text).errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('reports an unknown field as a validation error', async () => {
    const json = await post({ query: '{ node { id colour } }' });
    expect(json.status).toBe(200);
    expect(json.body.errors[0]).toMatchObject({
      message: 'Cannot query field "colour" on type "NodeInfo".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    const strict = await post({ query: '{ node { id colour } }', variables: {} }, 'read', GQL_RESPONSE);
    expect(strict.status).toBe(400);
    expect(JSON.parse(strict.text).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a request without a token: 401, UNAUTHENTICATED, WWW-Authenticate', async () => {
    const res = await post({ query: '{ node { id } }' }, null);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
    expect(res.body.data).toBeUndefined();
  });

  it('refuses an unknown token and a malformed header the same way', async () => {
    for (const header of ['Bearer not-a-configured-token-000', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const res = await request(node.server)
        .post('/graphql')
        .set('content-type', 'application/json')
        .set('authorization', header)
        .send(JSON.stringify({ query: '{ node { id } }' }));
      expect(res.status, header).toBe(401);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers FORBIDDEN when a read token calls an admin field, and leaves the level unchanged', async () => {
    const res = await post({ query: 'mutation { setLogLevel(level: debug) }' }, 'read');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0]).toMatchObject({
      path: ['setLogLevel'],
      extensions: { code: 'FORBIDDEN', retryable: false },
    });
    expect(node.services.node.logLevel()).toBe('silent');
  });

  it('answers FORBIDDEN for a write field with a read token, but serves the read fields beside it', async () => {
    const res = await post({ query: 'mutation { ping(message: "x") { message } }' }, 'read');
    expect(res.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const mixed = await post({ query: '{ node { id } }' }, 'read');
    expect(mixed.body.data.node.id).toBe('solo');
  });

  it('lets an admin change the log level, and returns the previous one', async () => {
    const res = await post({ query: 'mutation { setLogLevel(level: warn) }' }, 'admin');
    expect(res.body).toEqual({ data: { setLogLevel: 'silent' } });
    expect(node.services.node.logLevel()).toBe('warn');
    await post({ query: 'mutation { setLogLevel(level: silent) }' }, 'admin');
  });

  it('rejects bad input to ping with BAD_USER_INPUT', async () => {
    const res = await post({ query: 'mutation { ping(message: "' + 'x'.repeat(2000) + '") { message } }' }, 'write');
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('rejects a variable of the wrong type', async () => {
    const res = await post(
      { query: 'mutation P($m: String!) { ping(message: $m) { message } }', variables: { m: 42 } },
      'write',
    );
    expect(res.body.errors[0].message).toContain('String cannot represent');
    expect(res.body.data).toBeUndefined();
  });

  it('answers malformed JSON with 400, and a missing query with 400 under graphql-response+json', async () => {
    const malformed = await request(node.server)
      .post('/graphql')
      .set('content-type', 'application/json')
      .set('authorization', bearer('read'))
      .send('{"query": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].extensions.code).toBe('BAD_REQUEST');
    const missing = await post({ variables: {} }, 'read', GQL_RESPONSE);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text).errors[0].message).toBe('Must provide query string.');
  });

  it('refuses a body over the request limit with 413', async () => {
    const res = await post({ query: `{ node { id } } # ${'x'.repeat(70 * 1024)}` });
    expect(res.status).toBe(413);
  });

  it('masks unexpected errors', async () => {
    const services = node.services.node;
    const original = services.uptimeMs.bind(services);
    (node.services.node as { uptimeMs: () => number }).uptimeMs = () => {
      throw new Error('secret internal detail');
    };
    try {
      const res = await post({ query: '{ node { uptimeMs } }' });
      expect(res.body.errors[0].message).toBe('Unexpected error.');
      expect(res.text).not.toContain('secret internal detail');
    } finally {
      (node.services.node as { uptimeMs: () => number }).uptimeMs = original;
    }
  });

  it('serves GraphiQL to a browser with example operations', async () => {
    const res = await request(node.server).get('/graphql').set('accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.text).toContain('subscription WatchCluster');
    // Everything the page loads comes from this node, so it works without internet access.
    expect(res.text).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
    const assets = [...res.text.matchAll(/\/graphiql\/[A-Za-z0-9._/-]+/g)].map((m) => m[0]);
    expect(new Set(assets).size).toBeGreaterThanOrEqual(5);
    for (const asset of new Set(assets)) {
      const served = await request(node.server).get(asset);
      expect(served.status, asset).toBe(200);
      expect(served.headers['content-type']).toMatch(/^text\/(css|javascript)/);
    }
    expect((await request(node.server).get('/graphiql/../package.json')).status).toBe(404);
  });

  it('answers a GET query through yoga', async () => {
    const res = await request(node.server)
      .get('/graphql')
      .query({ query: '{ node { id } }' })
      .set('authorization', bearer('read'))
      .set('accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.body.data.node.id).toBe('solo');
  });

  it('serves /health, /ready and /metrics', async () => {
    expect((await request(node.server).get('/health')).body).toEqual({ status: 'ok', node: 'solo' });
    // Ready once the node's Raft group has a leader (a lone node elects itself).
    await waitFor(async () => (await request(node.server).get('/ready')).status === 200, 10_000, 'ready');
    const metrics = await request(node.server).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    expect(metrics.text).toMatch(
      /distsync_graphql_operations_total\{operation="Ping",type="mutation",outcome="success",node="solo"\} [1-9]/,
    );
    expect(metrics.text).toMatch(/distsync_graphql_operations_total\{[^}]*outcome="unauthenticated"[^}]*\} [1-9]/);
    expect(metrics.text).toMatch(/distsync_graphql_operations_total\{[^}]*outcome="invalid"[^}]*\} [1-9]/);
    expect(metrics.text).toContain('distsync_graphql_operation_duration_seconds_bucket');
  });
});

describe('the cluster query', () => {
  it('lists every member with its reachability, this node included', async () => {
    const cluster = await startMemoryCluster(['n1', 'n2', 'n3']);
    try {
      const query = async () =>
        (
          await request(cluster.node('n1').server)
            .post('/graphql')
            .set('content-type', 'application/json')
            .set('authorization', bearer('read'))
            .send(JSON.stringify({ query: '{ cluster { nodes { id address self reachable lastSeenMs rttMs } } }' }))
        ).body.data.cluster.nodes as Array<Record<string, unknown>>;
      const nodes = await waitFor(async () => {
        const view = await query();
        return view.every((n) => n['reachable'] && n['rttMs'] !== null) ? view : undefined;
      }, 5_000, 'every member reachable with an RTT');
      expect(nodes.map((n) => n['id'])).toEqual(['n1', 'n2', 'n3']);
      expect(nodes[0]).toMatchObject({ self: true, lastSeenMs: 0 });
      expect(nodes[1]).toMatchObject({ id: 'n2', address: 'memory:n2', self: false });
      expect(nodes[1]!['lastSeenMs']).toBeGreaterThanOrEqual(0);
      cluster.network.crash('n3');
      const after = await waitFor(async () => {
        const view = await query();
        return view.find((n) => n['id'] === 'n3' && n['reachable'] === false) ? view : undefined;
      }, 5_000, 'n3 reported unreachable');
      expect(after.find((n) => n['id'] === 'n2')!['reachable']).toBe(true);
      // Two of three still elect a leader, so n1 stays (or becomes again) ready.
      await waitFor(
        async () => (await request(cluster.node('n1').server).get('/ready')).status === 200,
        10_000,
        'n1 ready with n3 down',
      );
    } finally {
      await cluster.stop();
    }
  });
});
