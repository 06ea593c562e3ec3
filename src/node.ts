/**
 * Assembles one node: data dir identity, peer transport, cluster service, GraphQL
 * (yoga, lean POST path, graphql-ws), metrics and the http.Server, and stops them in
 * reverse order. Tests inject a transport (the in-memory network) and a logger.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { buildSchema } from '../schema/index.js';
import { TokenRegistry } from './api/auth.js';
import type { NodeServices } from './api/context.js';
import { createGraphQLApp, type GraphQLApp } from './api/graphql-app.js';
import { PreparedDocuments } from './api/prepared-documents.js';
import { createGraphQLWsServer, type GraphQLWsServer } from './api/graphql-ws.js';
import { createHttpServer, type UpgradeHandler } from './api/http-server.js';
import { createLeanGraphQLHandler } from './api/lean-http.js';
import { NodeMetrics } from './api/metrics.js';
import { formatAddress, type NodeConfig } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { ClusterService } from './services/cluster-service.js';
import { MetaService } from './services/meta-service.js';
import { TestCounterModule } from './cluster/test-counter.js';
import { loadOrCreateIdentity, type NodeIdentity } from './cluster/node-identity.js';
import { PersistedIncarnationPins } from './cluster/peer-pins.js';
import { MembersModule } from './cluster/members-module.js';
import { LockModule } from './lock/meta-module.js';
import { LockService } from './services/lock-service.js';
import { LockEventLog } from './services/lock-event-log.js';
import { SessionRenewer } from './services/session-renewer.js';
import { LockMetrics } from './api/lock-metrics.js';
import { startMembershipSync, type PeerLinks } from './services/membership-sync.js';
import { createTestHooks } from './api/test-hooks.js';
import { systemRandom, type Random } from './util/random.js';
import type { PeerTransport } from './transport/types.js';
import { WsPeerTransport } from './transport/ws-transport.js';
import { RealScheduler, type Scheduler } from './util/scheduler.js';
import { VERSION } from './version.js';

export interface StartNodeOptions {
  readonly logger?: Logger;
  /** A transport to use instead of WebSocket peer links (tests: the in-memory network). */
  readonly transport?: PeerTransport & Partial<UpgradeHandler>;
  readonly scheduler?: Scheduler;
  readonly random?: Random;
}

