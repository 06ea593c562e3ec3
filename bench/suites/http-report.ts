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

/** One target across the rounds: the round with the median rate stands for it in the table. */
interface TargetSummary {
  readonly key: TargetKey;
  readonly label: string;
  /** Each round's outcome, in round order. */
  readonly outcomes: readonly TargetOutcome[];
  /** The ok outcome with the median rate (the lower middle one for an even count). */
  readonly median?: Extract<TargetOutcome, { status: 'ok' }>;
  readonly rates: readonly number[];
}

function summarize(rounds: readonly (readonly TargetReport[])[]): TargetSummary[] {
  const first = rounds[0] ?? [];
  return first.map(({ key, label }) => {
    const outcomes = rounds.map((reports) => reports.find((r) => r.key === key)!.outcome);
    const ok = outcomes.filter((o): o is Extract<TargetOutcome, { status: 'ok' }> => o.status === 'ok');
    const sorted = [...ok].sort((a, b) => a.result.opsPerSec - b.result.opsPerSec);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return { key, label, outcomes, rates: ok.map((o) => o.result.opsPerSec), ...(median ? { median } : {}) };
  });
}

export function printHttpReport(rounds: readonly (readonly TargetReport[])[], context: SuiteContext): void {
  const summaries = summarize(rounds);
  const rows = summaries.map(({ label, outcomes, median, rates }) => {
    if (!median) {
      const failed = outcomes.some((o) => o.status === 'failed');
      return [label, failed ? 'FAILED' : 'skipped', '-', '-', '-', '-', '-'];
    }
    const { opsPerSec, latency } = median.result;
    const { serverCores, loadgenCores, otherCores } = median.cpu;
    const cores = [serverCores, loadgenCores, otherCores].map((c) => (c === undefined ? '?' : c.toFixed(2))).join('/');
    const spread = `${formatRate(Math.min(...rates))}–${formatRate(Math.max(...rates))}`;
    return [label, formatRate(opsPerSec), spread, formatMs(latency.p50), formatMs(latency.p95), formatMs(latency.p99), cores];
  });
  context.out(formatTable(['target', 'req/s', 'rounds min–max', 'p50 ms', 'p95 ms', 'p99 ms', 'cores srv/gen/other'], rows));
  rounds.forEach((reports, index) => {
    for (const { label, outcome } of reports) {
      const where = rounds.length > 1 ? `round ${index + 1}, ${label}` : label;
      if (outcome.status !== 'ok') context.out(`  ${where}: ${outcome.status}: ${firstLine(outcome.reason)}`);
      else {
        if (outcome.result.latency.dropped > 0) {
          context.out(`  ${where}: percentiles over the first ${outcome.result.latency.samples} samples only`);
        }
        const other = outcome.cpu.otherCores;
        if (other !== undefined && other > NOISY_OTHER_CORES) {
          context.out(`  ${where}: NOISY: other processes used ${other.toFixed(2)} cores meanwhile; rerun on a quiet machine`);
        }
      }
    }
  });
  for (const r of ratioSummaries(rounds)) {
    const perRound = r.perRound.map((v) => (v === null ? 'n/a' : formatPercent(v))).join(', ');
    context.out(
      `ratio ${r.name}: ${r.median === null ? 'n/a' : formatPercent(r.median)} (goal ≥ ${formatPercent(r.goal)})` +
        (rounds.length > 1 ? `, median of the rounds' ratios: ${perRound}` : '') +
        (r.missing ? ` [${r.missing}]` : ''),
    );
  }
  const { options, machine } = context;
  context.out(
    `${options.connections} connections, pipelining 1, ${options.warmupS} s warmup + ${options.durationS} s per target, ` +
      `${rounds.length} round(s) of targets 1–4 in order; req/s and percentiles are the median round's; ` +
      `load generator (this process) and server (one child process at a time) share the ${machine.cpuCount} cores`,
  );
  context.out(`machine: ${describeMachine(machine)}`);
}

export function writeHttpReport(rounds: readonly (readonly TargetReport[])[], context: SuiteContext): string {
  const file = repoPath(RESULTS_FILE);
  mkdirSync(repoPath('bench/results/'), { recursive: true });
  const json = {
    suite: 'http',
    date: context.machine.date,
    machine: context.machine,
    settings: { ...context.options, pipelining: 1 },
    sharing: 'load generator and the measured server (one child process) run on the same cores',
    ok: rounds.every((reports) => reports.every((r) => r.outcome.status !== 'failed')),
    targets: summarize(rounds).map(({ key, label, median, rates, outcomes }) =>
      median
        ? { key, label, status: 'ok', medianRound: { ...figures(median.result), cpuCores: cpuFigures(median.cpu) }, roundRates: rates.map((v) => round(v, 1)) }
        : { key, label, status: outcomes.some((o) => o.status === 'failed') ? 'failed' : 'skipped', reasons: outcomes.map((o) => (o.status === 'ok' ? null : o.reason)) },
    ),
    ratios: ratioSummaries(rounds).map(({ name, median, perRound, goal, missing }) => ({
      name,
      value: median,
      perRound,
      goal,
      met: median === null ? null : median >= goal,
      ...(missing ? { missing } : {}),
    })),
    rounds: rounds.map((reports) =>
      reports.map(({ key, outcome }) =>
        outcome.status === 'ok'
          ? { key, status: 'ok', ...figures(outcome.result), cpuCores: cpuFigures(outcome.cpu) }
          : { key, status: outcome.status, reason: outcome.reason },
      ),
    ),
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

interface RatioSummary {
  readonly name: string;
  readonly goal: number;
  /** Each round's ratio (null when a side of it is missing). */
  readonly perRound: readonly (number | null)[];
  /** The median of the rounds' ratios, null when no round has both sides. */
  readonly median: number | null;
  readonly missing?: string;
}

/** Ratios within each round (node and ceiling measured minutes apart at most), then their median. */
function ratioSummaries(rounds: readonly (readonly TargetReport[])[]): RatioSummary[] {
  const rate = (reports: readonly TargetReport[], key: TargetKey): number | undefined => {
    const outcome = reports.find((r) => r.key === key)?.outcome;
    return outcome?.status === 'ok' ? outcome.result.opsPerSec : undefined;
  };
  return RATIOS.map(({ name, numerator, goal }) => {
    const perRound = rounds.map((reports) => {
      const top = rate(reports, numerator);
      const ceiling = rate(reports, 'ceiling');
      return top === undefined || ceiling === undefined || ceiling <= 0 ? null : top / ceiling;
    });
    const values = perRound.filter((v): v is number => v !== null).sort((a, b) => a - b);
    const median = values.length === 0 ? null : values[Math.floor((values.length - 1) / 2)]!;
    const missing = values.length === 0 ? `no round has figures for both ${numerator} and ceiling` : undefined;
    return { name, goal, perRound, median, ...(missing ? { missing } : {}) };
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
