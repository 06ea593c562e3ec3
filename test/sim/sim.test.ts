/**
 * The deterministic Raft simulation as a test: many seeds across 3, 5 and 7 nodes, each one a
 * whole faulty run (see harness.ts) checked at every step. A failure names the seed and the
 * command that replays it.
 *
 * Seeds from DISTSYNC_SIM_FROM (default 1), DISTSYNC_SIM_SEEDS of them in total (default
 * 1200), DISTSYNC_SIM_STEPS chaos steps each (default 1500). Seed s runs on 3, 5 or 7 nodes by
 * (s - from) mod 3, exactly as `npm run sim -- --seeds N --from F --steps S` does, so the
 * printed range replays with that command.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from './run.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const total = envInt('DISTSYNC_SIM_SEEDS', 1200);
const from = envInt('DISTSYNC_SIM_FROM', 1);
const steps = envInt('DISTSYNC_SIM_STEPS', 1500);
const sizes = [3, 5, 7] as const;

describe('raft deterministic simulation', () => {
  sizes.forEach((nodes, which) => {
    const seeds: number[] = [];
    for (let s = from + which; s < from + total; s += sizes.length) seeds.push(s);
    it(`${seeds.length} seeds on ${nodes} nodes hold every invariant`, { timeout: 900_000 }, () => {
      console.log(
        `raft sim: ${nodes} nodes, ${seeds.length} seeds in ${from}..${from + total - 1} (every 3rd), ${steps} steps; ` +
          `replay all: npm run sim -- --seeds ${total} --from ${from} --steps ${steps}`,
      );
      const failures: string[] = [];
      let acked = 0;
      for (const seed of seeds) {
        try {
          acked += runSeed({ seed, nodes, steps }).acked;
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
          if (failures.length >= 5) break;
        }
      }
      expect(failures, failures.join('\n')).toEqual([]);
      // The runs did real work: proposals were committed and acknowledged.
      expect(acked).toBeGreaterThan(seeds.length * 50);
    });
  });
});
