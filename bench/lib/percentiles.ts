/**
 * Exact latency percentiles. Every sample (milliseconds, float) is kept in a Float64Array that
 * starts preallocated and doubles up to a fixed cap, then sorted once at the end; percentiles
 * are nearest-rank, so p99 is a latency some request really had. Past the cap further samples
 * are counted but not kept, and `summary()` says how many were dropped.
 */

export interface LatencySummary {
  /** Samples the percentiles were computed over. */
  readonly samples: number;
  /** Samples recorded after the cap was reached (not in the percentiles). */
  readonly dropped: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export class LatencyRecorder {
  private values: Float64Array;
  private count = 0;
  private overflow = 0;

  constructor(
    private readonly cap: number,
    initialCapacity = Math.min(cap, 1 << 16),
  ) {
    this.values = new Float64Array(initialCapacity);
  }

  record(ms: number): void {
    if (this.count === this.values.length) {
      if (this.count >= this.cap) {
        this.overflow++;
        return;
      }
      const grown = new Float64Array(Math.min(this.cap, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  get size(): number {
    return this.count;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      samples: this.count,
      dropped: this.overflow,
      mean: this.count === 0 ? Number.NaN : sum / this.count,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: this.count === 0 ? Number.NaN : (sorted[this.count - 1] ?? Number.NaN),
    };
  }
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}
