/**
 * Raft suite: committed proposals/s and commit latency on a three-process local cluster
 * with fsync on. The load runs inside the leader's process (the node's /test/raft-load
 * hook), so consensus is measured, not GraphQL: one proposal in flight at a time (every
 * entry pays its own fsync and round trip) and many in flight (group commit batches them
 * into shared appends and fsyncs). fsyncs/s and entries per fsync show the batching.
 */
import { existsSync } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProposalLoadResult } from '../../src/api/proposal-load.js';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { repoPath } from '../lib/repo.js';
import type { Suite, SuiteContext, SuiteOutcome } from '../lib/suite.js';
import { formatMs, formatRate, formatTable } from '../lib/table.js';
import { makeTempDir, removeTempDir } from '../lib/temp-dirs.js';

const MODES = [
  { label: 'unbatched (1 in flight)', concurrency: 1 },
  { label: 'batched (256 in flight)', concurrency: 256 },
] as const;

async function postJson<T>(url: string, token: string, body: unknown, timeoutMs: number): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function findLeader(cluster: LocalCluster): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const body = await postJson<{ data?: { cluster: { leader: string | null } } }>(
        `${cluster.nodes[0]!.url}/graphql`,
        cluster.readToken,
        { query: '{ cluster { leader } }' },
        2_000,
      );
      const leader = body.data?.cluster.leader;
      if (leader) return leader;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader within 15 s');
}

async function runRaftSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const mainScript = repoPath('dist/src/cli/main.js');
  if (!existsSync(mainScript)) {
    context.out('skipped: dist/src/cli/main.js is missing (run `npm run build`)');
    return { ok: true };
  }
  const { LocalCluster } = (await import(repoPath('dist/src/cli/local-cluster.js'))) as typeof import('../../src/cli/local-cluster.js');
  const dataRoot = makeTempDir('distsync-bench-raft-');
  const cluster = await LocalCluster.create({
    nodes: 3,
    dataRoot,
    logLevel: 'warn',
    extraArgs: ['--test-hooks', 'true', '--fsync', 'always'],
  });
  const results: Array<{ label: string; concurrency: number; result: ProposalLoadResult }> = [];
  try {
    context.progress('raft: starting a three-process cluster (fsync always)');
    await cluster.startAll();
    const leader = cluster.node(await findLeader(cluster));
    const durationMs = Math.round(context.options.durationS * 1000);
    for (const mode of MODES) {
      if (context.options.warmupS > 0) {
        await postJson(`${leader.url}/test/raft-load`, cluster.adminToken, {
          concurrency: mode.concurrency,
          durationMs: Math.round(context.options.warmupS * 1000),
          payloadBytes: 256,
        }, 120_000);
      }
      context.progress(`raft: ${mode.label} for ${context.options.durationS} s on leader ${leader.id}`);
      const result = await postJson<ProposalLoadResult>(`${leader.url}/test/raft-load`, cluster.adminToken, {
        concurrency: mode.concurrency,
        durationMs,
        maxProposals: context.options.maxOps,
        payloadBytes: 256,
      }, durationMs + 60_000);
      if (result.failed > 0) throw new Error(`${mode.label}: ${result.failed} proposals failed`);
      results.push({ label: mode.label, concurrency: mode.concurrency, result });
    }
  } finally {
    await cluster.stopAll();
    removeTempDir(dataRoot);
  }

  context.out(
    formatTable(
      ['mode (256-byte entries, fsync on)', 'committed/s', 'p50 ms', 'p95 ms', 'p99 ms', 'fsyncs/s', 'entries/fsync'],
      results.map(({ label, result }) => [
        label,
        formatRate(result.perSecond),
        formatMs(result.latencyMs.p50),
        formatMs(result.latencyMs.p95),
        formatMs(result.latencyMs.p99),
        formatRate(result.fsyncsPerSecond),
        result.entriesPerFsync.toFixed(1),
      ]),
    ),
  );
  context.out('goal: ≥ 20,000 committed proposals/s with batching; fsyncs are the leader’s WAL fsyncs');
  const outDir = repoPath('bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'raft-latest.json'),
    JSON.stringify({ suite: 'raft', date: new Date().toISOString(), machine: context.machine, results }, null, 2) + '\n',
  );
  return { ok: true };
}

export const raftSuite: Suite = {
  name: 'raft',
  description: 'committed proposals/s on a three-process cluster, fsync on, unbatched and batched',
  run: runRaftSuite,
};
