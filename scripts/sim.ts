/**
 * Deterministic Raft simulation CLI (run with tsx; `npm run sim -- …`).
 *
 *   --seed N            run one seed (replay a failure)
 *   --seeds N --from S  run N seeds starting at S (default from 1)
 *   --nodes K           cluster size (default: 3, 5 and 7 in turn)
 *   --steps S           chaos steps per seed before healing (default 1500, as the test)
 */
import { parseArgs } from 'node:util';
import { runSeed } from '../test/sim/run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string' },
    nodes: { type: 'string' },
    steps: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

function int(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const steps = int('steps', values.steps, 1500);
const sizes = values.nodes !== undefined ? [int('nodes', values.nodes, 3)] : [3, 5, 7];
const first = values.seed !== undefined ? int('seed', values.seed, 1) : int('from', values.from, 1);
const count = values.seed !== undefined ? 1 : int('seeds', values.seeds, 100);

let failures = 0;
const started = performance.now();
for (let seed = first; seed < first + count; seed++) {
  const nodes = sizes[(seed - first) % sizes.length] ?? 3;
  try {
    const r = runSeed({ seed, nodes, steps });
    if (values.verbose || count === 1) console.log(JSON.stringify({ nodes, ...r }));
  } catch (e) {
    failures++;
    console.error(e instanceof Error ? e.message : e);
  }
}
const secs = (performance.now() - started) / 1000;
console.log(`${count} seeds from ${first}, ${failures} failed, ${secs.toFixed(1)} s (${(count / secs).toFixed(1)} seeds/s)`);
process.exit(failures > 0 ? 1 : 0);
