/**
 * Assembles one node: data dir identity, peer transport, cluster service, GraphQL
 * (yoga, lean POST path, graphql-ws), metrics and the http.Server, and stops them in
 * reverse order. Tests inject a transport (the in-memory network) and a logger.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { buildSchema } from '../schema/index.js';
import { TokenRegistry } from './api/auth.js';
import type { NodeServices } from './api/context.js';
import { createGraphQLApp, type GraphQLApp } from './api/graphql-app.js';
import { createGraphQLWsServer, type GraphQLWsServer } from './api/graphql-ws.js';
import { createHttpServer, type UpgradeHandler } from './api/http-server.js';
import { createLeanGraphQLHandler } from './api/lean-http.js';
import { NodeMetrics } from './api/metrics.js';
import { formatAddress, type NodeConfig } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { ClusterService } from './services/cluster-service.js';
import type { PeerTransport } from './transport/types.js';
import { WsPeerTransport } from './transport/ws-transport.js';
import { RealScheduler, type Scheduler } from './util/scheduler.js';
import { VERSION } from './version.js';

export interface StartNodeOptions {
  readonly logger?: Logger;
  /** A transport to use instead of WebSocket peer links (tests: the in-memory network). */
  readonly transport?: PeerTransport & Partial<UpgradeHandler>;
  readonly scheduler?: Scheduler;
}

export interface RunningNode {
  readonly config: NodeConfig;
  readonly port: number;
  /** http://host:port of this node's listener. */
  readonly url: string;
  readonly services: NodeServices;
  readonly metrics: NodeMetrics;
  readonly yoga: GraphQLApp;
  readonly server: http.Server;
  readonly graphqlWs: GraphQLWsServer;
  stop(): Promise<void>;
}

/** Writes the node id into the data dir, or refuses a data dir that belongs to another node. */
async function claimDataDir(dataDir: string, nodeId: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, 'node.json');
  let existing: string | undefined;
  try {
    existing = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== undefined) {
    const stored = (JSON.parse(existing) as { nodeId?: unknown }).nodeId;
    if (stored !== nodeId) {
      throw new Error(`data dir ${dataDir} belongs to node "${String(stored)}", not "${nodeId}"`);
    }
    return;
  }
  const temp = `${file}.tmp`;
  await writeFile(temp, JSON.stringify({ nodeId, createdAt: new Date().toISOString() }) + '\n');
  await rename(temp, file);
}

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.id });
  const scheduler = options.scheduler ?? new RealScheduler();
  await claimDataDir(config.dataDir, config.id);

  const metrics = new NodeMetrics({ nodeId: config.id });
  const address = formatAddress(config.advertise);
  const transport =
    options.transport ??
    new WsPeerTransport({
      selfId: config.id,
      peers: config.peers,
      clusterSecret: config.clusterSecret,
      logger: logger.child({ component: 'peer-link' }),
      maxFrameBytes: config.maxFrameBytes,
      maxQueueBytes: config.sendQueueBytes,
    });
  const cluster = new ClusterService({
    self: { id: config.id, address },
    peers: config.peers,
    transport,
    scheduler,
    logger: logger.child({ component: 'cluster' }),
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    failureTimeoutMs: config.failureTimeoutMs,
  });
  metrics.observePeers(() => cluster.members().filter((m) => !m.self));

  const startedAt = performance.now();
  const services: NodeServices = {
    node: {
      id: config.id,
      version: VERSION,
      address,
      uptimeMs: () => performance.now() - startedAt,
      logLevel: () => logger.level,
      setLogLevel: (level) => {
        logger.level = level;
      },
    },
    cluster,
  };
  const tokens = new TokenRegistry(config.tokens);
  const yoga = createGraphQLApp({
    schema: buildSchema(),
    services,
    tokens,
    metrics,
    logger,
    corsOrigins: config.corsOrigins,
    graphiql: config.graphiql,
    maxRequestBytes: config.maxRequestBytes,
  });
  const graphqlWs = createGraphQLWsServer({ yoga, tokens, maxPayloadBytes: config.maxRequestBytes, logger });
  const server = createHttpServer({
    nodeId: config.id,
    yoga,
    leanGraphQL: createLeanGraphQLHandler({
      yoga,
      maxRequestBytes: config.maxRequestBytes,
      corsEnabled: config.corsOrigins.length > 0,
    }),
    graphqlWs,
    peerLinks: transport.handleUpgrade ? (transport as UpgradeHandler) : undefined,
    metrics,
    graphiql: config.graphiql,
    isReady: () =>
      cluster.hasQuorumView() ? { ready: true } : { ready: false, reason: 'fewer than a majority of members reachable' },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  cluster.start();
  logger.info({ listen: `${config.listen.host}:${port}`, peers: config.peers.map((p) => p.id) }, 'node started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      cluster.stop();
      await graphqlWs.close();
      await transport.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      logger.info('node stopped');
    })();
    return stopping;
  };

  return {
    config,
    port,
    url: `http://${formatAddress({ host: config.listen.host, port })}`,
    services,
    metrics,
    yoga,
    server,
    graphqlWs,
    stop,
  };
}
