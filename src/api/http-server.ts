/**
 * The node's one http.Server: routes plain requests (/health, /ready, /metrics,
 * POST /graphql on the lean path, everything else to yoga) and WebSocket upgrades
 * (/graphql to graphql-ws, /cluster to the peer transport). Open sockets are tracked so
 * stop() ends them instead of waiting for idle keep-alive connections.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GRAPHIQL_ASSET_PREFIX, serveGraphiQLAsset } from './graphiql-assets.js';
import type { GraphQLApp } from './graphql-app.js';
import type { GraphQLWsServer } from './graphql-ws.js';
import type { NodeHandler } from './lean-http.js';
import type { NodeMetrics } from './metrics.js';
import { TEST_HOOK_PREFIX, type TestHooks } from './test-hooks.js';

export interface UpgradeHandler {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface HttpServerOptions {
  readonly nodeId: string;
  readonly yoga: GraphQLApp;
  readonly leanGraphQL: NodeHandler;
  readonly graphqlWs: GraphQLWsServer;
  readonly peerLinks: UpgradeHandler | undefined;
  readonly metrics: NodeMetrics;
  /** Serve GraphiQL's assets (with GraphiQL itself enabled). */
  readonly graphiql: boolean;
  /** Test-only routes under /test/ (absent unless the node runs with --test-hooks). */
  readonly testHooks?: TestHooks;
  /** Readiness: joined the cluster and (once Raft exists) a leader is known. */
  readonly isReady: () => { ready: boolean; reason?: string };
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(payload);
}

export function createHttpServer(options: HttpServerOptions): http.Server {
  const server = http.createServer((req, res) => {
    const path = pathOf(req.url);
    if (path === '/graphql' && req.method === 'POST') return options.leanGraphQL(req, res);
    if (options.testHooks && path.startsWith(TEST_HOOK_PREFIX)) return options.testHooks.handle(req, res, path);
    if (req.method === 'GET' || req.method === 'HEAD') {
      switch (path) {
        case '/health':
          return json(res, 200, { status: 'ok', node: options.nodeId });
        case '/ready': {
          const { ready, reason } = options.isReady();
          return json(res, ready ? 200 : 503, { ready, node: options.nodeId, ...(reason ? { reason } : {}) });
        }
        case '/metrics':
          void options.metrics.registry.metrics().then(
            (text) => {
              res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
              res.end(text);
            },
            () => json(res, 500, { error: 'metrics unavailable' }),
          );
          return;
        default:
          if (options.graphiql && path.startsWith(GRAPHIQL_ASSET_PREFIX) && serveGraphiQLAsset(path, res)) return;
          break;
      }
    }
    void options.yoga.requestListener(req, res);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = pathOf(req.url);
    if (path === '/graphql') return options.graphqlWs.handleUpgrade(req, socket, head);
    if (path === '/cluster' && options.peerLinks) return options.peerLinks.handleUpgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  // Keep-alive must outlive typical client pools; headers time out to bound slowloris.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
