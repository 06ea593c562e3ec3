import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../../../bench/lib/closed-loop.js';

/** Step values of the ops that must never reach the step percentiles. */
const FAILED_STEP_MS = 50;
const WARMUP_STEP_MS = 99;

describe('runClosedLoop step recording', () => {
  it('keeps the steps of measured, successful ops only: two per op, none of failed ops', async () => {
    const calls = new Array<number>(4).fill(0);
    const result = await runClosedLoop({
      workers: 4,
      warmupS: 0,
      durationS: 0.3,
      maxOps: 1_000_000,
      drainMs: 1_000,
      op: async (w, step) => {
        const n = ++calls[w]!;
        await sleep(1);
        if (n % 3 === 0) {
          // A failed op: one step recorded before it fails, one never.
          step(FAILED_STEP_MS);
          await sleep(1);
          throw new Error('planned failure');
        }
        step(1);
        await sleep(1);
        step(2);
      },
    });

    expect(result.ops).toBeGreaterThan(10);
    expect(result.errors).toBeGreaterThan(0);
    expect(result.reasons).toEqual([['planned failure', result.errors]]);
    const steps = result.stepLatency;
    expect(steps).toBeDefined();
    expect(steps!.samples).toBe(2 * result.ops);
    expect(steps!.dropped).toBe(0);
    // Only the 1s and 2s of successful ops, as many of each.
    expect(steps!.max).toBe(2);
    expect(steps!.mean).toBe(1.5);
    expect(steps!.p50).toBe(1);
    expect(steps!.p95).toBe(2);
  });

  it('drops the steps of ops that started in the warmup, also when they end in the window', async () => {
    let measuring = false;
    let warmupOps = 0;
    let straddling = 0;
    const result = await runClosedLoop({
      workers: 3,
      warmupS: 0.15,
      durationS: 0.3,
      maxOps: 1_000_000,
      drainMs: 1_000,
      onMeasureStart: () => (measuring = true),
      op: async (_w, step) => {
        const inWarmup = !measuring;
        if (inWarmup) warmupOps++;
        step(inWarmup ? WARMUP_STEP_MS : 1);
        await sleep(inWarmup ? 7 : 1);
        step(inWarmup ? WARMUP_STEP_MS : 2);
        if (inWarmup && measuring) straddling++;
      },
    });

    expect(warmupOps).toBeGreaterThan(0);
    expect(straddling).toBeGreaterThan(0);
    expect(result.warmupErrors).toBe(0);
    expect(result.stepLatency!.samples).toBe(2 * result.ops);
    expect(result.stepLatency!.max).toBe(2);
    expect(result.stepLatency!.mean).toBe(1.5);
  });

  it('leaves stepLatency undefined for ops that ignore step', async () => {
    const result = await runClosedLoop({
      workers: 2,
      warmupS: 0,
      durationS: 0.1,
      maxOps: 1_000_000,
      drainMs: 1_000,
      op: () => sleep(1),
    });
    expect(result.ops).toBeGreaterThan(0);
    expect(result.stepLatency).toBeUndefined();
  });
});