export interface RunningNode {
  readonly config: NodeConfig;
  readonly port: number;
  /** http://host:port of this node's listener. */
  readonly url: string;
  readonly services: NodeServices;
  readonly identity: NodeIdentity;
  readonly metrics: NodeMetrics;
  readonly yoga: GraphQLApp;
  readonly server: http.Server;
  readonly graphqlWs: GraphQLWsServer;
  stop(): Promise<void>;
}

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.id });
  const scheduler = options.scheduler ?? new RealScheduler();
  const identity = await loadOrCreateIdentity(
    config.dataDir,
    config.id,
    [config.id, ...config.peers.map((p) => p.id)],
    config.join && config.clusterId ? { join: { clusterId: config.clusterId } } : {},
  );

  const metrics = new NodeMetrics({ nodeId: config.id });
  const address = formatAddress(config.advertise);
  const pins = await PersistedIncarnationPins.load(config.dataDir, logger.child({ component: 'peer-pins' }));
  const transport =
    options.transport ??
    new WsPeerTransport({
      selfId: config.id,
      peers: config.peers,
      clusterSecret: config.clusterSecret,
      logger: logger.child({ component: 'peer-link' }),
      maxFrameBytes: config.maxFrameBytes,
      maxQueueBytes: config.sendQueueBytes,
      identity: { clusterId: identity.clusterId, incarnation: identity.incarnation },
      incarnations: pins,
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
  const testCounter = new TestCounterModule();
  const members = new MembersModule();
  const locks = new LockModule();
  // Attached before the WAL replays, so a restarted node's history starts at its snapshot.
  const lockEvents = new LockEventLog();
  locks.onEvents((events) => lockEvents.append(events));
  locks.onRestore((lastIndex) => lockEvents.gap(lastIndex));
  const lockMetrics = new LockMetrics(metrics.registry, locks);
  lockMetrics.attach();
  const meta = await MetaService.open({
    selfId: config.id,
    voters: identity.bootstrapVoters,
    dataDir: config.dataDir,
    transport,
    scheduler,
    random: options.random ?? systemRandom(),
    logger,
    modules: [members, locks, testCounter],
    fsync: config.fsync,
    tickMs: config.raftTickMs,
    electionTick: config.electionTicks,
    requestTimeoutMs: config.requestTimeoutMs,
    observer: metrics.raftObserver('meta'),
  });
  metrics.observeRaft(() => {
    const s = meta.status();
    return [{ group: 'meta', term: s.term, commit: s.commit, applied: meta.appliedIndex(), isLeader: s.role === 'leader' }];
  });

  const lockService = new LockService({
    selfId: config.id,
    meta,
    locks,
    scheduler,
    logger: logger.child({ component: 'locks' }),
    observer: lockMetrics,
  });
  const startedAt = performance.now();
  const services: NodeServices = {
    node: {
      id: config.id,
      version: VERSION,
      address,
      clusterId: identity.clusterId,
      uptimeMs: () => performance.now() - startedAt,
      logLevel: () => logger.level,
      setLogLevel: (level) => {
        logger.level = level;
      },
    },
    cluster,
    meta,
    locks,
    lockService,
    lockEvents,
    sessionRenewer: new SessionRenewer({
      locks,
      renew: (sessionId) => lockService.renew(sessionId),
      scheduler,
      logger: logger.child({ component: 'session-renewer' }),
    }),
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
  const documents = new PreparedDocuments();
  const graphqlWs = createGraphQLWsServer({ yoga, tokens, maxPayloadBytes: config.maxRequestBytes, documents, logger });
  const server = createHttpServer({
    nodeId: config.id,
    yoga,
    leanGraphQL: createLeanGraphQLHandler({
      yoga,
      maxRequestBytes: config.maxRequestBytes,
      corsEnabled: config.corsOrigins.length > 0,
      documents,
    }),
    graphqlWs,
    peerLinks: transport.handleUpgrade ? (transport as UpgradeHandler) : undefined,
    metrics,
    graphiql: config.graphiql,
    ...(config.testHooks ? { testHooks: createTestHooks({ meta, counter: testCounter, tokens }) } : {}),
    isReady: () => (meta.leader() ? { ready: true } : { ready: false, reason: 'no leader is known' }),
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await meta.stop();
    await transport.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  cluster.start();
  const stopMembershipSync = startMembershipSync({
    selfId: config.id,
    bootstrapPeers: config.peers,
    meta,
    members,
    cluster,
    transport: transport as PeerLinks,
    forgetIncarnation: (peer) => pins.forget(peer),
  });
  meta.start();
  services.lockService.start();
  services.sessionRenewer.start();
  logger.info({ listen: `${config.listen.host}:${port}`, peers: config.peers.map((p) => p.id) }, 'node started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await handOverLeadership(meta, cluster, logger);
      stopMembershipSync();
      services.sessionRenewer.stop();
      services.lockService.stop();
      cluster.stop();
      await meta.stop();
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
    identity,
    metrics,
    yoga,
    server,
    graphqlWs,
    stop,
  };
}

/**
 * A leader that is shutting down hands leadership to the most up-to-date reachable voter,
 * so the cluster does not wait out an election timeout. Bounded; failure only costs that wait.
 */
async function handOverLeadership(meta: MetaService, cluster: ClusterService, logger: Logger): Promise<void> {
  const status = meta.status();
  if (status.role !== 'leader') return;
  const reachable = new Set(cluster.members().filter((m) => m.reachable && !m.self).map((m) => m.id));
  const candidates = status.config.voters
    .filter((id) => id !== status.id && reachable.has(id))
    .sort((a, b) => (status.progress[b]?.match ?? 0) - (status.progress[a]?.match ?? 0));
  const target = candidates[0];
  if (!target) {
    logger.warn({ voters: status.config.voters, reachable: [...reachable] }, 'no reachable voter to hand leadership to');
    return;
  }
  try {
    await meta.transferLeadership(target, 2_000);
    logger.info({ to: target }, 'handed leadership over before stopping');
  } catch (error) {
    logger.warn({ err: error, to: target }, 'leadership hand-over failed; stopping anyway');
  }
}
