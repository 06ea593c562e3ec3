/**
 * Locks suite: acquire+release pairs per second on a three-process local cluster (from
 * dist/, fsync always, a fresh one per row), closed loop, clients spread over the three nodes:
 *   1 uncontended  C clients × C names, EXCLUSIVE (client i uses name i)
 *   2 contended    C clients × 1 name, EXCLUSIVE (a pair's latency includes the wait)
 *   3 shared       C clients × 1 name, SHARED
 *   5 reference    case 1 on a one-node cluster over graphql-ws: no replication, no forwarding
 *   6 floor        case 1's clients and cluster, each lock operation replaced by a `ping`
 *                  mutation (GraphQL, auth and transport, no Raft): what the API layer and
 *                  the load generator alone reach on this machine, measured in the same run
 * each over graphql-ws (one connection per client) and over HTTP (one keep-alive connection
 * per client), every client with its own session. Then the Redis baseline (SET NX PX +
 * Lua compare-and-delete, bench/lib/redis-lock.ts) with the cluster stopped.
 * Besides the pair latency, each lock operation (the acquire request, the release request)
 * is timed on its own.
 * A case with more than 1 % failed pairs, or pairs still unanswered after the drain, fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { runClosedLoop } from '../lib/closed-loop.js';
import { LiteHttpClient } from '../lib/lite-http.js';
import { LiteWsClient, type GraphQLResult } from '../lib/lite-ws.js';
import { startCpuWindow, type CpuWindow } from '../lib/proc-cpu.js';
import { redactedRedisUrl, runRedisCase } from '../lib/redis-lock.js';
import { repoPath } from '../lib/repo.js';
import type { Suite, SuiteContext, SuiteOutcome } from '../lib/suite.js';
import { makeTempDir, removeTempDir } from '../lib/temp-dirs.js';
import { printLocksReport, writeLocksReport, type CaseReport, type RaftStats, type RowOutcome, type Transport } from './locks-report.js';

export const ACQUIRE_QUERY =
  'mutation Acquire($name: String!, $mode: LockMode!, $sessionId: ID!) { acquireLock(name: $name, mode: $mode, sessionId: $sessionId, timeoutMs: 5000) { fencingToken } }';
export const RELEASE_QUERY =
  'mutation Release($name: String!, $sessionId: ID!, $fencingToken: Int64!) { releaseLock(name: $name, sessionId: $sessionId, fencingToken: $fencingToken) { remaining } }';
const OPEN_SESSION_QUERY = 'mutation Open($ttlMs: Int!) { openSession(ttlMs: $ttlMs) { id } }';
const CLOSE_SESSION_QUERY = 'mutation Close($id: ID!) { closeSession(sessionId: $id) { state } }';
const PING_QUERY = 'mutation Ping($message: String!) { ping(message: $message) { message nodeId receivedAt } }';

const SESSION_TTL_MS = 600_000;
/** Time for pairs in flight to finish after the window (an acquire may wait 5 s). */
const DRAIN_MS = 15_000;
const SETUP_TIMEOUT_MS = 15_000;
const ERROR_RATE_LIMIT = 0.01;
/**
 * Least warm-up per row: a fresh cluster's nodes reach their steady rate only after 10–15 s
 * of load (JIT tiering, three processes on two cores). BENCH_LOCKS_WARMUP_S overrides it.
 */
const MIN_WARMUP_S = 10;

export interface CaseSpec {
  readonly key: 'uncontended' | 'contended' | 'shared' | 'single-node' | 'floor';
  readonly title: string;
  readonly mode: 'EXCLUSIVE' | 'SHARED';
  /** Distinct lock names; client i uses name i mod names. */
  readonly names: (clients: number) => number;
  /** Cluster size (default 3). */
  readonly nodes?: number;
  /** Transports to run (default both). */
  readonly transports?: readonly Transport[];
  /** Each lock operation replaced by a `ping` mutation: no session, no Raft. */
  readonly ping?: true;
}

