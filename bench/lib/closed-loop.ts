/**
 * Closed-loop load: W workers, each running one operation (here: an acquire+release pair)
 * after another. An unmeasured warmup, then a measured window bounded by time AND by a count
 * of attempts. Only operations that start inside the window count; throughput = completed
 * operations / (time from the window's start until the last of them ended), so the
 * percentiles are those of the load the throughput was measured at.
 *
 * A failed operation is counted (by a short reason) and the worker goes on; the window also
 * ends early after `bailoutErrors` failures. Once the window has ended, operations still in
 * flight get `drainMs` to finish, then the run returns with `undrained` set and the caller
 * closes its connections (which rejects whatever is left).
 *
 * An operation may time its parts (an acquire, a release) through `step`. A worker keeps the
 * step samples of its current operation aside and adds them to the step percentiles only when
 * that operation started in the measured window and succeeded (and its own latency was kept),
 * so the step percentiles cover exactly the operations the pair percentiles do.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type LatencySummary } from './percentiles.js';

export interface ClosedLoopOptions {
  readonly workers: number;
  /**
   * One operation of worker `w`; throws (or rejects) when it failed. `step(ms)` records the
   * latency of one part of it (see the top of the file); an op may ignore it.
   */
  readonly op: (w: number, step: (ms: number) => void) => Promise<void>;
  readonly warmupS: number;
  readonly durationS: number;
  /** Cap on measured attempts (successes and failures). */
  readonly maxOps: number;
  readonly drainMs: number;
  readonly bailoutErrors?: number;
  /** Called once when the measured window starts (CPU and metric baselines). */
  readonly onMeasureStart?: () => void;
  /** Called once when the measured window ends, before the drain. */
  readonly onMeasureEnd?: () => void;
}

export interface ClosedLoopResult {
  readonly opsPerSec: number;
  readonly ops: number;
  readonly durationS: number;
  readonly latency: LatencySummary;
  /** Latencies passed to `step` by the measured, successful operations; undefined when none. */
  readonly stepLatency?: LatencySummary;
  /** Failed operations that started in the measured window. */
  readonly errors: number;
  /** errors / (ops + errors). */
  readonly errorRate: number;
  readonly warmupErrors: number;
  /** Failure reasons with counts, most frequent first (measured window and warmup). */
  readonly reasons: readonly (readonly [string, number])[];
  /** Operations still unanswered when the drain time ran out. */
  readonly undrained: number;
  /** CPU time of this process per measured operation, µs. */
  readonly loadgenCpuUsPerOp: number;
}

type Phase = 'warmup' | 'measure' | 'stop';

/** Room for this many step samples per measured operation (more are counted as `dropped`). */
const STEPS_PER_OP_CAP = 4;

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const recorder = new LatencyRecorder(options.maxOps, Math.min(options.maxOps, 1 << 18));
  // Room for a few steps per operation; the array grows only as far as it is used.
  const stepRecorder = new LatencyRecorder(STEPS_PER_OP_CAP * options.maxOps, Math.min(options.maxOps, 1 << 16));
  const bailout = options.bailoutErrors ?? 5_000;
  const reasons = new Map<string, number>();
  let phase: Phase = 'warmup';
  let errors = 0;
  let warmupErrors = 0;
  let inFlight = 0;
  let measureStart = 0;
  let lastEnd = 0;
  let cpuStart = process.cpuUsage();
  let cpu: NodeJS.CpuUsage | undefined;
  let signalStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (signalStopped = resolve));
  const timers: NodeJS.Timeout[] = [];

  const stop = (): void => {
    if (phase === 'stop') return;
    const wasMeasuring = phase === 'measure';
    phase = 'stop';
    if (wasMeasuring) {
      cpu = process.cpuUsage(cpuStart);
      options.onMeasureEnd?.();
    }
    signalStopped();
  };
  const startMeasuring = (): void => {
    if (phase !== 'warmup') return;
    phase = 'measure';
    options.onMeasureStart?.();
    measureStart = performance.now();
    lastEnd = measureStart;
    cpuStart = process.cpuUsage();
    timers.push(setTimeout(stop, options.durationS * 1000));
  };
  if (options.warmupS > 0) timers.push(setTimeout(startMeasuring, options.warmupS * 1000));
  else startMeasuring();

  const worker = async (w: number): Promise<void> => {
    // This worker's step samples of its current operation, kept only while `keepSteps`
    // (the operation runs and started in the measured window); one closure per worker.
    const steps: number[] = [];
    let keepSteps = false;
    const step = (ms: number): void => {
      if (keepSteps) steps.push(ms);
    };
    while (phase !== 'stop') {
      const measured = phase === 'measure';
      steps.length = 0;
      keepSteps = measured;
      inFlight++;
      const started = performance.now();
      let failure: string | undefined;
      try {
        await options.op(w, step);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      const ended = performance.now();
      keepSteps = false;
      inFlight--;
      if (failure !== undefined) {
        reasons.set(failure, (reasons.get(failure) ?? 0) + 1);
        if (!measured) {
          warmupErrors++;
          continue;
        }
        errors++;
        if (errors >= bailout) stop();
      } else if (measured) {
        const kept = recorder.size;
        recorder.record(ended - started);
        // Past the pair cap the pair is not in the percentiles; neither are its steps.
        if (recorder.size > kept) for (const ms of steps) stepRecorder.record(ms);
        if (ended > lastEnd) lastEnd = ended;
      }
      if (measured && recorder.size + errors >= options.maxOps) stop();
    }
  };

  let undrained = 0;
  try {
    const loops = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
    const drain = stopped.then(
      () =>
        new Promise<'timeout'>((resolve) => {
          timers.push(setTimeout(() => resolve('timeout'), options.drainMs).unref());
        }),
    );
    if ((await Promise.race([loops, drain])) === 'timeout') undrained = inFlight;
  } finally {
    stop();
    for (const timer of timers) clearTimeout(timer);
  }

  const latency = recorder.summary();
  const stepLatency = stepRecorder.size > 0 ? stepRecorder.summary() : undefined;
  const durationS = (lastEnd - measureStart) / 1000;
  const attempts = latency.samples + errors;
  const cpuUs = cpu === undefined ? Number.NaN : cpu.user + cpu.system;
  return {
    opsPerSec: durationS > 0 ? latency.samples / durationS : 0,
    ops: latency.samples,
    durationS,
    latency,
    stepLatency,
    errors,
    errorRate: attempts === 0 ? 1 : errors / attempts,
    warmupErrors,
    reasons: [...reasons.entries()].sort((a, b) => b[1] - a[1]),
    undrained,
    loadgenCpuUsPerOp: latency.samples > 0 ? cpuUs / latency.samples : Number.NaN,
  };
}
