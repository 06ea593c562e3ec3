/**
 * The HTTP suite's report: the terminal table with the two goal ratios, and the same figures
 * as JSON in bench/results/http-latest.json (docs/benchmarks.md is updated from that file).
 * Ratios divide by the ceiling (target 2): they say what share of a minimal graphql-js
 * server's throughput the node keeps, which is what the node's own layers can improve.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { CpuShares } from '../lib/cpu-watch.js';
import type { HttpLoadResult } from '../lib/http-load.js';
import { describeMachine } from '../lib/machine.js';
import type { LatencySummary } from '../lib/percentiles.js';
import { repoPath } from '../lib/repo.js';
import type { SuiteContext } from '../lib/suite.js';
import { formatMs, formatPercent, formatRate, formatTable } from '../lib/table.js';
import type { WsLoadResult } from '../ws-load.js';

export type TargetKey = 'bare' | 'ceiling' | 'nodeHttp' | 'nodeWs';

export type TargetOutcome =
  | { readonly status: 'ok'; readonly result: HttpLoadResult | WsLoadResult; readonly cpu: CpuShares }
  | { readonly status: 'skipped' | 'failed'; readonly reason: string };

export interface TargetReport {
  readonly key: TargetKey;
  readonly label: string;
  readonly outcome: TargetOutcome;
}

interface Ratio {
  readonly name: string;
  readonly numerator: TargetKey;
  readonly goal: number;
}

const RATIOS: readonly Ratio[] = [
  { name: '3/2', numerator: 'nodeHttp', goal: 0.5 },
  { name: '4/2', numerator: 'nodeWs', goal: 0.8 },
];

const RESULTS_FILE = 'bench/results/http-latest.json';
/** Cores used by other processes during a target above which its figures are flagged. */
const NOISY_OTHER_CORES = 0.2;

export function printHttpReport(reports: readonly TargetReport[], context: SuiteContext): void {
  const rows = reports.map(({ label, outcome }) => {
    if (outcome.status !== 'ok') return [label, outcome.status === 'failed' ? 'FAILED' : 'skipped', '-', '-', '-', '-'];
    const { opsPerSec, latency } = outcome.result;
    const { serverCores, loadgenCores, otherCores } = outcome.cpu;
    const cores = [serverCores, loadgenCores, otherCores].map((c) => (c === undefined ? '?' : c.toFixed(2))).join('/');
    return [label, formatRate(opsPerSec), formatMs(latency.p50), formatMs(latency.p95), formatMs(latency.p99), cores];
  });
  context.out(formatTable(['target', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'cores srv/gen/other'], rows));
  for (const { label, outcome } of reports) {
    if (outcome.status !== 'ok') context.out(`  ${label}: ${outcome.status}: ${firstLine(outcome.reason)}`);
    else {
      if (outcome.result.latency.dropped > 0) {
        context.out(`  ${label}: percentiles over the first ${outcome.result.latency.samples} samples only`);
      }
      const other = outcome.cpu.otherCores;
      if (other !== undefined && other > NOISY_OTHER_CORES) {
        context.out(`  ${label}: NOISY: other processes used ${other.toFixed(2)} cores meanwhile; rerun on a quiet machine`);
      }
    }
  }
  context.out(
    ratios(reports)
      .map((r) => `ratio ${r.name}: ${r.value === null ? 'n/a' : formatPercent(r.value)} (goal ≥ ${formatPercent(r.goal)})${r.value === null ? ` [${r.missing}]` : ''}`)
      .join('   '),
  );
  const { options, machine } = context;
  context.out(
    `${options.connections} connections, pipelining 1, ${options.warmupS} s warmup + ${options.durationS} s per target; ` +
      `load generator (this process) and server (one child process at a time) share the ${machine.cpuCount} cores`,
  );
  context.out(`machine: ${describeMachine(machine)}`);
}

export function writeHttpReport(reports: readonly TargetReport[], context: SuiteContext): string {
  const file = repoPath(RESULTS_FILE);
  mkdirSync(repoPath('bench/results/'), { recursive: true });
  const json = {
    suite: 'http',
    date: context.machine.date,
    machine: context.machine,
    settings: { ...context.options, pipelining: 1 },
    sharing: 'load generator and the measured server (one child process) run on the same cores',
    ok: reports.every((r) => r.outcome.status !== 'failed'),
    targets: reports.map(({ key, label, outcome }) =>
      outcome.status === 'ok'
        ? { key, label, status: 'ok', ...figures(outcome.result), cpuCores: cpuFigures(outcome.cpu) }
        : { key, label, status: outcome.status, reason: outcome.reason },
    ),
    ratios: ratios(reports).map(({ name, value, goal, missing }) => ({
      name,
      value,
      goal,
      met: value === null ? null : value >= goal,
      ...(missing ? { missing } : {}),
    })),
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  return RESULTS_FILE;
}

function figures(result: HttpLoadResult | WsLoadResult): Record<string, unknown> {
  const latency: LatencySummary = result.latency;
  return {
    opsPerSec: round(result.opsPerSec, 1),
    totalOps: result.totalOps,
    durationS: round(result.durationS, 3),
    loadgenCpuUsPerOp: round(result.loadgenCpuUsPerOp, 1),
    latencyMs: {
      p50: round(latency.p50, 3),
      p95: round(latency.p95, 3),
      p99: round(latency.p99, 3),
      mean: round(latency.mean, 3),
      max: round(latency.max, 3),
      samples: latency.samples,
      dropped: latency.dropped,
    },
    ...('autocannonLatencyMs' in result ? { autocannonLatencyMs: result.autocannonLatencyMs } : {}),
  };
}

/** Rounded; `undefined` fields vanish from the JSON. */
function cpuFigures(cpu: CpuShares): Record<string, number | undefined> {
  const r = (v: number | undefined): number | undefined => (v === undefined ? undefined : round(v, 2));
  return { loadgen: r(cpu.loadgenCores), server: r(cpu.serverCores), other: r(cpu.otherCores), machine: r(cpu.machineCores) };
}

interface RatioValue {
  readonly name: string;
  readonly goal: number;
  /** null when a side is missing (skipped or failed). */
  readonly value: number | null;
  readonly missing?: string;
}

function ratios(reports: readonly TargetReport[]): RatioValue[] {
  const rate = (key: TargetKey): number | undefined => {
    const outcome = reports.find((r) => r.key === key)?.outcome;
    return outcome?.status === 'ok' ? outcome.result.opsPerSec : undefined;
  };
  const ceiling = rate('ceiling');
  return RATIOS.map(({ name, numerator, goal }) => {
    const top = rate(numerator);
    if (top === undefined || ceiling === undefined || ceiling <= 0) {
      const missing = [top === undefined ? numerator : '', ceiling === undefined ? 'ceiling' : ''].filter(Boolean).join(', ');
      return { name, goal, value: null, missing: `no figure for ${missing}` };
    }
    return { name, goal, value: top / ceiling };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return text.includes('\n') ? `${line} …` : line;
}
