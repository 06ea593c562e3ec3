/**
 * Fault profiles for the simulation. Each seed draws its own profile (VOPR's "swarm
 * testing"): some runs are lossy, some crash-heavy, some have slow disks or one entry per
 * message, so that different bugs get their chance. All rates are per simulation step.
 */
import type { SeededRandom } from '../../src/util/random.js';

export interface FaultRates {
  drop: number;
  duplicate: number;
  /** Extra delivery delay is uniform in [0, maxDelay] steps. */
  maxDelay: number;
  /** Per step: start a partition / heal it. */
  partition: number;
  heal: number;
  /** Per node per step: crash; per crashed node per step: restart. */
  crash: number;
  /** Per step: crash a leader (leader churn leaves divergent, uncommitted tails behind). */
  crashLeader: number;
  restart: number;
  /** Per step: a client proposal, a leadership transfer, a compaction. */
  propose: number;
  transfer: number;
  /** Per step: a linearizable read (ReadIndex) on a random live node. */
  read: number;
  /** Per step: a membership change (add a learner, promote it, remove a voter). */
  membership: number;
  compact: number;
  /** fsync latency is uniform in [0, maxFsyncDelay] steps. */
  maxFsyncDelay: number;
}

/** A middle-of-the-road profile (for reference; seeds draw their own, see drawProfile). */
export const CHAOS: FaultRates = {
  drop: 0.05,
  duplicate: 0.03,
  maxDelay: 2,
  partition: 0.01,
  heal: 0.03,
  crash: 0.003,
  crashLeader: 0.005,
  restart: 0.04,
  propose: 0.5,
  transfer: 0.004,
  read: 0.2,
  membership: 0.01,
  compact: 0.05,
  maxFsyncDelay: 2,
};

/** After the chaos: no loss, no partitions, no crashes; delays and fsync latency stay. */
export function calm(r: FaultRates): FaultRates {
  return { ...r, drop: 0, duplicate: 0, partition: 0, heal: 1, crash: 0, crashLeader: 0, restart: 1, transfer: 0, membership: 0 };
}

/**
 * Each seed draws its own fault profile (VOPR's "swarm testing"): some runs are lossy, some
 * crash-heavy, some have slow disks or one entry per message, so different bugs get a chance.
 */
export function drawProfile(r: SeededRandom): { rates: FaultRates; maxSizePerMsg: number; maxInflight: number } {
  const pick = <T>(xs: readonly T[]): T => xs[r.int(0, xs.length - 1)]!;
  return {
    rates: {
      drop: pick([0, 0.02, 0.05, 0.15]),
      duplicate: pick([0, 0.03, 0.1]),
      maxDelay: pick([0, 1, 2, 4]),
      partition: pick([0.005, 0.01, 0.03]),
      heal: pick([0.02, 0.05, 0.1]),
      crash: pick([0.001, 0.003, 0.01, 0.02]),
      crashLeader: pick([0, 0.005, 0.02, 0.05]),
      restart: pick([0.02, 0.05, 0.2]),
      propose: pick([0.2, 0.5, 1]),
      transfer: pick([0, 0.004, 0.02]),
      read: pick([0, 0.2, 0.5]),
      membership: pick([0, 0.01, 0.03]),
      compact: pick([0, 0.02, 0.1]),
      maxFsyncDelay: pick([0, 1, 3]),
    },
    // 30 bytes: one entry per App; 256: a handful; 4096: everything at once.
    maxSizePerMsg: pick([30, 256, 4096]),
    maxInflight: pick([2, 4, 64]),
  };
}
