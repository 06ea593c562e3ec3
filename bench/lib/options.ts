/**
 * Bench knobs from the environment, validated in one place. A bad value stops the bench
 * with a message naming the variable.
 *
 *   BENCH_DURATION_S   measured seconds per target        (default 10)
 *   BENCH_WARMUP_S     unmeasured seconds before that     (default 2, 0 = none)
 *   BENCH_CONNECTIONS  concurrent connections/clients     (default 50)
 *   BENCH_MAX_OPS      cap on measured operations/target  (default 2,000,000)
 *   BENCH_ROUNDS       rounds of the http suite's targets (default 3): ratios are taken
 *                      within a round and the median is reported, so a machine that
 *                      speeds up or slows down during the run moves both sides alike
 */

export interface BenchOptions {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly maxOps: number;
  readonly rounds: number;
}

export function readBenchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  return {
    durationS: readNumber(env, { name: 'BENCH_DURATION_S', fallback: 10, min: 0.5, integer: false }),
    warmupS: readNumber(env, { name: 'BENCH_WARMUP_S', fallback: 2, min: 0, integer: false }),
    connections: readNumber(env, { name: 'BENCH_CONNECTIONS', fallback: 50, min: 1, integer: true }),
    maxOps: readNumber(env, { name: 'BENCH_MAX_OPS', fallback: 2_000_000, min: 1, integer: true }),
    rounds: readNumber(env, { name: 'BENCH_ROUNDS', fallback: 3, min: 1, integer: true }),
  };
}

interface NumberSpec {
  readonly name: string;
  readonly fallback: number;
  readonly min: number;
  readonly integer: boolean;
}

function readNumber(env: NodeJS.ProcessEnv, rule: NumberSpec): number {
  const { name, fallback } = rule;
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < rule.min || (rule.integer && !Number.isInteger(value))) {
    const kind = rule.integer ? 'an integer' : 'a number';
    throw new Error(`${name}=${JSON.stringify(raw)}: must be ${kind} ≥ ${rule.min}`);
  }
  return value;
}