export const CASES: readonly CaseSpec[] = [
  { key: 'uncontended', title: '1 uncontended: one name per client, EXCLUSIVE', mode: 'EXCLUSIVE', names: (c) => c },
  { key: 'contended', title: '2 contended: all clients on one name, EXCLUSIVE (latency includes waiting)', mode: 'EXCLUSIVE', names: () => 1 },
  { key: 'shared', title: '3 shared: all clients on one name, SHARED', mode: 'SHARED', names: () => 1 },
  {
    key: 'single-node',
    title: '5 reference: case 1 on a one-node cluster (no replication, no forwarding)',
    mode: 'EXCLUSIVE',
    names: (c) => c,
    nodes: 1,
    transports: ['graphql-ws'],
  },
  {
    key: 'floor',
    title: '6 floor: case 1 with a ping mutation for each lock operation (GraphQL and transport only, no Raft)',
    mode: 'EXCLUSIVE',
    names: (c) => c,
    transports: ['graphql-ws'],
    ping: true,
  },
];

const TRANSPORTS: readonly Transport[] = ['graphql-ws', 'http'];

/** One client's connection, whichever transport. */
interface Conn {
  request(body: string): Promise<GraphQLResult>;
  close(): Promise<void>;
}

export const locksSuite: Suite = {
  name: 'locks',
  description: 'acquire+release pairs/s on a three-process cluster (graphql-ws, HTTP) beside a Redis lock',
  run: runLocksSuite,
};

async function runLocksSuite(outer: SuiteContext): Promise<SuiteOutcome> {
  const warmupS = locksWarmupS(outer.options.warmupS);
  const context: SuiteContext = { ...outer, options: { ...outer.options, warmupS } };
  const reports: CaseReport[] = [];
  const mainScript = repoPath('dist/src/cli/main.js');
  if (!existsSync(mainScript)) {
    const reason = 'dist/src/cli/main.js is missing (run `npm run build`)';
    for (const spec of CASES) reports.push({ spec, rows: (spec.transports ?? TRANSPORTS).map((transport) => ({ transport, outcome: { status: 'skipped', reason } })) });
  } else {
    reports.push(...(await runClusterCases(context)));
  }

  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const only = selectedRows();
  if (!only || only.has('redis')) context.progress(`locks: Redis baseline on ${redactedRedisUrl(redisUrl)}`);
  const redis = only && !only.has('redis') ? { status: 'skipped' as const, reason: 'not in BENCH_LOCKS_ROWS' } : await runRedisCase({
    url: redisUrl,
    clients: context.options.connections,
    names: context.options.connections,
    warmupS: context.options.warmupS,
    durationS: context.options.durationS,
    maxOps: context.options.maxOps,
  });

  const ok = printLocksReport(reports, redis, context);
  const file = writeLocksReport(reports, redis, context);
  context.out(`results written to ${file}`);
  return { ok };
}

/** BENCH_LOCKS_ROWS=uncontended/graphql-ws,contended/http,redis runs only those rows; unset runs all. */
function selectedRows(): Set<string> | undefined {
  const raw = process.env['BENCH_LOCKS_ROWS'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const known = new Set([...CASES.flatMap((c) => (c.transports ?? TRANSPORTS).map((t) => `${c.key}/${t}`)), 'redis']);
  const rows = new Set(raw.split(',').map((r) => r.trim()).filter((r) => r !== ''));
  for (const row of rows) {
    if (!known.has(row)) throw new Error(`BENCH_LOCKS_ROWS: unknown row ${JSON.stringify(row)} (known: ${[...known].join(', ')})`);
  }
  return rows;
}

function locksWarmupS(general: number): number {
  const raw = process.env['BENCH_LOCKS_WARMUP_S'];
  if (raw === undefined || raw.trim() === '') return Math.max(general, MIN_WARMUP_S);
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`BENCH_LOCKS_WARMUP_S=${JSON.stringify(raw)}: must be a number ≥ 0`);
  return value;
}

