/**
 * Bench entry point (`npm run bench`, which builds first; or `npx tsx bench/run.ts`).
 * Runs the suites in order, or only those named on the command line
 * (`npm run bench -- http`). Results go to stdout, progress to stderr. Exit status 1 when a
 * suite failed (a target answered wrongly or errored), 2 on bad arguments or settings.
 * Every server child is killed and every temp dir removed on the way out, also on Ctrl-C.
 */
import { installExitGuard } from './lib/exit-guard.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { readBenchOptions, type BenchOptions } from './lib/options.js';
import { stopAllChildren } from './lib/children.js';
import { removeAllTempDirsSync } from './lib/temp-dirs.js';
import type { Suite, SuiteContext } from './lib/suite.js';
import { httpSuite } from './suites/http.js';
import { raftSuite } from './suites/raft.js';
import { locksSuite } from './suites/locks.js';

/** In run order. Later suites (locks, …) are added here. */
const SUITES: readonly Suite[] = [httpSuite, raftSuite, locksSuite];

async function main(argv: readonly string[]): Promise<number> {
  const wanted = argv.filter((arg) => !arg.startsWith('-'));
  const unknown = wanted.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0 || argv.includes('--help')) {
    if (unknown.length > 0) process.stderr.write(`unknown suite: ${unknown.join(', ')}\n`);
    process.stderr.write(`usage: npm run bench [-- <suite>...]\nsuites:\n`);
    for (const suite of SUITES) process.stderr.write(`  ${suite.name.padEnd(8)} ${suite.description}\n`);
    return unknown.length > 0 ? 2 : 0;
  }
  let options: BenchOptions;
  try {
    options = readBenchOptions();
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  installExitGuard();
  const machine = machineInfo();
  const context: SuiteContext = {
    options,
    machine,
    out: (line) => process.stdout.write(`${line}\n`),
    progress: (line) => process.stderr.write(`· ${line}\n`),
  };
  context.out(`distsync bench — ${describeMachine(machine)}`);

  let ok = true;
  for (const suite of SUITES.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
    context.out(`\n== ${suite.name}: ${suite.description} ==`);
    try {
      const outcome = await suite.run(context);
      ok &&= outcome.ok;
      if (!outcome.ok) context.out(`suite ${suite.name}: FAILED (see above)`);
    } catch (error) {
      ok = false;
      context.out(`suite ${suite.name}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await stopAllChildren();
      removeAllTempDirsSync();
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
