/**
 * In-process nodes for e2e tests: a full node (yoga, lean path, graphql-ws, cluster
 * service) on 127.0.0.1:0 with a temporary data dir and fixed test tokens. Several nodes
 * can share a MemoryNetwork instead of WebSocket peer links.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { startNode, type RunningNode, type StartNodeOptions } from '../../src/node.js';
import { MemoryNetwork } from '../../src/transport/memory-network.js';
import { SeededRandom } from '../../src/util/random.js';
import { RealScheduler } from '../../src/util/scheduler.js';

export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  write: 'write-token-0123456789abcdef',
  read: 'read-token-0123456789abcdef0',
  /** A second write token: another principal, for ownership checks. */
  other: 'other-write-token-0123456789ab',
} as const;

export const bearer = (scope: keyof typeof TOKENS): string => `Bearer ${TOKENS[scope]}`;

export interface TestNodeOptions {
  readonly id?: string;
  readonly peers?: ReadonlyArray<{ id: string; address: string }>;
  readonly heartbeatIntervalMs?: number;
  readonly failureTimeoutMs?: number;
  readonly overrides?: Partial<NodeConfig>;
}

export async function testConfig(options: TestNodeOptions = {}): Promise<NodeConfig> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'distsync-test-'));
  return {
    id: options.id ?? 'n1',
    listen: { host: '127.0.0.1', port: 0 },
    advertise: { host: '127.0.0.1', port: 0 },
    peers: [...(options.peers ?? [])],
    dataDir,
    clusterSecret: 'test-cluster-secret-0123456789',
    tokens: [
      { scope: 'admin', token: TOKENS.admin },
      { scope: 'write', token: TOKENS.write },
      { scope: 'read', token: TOKENS.read },
      { scope: 'write', token: TOKENS.other },
    ],
    logLevel: 'silent',
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 50,
    failureTimeoutMs: options.failureTimeoutMs ?? 300,
    corsOrigins: [],
    maxFrameBytes: 1024 * 1024,
    sendQueueBytes: 1024 * 1024,
    maxRequestBytes: 64 * 1024,
    graphiql: true,
    fsync: 'always',
    raftTickMs: 20,
    electionTicks: 5,
    requestTimeoutMs: 3_000,
    testHooks: true,
    join: false,
    ...options.overrides,
  };
}

export async function startTestNode(
  options: TestNodeOptions = {},
  startOptions: StartNodeOptions = {},
): Promise<RunningNode> {
  const config = await testConfig(options);
  const node = await startNode(config, { logger: silentLogger(), ...startOptions });
  const stop = () => node.stop();
  return {
    ...node,
    stop: async () => {
      await stop();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Several in-process nodes joined by one in-memory network (real time, no faults). */
export async function startMemoryCluster(ids: readonly string[], options: TestNodeOptions = {}) {
  const network = new MemoryNetwork({ scheduler: new RealScheduler(), random: new SeededRandom(1) });
  const nodes: RunningNode[] = [];
  for (const id of ids) {
    const transport = network.createTransport(id);
    const peers = ids.filter((other) => other !== id).map((other) => ({ id: other, address: `memory:${other}` }));
    nodes.push(await startTestNode({ ...options, id, peers }, { transport }));
  }
  return {
    network,
    nodes,
    node: (id: string) => nodes.find((n) => n.config.id === id)!,
    stop: () => Promise.all(nodes.map((n) => n.stop())),
  };
}