async function runClusterCases(context: SuiteContext): Promise<CaseReport[]> {
  const reports: CaseReport[] = [];
  const only = selectedRows();
  for (const spec of CASES) {
    const rows: CaseReport['rows'][number][] = [];
    for (const transport of spec.transports ?? TRANSPORTS) {
      if (only && !only.has(`${spec.key}/${transport}`)) {
        rows.push({ transport, outcome: { status: 'skipped', reason: 'not in BENCH_LOCKS_ROWS' } });
        continue;
      }
      context.progress(`locks: case ${spec.title} over ${transport}`);
      let outcome: RowOutcome;
      try {
        outcome = await withCluster(context, spec.nodes ?? 3, (cluster, leader) => runClusterRow(cluster, leader, spec, transport, context));
      } catch (error) {
        outcome = { status: 'failed', reason: error instanceof Error ? error.message : String(error) };
      }
      if (outcome.status !== 'ok') context.progress(`locks: ${transport}: ${outcome.status}: ${outcome.reason}`);
      rows.push({ transport, outcome });
    }
    reports.push({ spec, rows });
  }
  return reports;
}

/**
 * A fresh three-process cluster for one row, so rows do not inherit each other's lock state
 * (the table keeps finished requests for minutes, and snapshots grow with it).
 */
