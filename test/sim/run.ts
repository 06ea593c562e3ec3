/**
 * Runs one seed of the simulation and turns any failure into a message that names the seed
 * and the exact command that replays it.
 */
import { Simulation, type SimOptions, type SimResult } from './harness.js';

export class SimFailure extends Error {
  override readonly name = 'SimFailure';
}

export function replayCommand(o: SimOptions): string {
  return `npm run sim -- --seed ${o.seed} --nodes ${o.nodes} --steps ${o.steps}`;
}

export function runSeed(o: SimOptions): SimResult {
  const sim = new Simulation(o);
  try {
    for (let i = 0; i < o.steps; i++) sim.step();
    // Liveness: a new entry commits within 40 election timeouts of healing (the worst seen in
    // 900 seeds was 134 ticks); catch-up may not stall for 100 election timeouts.
    const e = o.electionTick ?? 10;
    sim.healAndConverge(40 * e, 100 * e);
    sim.checkFinal();
    return sim.result();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SimFailure(`seed ${o.seed} (${o.nodes} nodes) failed at step ${sim.now}: ${why}\n  replay: ${replayCommand(o)}`, {
      cause: e,
    });
  }
}
