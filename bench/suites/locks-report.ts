/**
 * The locks suite's report: one table per case, the Redis baseline and the ratio to it, the
 * goal line; the same figures as JSON in bench/results/locks-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ClosedLoopResult } from '../lib/closed-loop.js';
import { describeMachine } from '../lib/machine.js';
import type { CpuWindow } from '../lib/proc-cpu.js';
import type { RedisCaseOutcome } from '../lib/redis-lock.js';
import { repoPath } from '../lib/repo.js';
import type { SuiteContext } from '../lib/suite.js';
import { formatMs, formatPercent, formatRate, formatTable } from '../lib/table.js';
import type { CaseSpec } from './locks.js';

export type Transport = 'graphql-ws' | 'http';

export interface RaftStats {
  readonly fsyncsPerSec: number;
  readonly entriesPerFsync: number;
  readonly meanFsyncMs: number;
}

interface Measured {
  readonly result: ClosedLoopResult;
  readonly cpu: CpuWindow | undefined;
  readonly raft: RaftStats | undefined;
  readonly leader: string;
  /** The leader's resident memory when the window ended. */
  readonly leaderRssMb?: number | undefined;
}

export type RowOutcome =
  | ({ readonly status: 'ok' } & Measured)
  | ({ readonly status: 'failed'; readonly reason: string } & Partial<Measured>)
  | { readonly status: 'skipped'; readonly reason: string };

export interface CaseReport {
  readonly spec: CaseSpec;
  readonly rows: readonly { readonly transport: Transport; readonly outcome: RowOutcome }[];
}

const GOAL_PAIRS_PER_SEC = 5_000;
const GOAL_P95_MS = 10;
const NOISY_OTHER_CORES = 0.2;
const RESULTS_FILE = 'bench/results/locks-latest.json';

const TRANSPORT_LABEL: Record<Transport, string> = { 'graphql-ws': 'graphql-ws', http: 'HTTP POST /graphql' };

