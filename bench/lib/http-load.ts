/**
 * HTTP load with autocannon's programmatic API: an unmeasured warmup run, then the measured
 * run, both against loopback with pipelining 1.
 *
 * Throughput is autocannon's requests/s average (per-second samples). Latency is NOT taken
 * from autocannon's histogram: that one records whole milliseconds and has no p95. Instead
 * every response's own duration (float ms from process.hrtime, from the 'response' event) goes
 * into a LatencyRecorder, which gives exact p50/p95/p99. autocannon's p50/p97.5/p99 are kept
 * beside it for cross-checking.
 *
 * Every response body goes through `verify`; any connection error, timeout, non-2xx status
 * or wrong body makes `runHttpLoad` throw with the first problem seen, warmup included.
 */
import autocannon from 'autocannon';
import type { Result } from 'autocannon';
import { LatencyRecorder, type LatencySummary } from './percentiles.js';

export interface HttpLoadOptions {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  /** Most latency samples kept (more are counted as dropped). */
  readonly maxSamples: number;
  /** Why a response body is wrong, or undefined when it is right. */
  readonly verify: (body: string) => string | undefined;
}

export interface HttpLoadResult {
  readonly opsPerSec: number;
  readonly totalOps: number;
  readonly durationS: number;
  readonly latency: LatencySummary;
  /** CPU time of this (load generator) process per measured request, in µs. */
  readonly loadgenCpuUsPerOp: number;
  /** autocannon's own (whole-millisecond) latency figures, for cross-checking. */
  readonly autocannonLatencyMs: { readonly p50: number; readonly p97_5: number; readonly p99: number };
}

export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  if (options.warmupS > 0) {
    const warm = await cannon(options, { durationS: options.warmupS });
    assertClean('warmup', warm.result, warm.firstProblem);
  }
  const recorder = new LatencyRecorder(options.maxSamples);
  const cpuBefore = process.cpuUsage();
  const { result, firstProblem } = await cannon(options, { durationS: options.durationS, recorder });
  const cpu = process.cpuUsage(cpuBefore);
  assertClean('measured run', result, firstProblem);
  return {
    opsPerSec: result.requests.average,
    totalOps: result.requests.total,
    durationS: result.duration,
    latency: recorder.summary(),
    loadgenCpuUsPerOp: (cpu.user + cpu.system) / result.requests.total,
    autocannonLatencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99 },
  };
}

interface CannonOutcome {
  readonly result: Result;
  readonly firstProblem: string | undefined;
}

interface CannonRun {
  readonly durationS: number;
  /** Where response latencies go; none during warmup. */
  readonly recorder?: LatencyRecorder;
}

function cannon(options: HttpLoadOptions, run: CannonRun): Promise<CannonOutcome> {
  const { durationS, recorder } = run;
  let firstProblem: string | undefined;
  return new Promise<CannonOutcome>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method,
        headers: { ...options.headers },
        body: options.body,
        connections: options.connections,
        pipelining: 1,
        duration: durationS,
        verifyBody: (body) => {
          const problem = options.verify(String(body));
          if (problem !== undefined) firstProblem ??= problem;
          return problem === undefined;
        },
      },
      (error: unknown, result: Result) => {
        if (error) reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        else resolve({ result, firstProblem });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode < 200 || statusCode > 299) firstProblem ??= `HTTP status ${statusCode}`;
      recorder?.record(responseTimeMs);
    });
  });
}

function assertClean(phase: string, result: Result, firstProblem: string | undefined): void {
  const bad = {
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
  };
  const total = bad.non2xx + bad.errors + bad.timeouts + bad.mismatches;
  if (total > 0 || result.requests.total === 0) {
    throw new Error(
      `${phase}: ${result.requests.total} responses, ${JSON.stringify(bad)}` +
        (firstProblem ? `; first problem: ${firstProblem}` : '') +
        (result.requests.total === 0 ? '; no request completed' : ''),
    );
  }
}