async function withCluster<T>(context: SuiteContext, nodes: number, run: (cluster: LocalCluster, leader: string) => Promise<T>): Promise<T> {
  const { LocalCluster } = (await import(repoPath('dist/src/cli/local-cluster.js'))) as typeof import('../../src/cli/local-cluster.js');
  const dataRoot = makeTempDir('distsync-bench-locks-');
  const cluster = await LocalCluster.create({ nodes, dataRoot, logLevel: 'warn', extraArgs: ['--fsync', 'always'] });
  // The exit guard knows only bench/lib/children.ts; these children are killed here on exit.
  const killNodes = (): void => {
    for (const node of cluster.nodes) {
      const child = node.child;
      if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killNodes);
  try {
    await cluster.startAll();
    const leader = await findLeader(cluster);
    context.progress(`locks: cluster up, leader ${leader}; ${cluster.nodes.map((n) => `${n.id} pid ${n.child?.pid}`).join(', ')}`);
    const result = await run(cluster, leader);
    const after = await findLeader(cluster);
    if (after !== leader) context.progress(`locks: the leader changed from ${leader} to ${after} during the row`);
    return result;
  } finally {
    await cluster.stopAll();
    process.off('exit', killNodes);
    removeTempDir(dataRoot);
  }
}

async function runClusterRow(
  cluster: LocalCluster,
  leader: string,
  spec: CaseSpec,
  transport: Transport,
  context: SuiteContext,
): Promise<RowOutcome> {
  const { options } = context;
  const clients = options.connections;
  const names = spec.names(clients);
  const authorization = `Bearer ${cluster.adminToken}`;
  const runTag = `${spec.key}-${transport}-${Date.now().toString(36)}`;
  const conns: Conn[] = [];
  const sessions: string[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const node = cluster.nodes[i % cluster.nodes.length]!;
      conns.push(await connect(transport, node.url, authorization));
    }
    const opened = spec.ping ? [] : await withTimeout(
      Promise.all(conns.map((c) => c.request(body(OPEN_SESSION_QUERY, { ttlMs: SESSION_TTL_MS })))),
      SETUP_TIMEOUT_MS,
      'openSession',
    );
    for (const result of opened) {
      const id = (result.data?.['openSession'] as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') throw new Error(`openSession failed: ${JSON.stringify(result.errors ?? result).slice(0, 300)}`);
      sessions.push(id);
    }

    const acquireBodies: string[] = [];
    const releasePrefixes: string[] = [];
    const pingBodies = conns.map((_c, i) => body(PING_QUERY, { message: `bench/${runTag}/${i % names}` }));
    for (let i = 0; i < clients && !spec.ping; i++) {
      const name = `bench/${runTag}/${i % names}`;
      acquireBodies.push(body(ACQUIRE_QUERY, { name, mode: spec.mode, sessionId: sessions[i] }));
      // Closed with the token and `"}}`: the token is a decimal string, safe to splice in.
      releasePrefixes.push(
        `{"query":${JSON.stringify(RELEASE_QUERY)},"variables":{"name":${JSON.stringify(name)},"sessionId":${JSON.stringify(sessions[i])},"fencingToken":"`,
      );
    }

    const leaderNode = cluster.node(leader);
    const pids: Record<string, number> = {};
    for (const node of cluster.nodes) if (node.child?.pid !== undefined) pids[node.id] = node.child.pid;
    let endCpu: (() => CpuWindow) | undefined;
    let cpu: CpuWindow | undefined;
    let raftBefore: Promise<RaftCounters | undefined> | undefined;
    let raftAfter: Promise<RaftCounters | undefined> | undefined;
    let windowStart = 0;
    let windowEnd = 0;
    context.progress(`locks: ${clients} clients, ${names} name(s); warmup ${options.warmupS} s, measuring ${options.durationS} s`);
    const result = await runClosedLoop({
      workers: clients,
      warmupS: options.warmupS,
      durationS: options.durationS,
      maxOps: options.maxOps,
      drainMs: DRAIN_MS,
      onMeasureStart: () => {
        raftBefore = scrapeRaft(leaderNode.url);
        endCpu = startCpuWindow(pids);
        windowStart = performance.now();
      },
      onMeasureEnd: () => {
        cpu = endCpu?.();
        raftAfter = scrapeRaft(leaderNode.url);
        windowEnd = performance.now();
      },
      op: async (w, step) => {
        const conn = conns[w]!;
        if (spec.ping) {
          // Two requests per pair, timed like the acquire and the release.
          for (let i = 0; i < 2; i++) {
            const sent = performance.now();
            const pinged = await conn.request(pingBodies[w]!);
            step(performance.now() - sent);
            if (pinged.errors !== undefined || pinged.data?.['ping'] == null) throw new Error(`ping: ${describeErrors(pinged)}`);
          }
          return;
        }
        // Each lock operation (one request) is timed on its own, besides the pair.
        let sent = performance.now();
        const acquired = await conn.request(acquireBodies[w]!);
        step(performance.now() - sent);
        const token = (acquired.data?.['acquireLock'] as { fencingToken?: unknown } | null | undefined)?.fencingToken;
        if (acquired.errors !== undefined || typeof token !== 'string') throw new Error(`acquire: ${describeErrors(acquired)}`);
        sent = performance.now();
        const released = await conn.request(`${releasePrefixes[w]!}${token}"}}`);
        step(performance.now() - sent);
        const remaining = (released.data?.['releaseLock'] as { remaining?: unknown } | null | undefined)?.remaining;
        if (released.errors !== undefined) throw new Error(`release: ${describeErrors(released)}`);
        if (remaining !== 0) throw new Error(`release: remaining ${JSON.stringify(remaining)}, expected 0`);
      },
    });
    const raft = raftStats(await raftBefore, await raftAfter, (windowEnd - windowStart) / 1000);
    const leaderPid = leaderNode.child?.pid;
    const leaderRssMb = leaderPid === undefined ? undefined : rssMb(leaderPid);
    const problems: string[] = [];
    if (result.errorRate > ERROR_RATE_LIMIT) problems.push(`${(result.errorRate * 100).toFixed(2)} % of pairs failed`);
    if (result.undrained > 0) problems.push(`${result.undrained} pairs unanswered ${DRAIN_MS} ms after the window`);
    if (result.ops === 0) problems.push('no pair completed in the window');
    return problems.length > 0
      ? { status: 'failed', reason: problems.join('; '), result, cpu, raft, leader, leaderRssMb }
      : { status: 'ok', result, cpu, raft, leader, leaderRssMb };
  } finally {
    // Best effort and bounded: the cluster is thrown away after the suite anyway.
    await withTimeout(
      Promise.allSettled(sessions.map((id, i) => conns[i]!.request(body(CLOSE_SESSION_QUERY, { id })))),
      5_000,
      'closeSession',
    ).catch(() => undefined);
    await Promise.all(conns.map((c) => c.close()));
  }
}

async function connect(transport: Transport, baseUrl: string, authorization: string): Promise<Conn> {
  if (transport === 'graphql-ws') {
    const ws = await LiteWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/graphql`, authorization);
    return { request: (b) => ws.request(b), close: () => ws.close() };
  }
  const http = new LiteHttpClient(`${baseUrl}/graphql`, authorization);
  return {
    request: (b) => http.request(b),
    close: () => {
      http.close();
      return Promise.resolve();
    },
  };
}

/** Resident memory of a process in MiB (Linux), or undefined. */
function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

function body(query: string, variables: Record<string, unknown>): string {
  return JSON.stringify({ query, variables });
}

/** "CODE: message" of the first error, short; or what was missing. */
function describeErrors(result: GraphQLResult): string {
  const first = result.errors?.[0];
  if (!first) return `no data in ${JSON.stringify(result).slice(0, 120)}`;
  const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'ERROR';
  // Names and ids vary per client; drop quoted parts so one cause counts as one reason.
  return `${code}: ${first.message.replace(/"[^"]*"/g, '"…"').slice(0, 120)}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function findLeader(cluster: LocalCluster): Promise<string> {
  const deadline = Date.now() + 15_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    for (const node of cluster.nodes) {
      try {
        const res = await fetch(`${node.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${cluster.readToken}` },
          body: JSON.stringify({ query: '{ cluster { leader } }' }),
          signal: AbortSignal.timeout(2_000),
        });
        const parsed = (await res.json()) as { data?: { cluster?: { leader?: string | null } } };
        const leader = parsed.data?.cluster?.leader;
        if (leader) return leader;
        last = `${node.id}: no leader yet`;
      } catch (error) {
        last = `${node.id}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no leader within 15 s (${last})`);
}

interface RaftCounters {
  readonly fsyncs: number;
  readonly fsyncSeconds: number;
  readonly entries: number;
}

/** The leader's meta-group WAL counters from /metrics; undefined when not there. */
async function scrapeRaft(baseUrl: string): Promise<RaftCounters | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    const value = (name: string): number | undefined => {
      const match = new RegExp(`^${name}\\{[^}]*group="meta"[^}]*\\} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : undefined;
    };
    const fsyncs = value('distsync_raft_append_fsync_seconds_count');
    const fsyncSeconds = value('distsync_raft_append_fsync_seconds_sum');
    const entries = value('distsync_raft_persisted_entries_total');
    if (fsyncs === undefined || fsyncSeconds === undefined || entries === undefined) return undefined;
    return { fsyncs, fsyncSeconds, entries };
  } catch {
    return undefined;
  }
}

function raftStats(before: RaftCounters | undefined, after: RaftCounters | undefined, durationS: number): RaftStats | undefined {
  if (!before || !after || durationS <= 0) return undefined;
  const fsyncs = after.fsyncs - before.fsyncs;
  const entries = after.entries - before.entries;
  return {
    fsyncsPerSec: fsyncs / durationS,
    entriesPerFsync: fsyncs > 0 ? entries / fsyncs : Number.NaN,
    meanFsyncMs: fsyncs > 0 ? ((after.fsyncSeconds - before.fsyncSeconds) * 1000) / fsyncs : Number.NaN,
  };
}