/** Prints every table; returns false when a case failed. */
export function printLocksReport(reports: readonly CaseReport[], redis: RedisCaseOutcome, context: SuiteContext): boolean {
  const { options } = context;
  let ok = true;
  for (const { spec, rows } of reports) {
    const names = spec.names(options.connections);
    context.out(`\ncase ${spec.title} — ${options.connections} clients × ${names} name${names === 1 ? '' : 's'}`);
    const table = rows.map(({ transport, outcome }) => {
      const label = TRANSPORT_LABEL[transport];
      if (outcome.status === 'skipped') return [label, 'skipped', '-', '-', '-', '-', '-', '-', '-', '-'];
      if (outcome.status === 'failed') ok = false;
      const result = outcome.result;
      if (!result) return [`${label} FAILED`, '-', '-', '-', '-', '-', '-', '-', '-', '-'];
      return [
        outcome.status === 'failed' ? `${label} FAILED` : label,
        ...pairColumns(result),
        outcome.raft ? formatRate(outcome.raft.fsyncsPerSec) : '?',
        outcome.raft ? outcome.raft.entriesPerFsync.toFixed(1) : '?',
        clusterCores(outcome.cpu, outcome.leader ?? ''),
      ];
    });
    context.out(
      formatTable(
        ['transport', 'pairs/s', 'lock ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'fsyncs/s', 'entries/fsync', 'cores leader/f1/f2/gen/other'],
        table,
      ),
    );
    for (const { transport, outcome } of rows) notes(TRANSPORT_LABEL[transport], outcome, context);
  }

  context.out(`\ncase 4 Redis baseline: SET key token NX PX 30000, then Lua compare-and-delete — ${options.connections} clients × ${options.connections} names`);
  if (redis.status === 'skipped') {
    context.out(`Redis baseline skipped: ${redis.reason}`);
  } else if (redis.status === 'failed') {
    ok = false;
    context.out(`Redis baseline FAILED: ${redis.reason}`);
  } else {
    const failed = redis.result.errorRate > 0.01 || redis.result.undrained > 0 || redis.result.ops === 0;
    if (failed) ok = false;
    const cpu = redis.cpu;
    const cores = cpu ? [cpu.processes['redis'], cpu.loadgen, cpu.other].map(coresText).join('/') : '?';
    context.out(
      formatTable(
        ['target', 'pairs/s', 'lock ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'cores redis/gen/other'],
        [[`${redis.server} (${redis.persistence})${failed ? ' FAILED' : ''}`, ...pairColumns(redis.result), cores]],
      ),
    );
    notes('Redis', { status: failed ? 'failed' : 'ok', reason: 'errors above 1 % or pairs unanswered', result: redis.result, cpu: redis.cpu, raft: undefined, leader: '' }, context);
    const ws = measured(reports, 'uncontended', 'graphql-ws');
    const http = measured(reports, 'uncontended', 'http');
    const ratio = (r: ClosedLoopResult | undefined): string =>
      r ? `${formatPercent(r.opsPerSec / redis.result.opsPerSec)} of Redis's pairs/s (p95 ${formatMs(r.latency.p95)} vs ${formatMs(redis.result.latency.p95)} ms)` : 'n/a';
    context.out(`ratio, case 1: graphql-ws ${ratio(ws)}; HTTP ${ratio(http)}`);
  }

  const ws = measured(reports, 'uncontended', 'graphql-ws');
  const met = ws !== undefined && ws.opsPerSec >= GOAL_PAIRS_PER_SEC && ws.latency.p95 < GOAL_P95_MS;
  context.out(
    `\ngoal: ≥ 5,000 pairs/s (10,000 lock ops/s) with p95 < 10 ms over graphql-ws — ${met ? 'met' : 'not met'}` +
      (ws ? ` (case 1: ${formatRate(ws.opsPerSec)} pairs/s, p95 ${formatMs(ws.latency.p95)} ms)` : ' (no case 1 graphql-ws figure)'),
  );
  context.out(
    `closed loop, one pair in flight per client, ${options.warmupS} s warmup + ${options.durationS} s per row (or ${formatRate(options.maxOps)} pairs); ` +
      `clients spread over the three nodes (client i → node i mod 3); the load generator and all three nodes share the ${context.machine.cpuCount} cores`,
  );
  context.out(`machine: ${describeMachine(context.machine)}`);
  return ok;
}

export function writeLocksReport(reports: readonly CaseReport[], redis: RedisCaseOutcome, context: SuiteContext): string {
  mkdirSync(repoPath('bench/results/'), { recursive: true });
  const json = {
    suite: 'locks',
    date: context.machine.date,
    machine: context.machine,
    settings: context.options,
    cases: reports.map(({ spec, rows }) => ({
      key: spec.key,
      title: spec.title,
      mode: spec.mode,
      names: spec.names(context.options.connections),
      rows: rows.map(({ transport, outcome }) => ({
        transport,
        status: outcome.status,
        ...('reason' in outcome ? { reason: outcome.reason } : {}),
        ...('result' in outcome && outcome.result ? { figures: figures(outcome.result) } : {}),
        ...('cpu' in outcome && outcome.cpu ? { cpuCores: outcome.cpu } : {}),
        ...('raft' in outcome && outcome.raft ? { raft: outcome.raft } : {}),
        ...('leader' in outcome ? { leader: outcome.leader } : {}),
        ...('leaderRssMb' in outcome && outcome.leaderRssMb !== undefined ? { leaderRssMb: outcome.leaderRssMb } : {}),
      })),
    })),
    redis:
      redis.status === 'ok'
        ? { status: 'ok', server: redis.server, persistence: redis.persistence, figures: figures(redis.result), cpuCores: redis.cpu }
        : redis,
  };
  writeFileSync(repoPath(RESULTS_FILE), `${JSON.stringify(json, null, 2)}\n`);
  return RESULTS_FILE;
}

function pairColumns(result: ClosedLoopResult): string[] {
  const { latency } = result;
  const errors = result.errors === 0 ? '0' : `${result.errors} (${(result.errorRate * 100).toFixed(2)} %)`;
  return [
    formatRate(result.opsPerSec),
    formatRate(result.opsPerSec * 2),
    formatMs(latency.p50),
    formatMs(latency.p95),
    formatMs(latency.p99),
    errors,
  ];
}

/** "leader/followers…/gen/other" in cores, leader first. */
function clusterCores(cpu: CpuWindow | undefined, leader: string): string {
  if (!cpu) return '?';
  const ids = Object.keys(cpu.processes).sort((a, b) => (a === leader ? -1 : b === leader ? 1 : a.localeCompare(b)));
  return [...ids.map((id) => cpu.processes[id]), cpu.loadgen, cpu.other].map(coresText).join('/');
}

function coresText(cores: number | undefined): string {
  return cores === undefined ? '?' : cores.toFixed(2);
}

function notes(label: string, outcome: RowOutcome, context: SuiteContext): void {
  if (outcome.status === 'skipped') {
    context.out(`  ${label}: skipped: ${outcome.reason}`);
    return;
  }
  if (outcome.status === 'failed') context.out(`  ${label}: FAILED: ${firstLine(outcome.reason)}`);
  const result = outcome.result;
  if (!result) return;
  for (const [reason, count] of result.reasons.slice(0, 5)) context.out(`  ${label}: ${count} × ${reason}`);
  if (result.warmupErrors > 0) context.out(`  ${label}: ${result.warmupErrors} failed pairs during warmup (not in the figures)`);
  if (result.latency.dropped > 0) context.out(`  ${label}: percentiles over the first ${result.latency.samples} samples only`);
  const other = outcome.cpu?.other;
  if (other !== undefined && other > NOISY_OTHER_CORES) {
    context.out(`  ${label}: NOISY: other processes used ${other.toFixed(2)} cores meanwhile`);
  }
}

function measured(reports: readonly CaseReport[], key: CaseSpec['key'], transport: Transport): ClosedLoopResult | undefined {
  const outcome = reports.find((r) => r.spec.key === key)?.rows.find((r) => r.transport === transport)?.outcome;
  return outcome?.status === 'ok' ? outcome.result : undefined;
}

function figures(result: ClosedLoopResult): Record<string, unknown> {
  const r = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;
  return {
    pairsPerSec: r(result.opsPerSec, 1),
    lockOpsPerSec: r(result.opsPerSec * 2, 1),
    pairs: result.ops,
    durationS: r(result.durationS),
    errors: result.errors,
    errorRate: r(result.errorRate, 5),
    warmupErrors: result.warmupErrors,
    reasons: result.reasons.slice(0, 10),
    undrained: result.undrained,
    loadgenCpuUsPerPair: r(result.loadgenCpuUsPerOp, 1),
    latencyMs: {
      p50: r(result.latency.p50),
      p95: r(result.latency.p95),
      p99: r(result.latency.p99),
      mean: r(result.latency.mean),
      max: r(result.latency.max),
      samples: result.latency.samples,
      dropped: result.latency.dropped,
    },
  };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return text.includes('\n') ? `${line} …` : line;
}
