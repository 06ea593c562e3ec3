/**
 * What every bench suite (http now; raft, locks later) receives and returns, so bench/run.ts
 * can run them in order and report one exit status.
 */
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';

export interface SuiteContext {
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  /** Results: the lines a reader keeps (stdout). */
  readonly out: (line: string) => void;
  /** Progress: what is happening now (stderr). */
  readonly progress: (line: string) => void;
}

export interface SuiteOutcome {
  /** False when any target failed; skipped targets do not count as failures. */
  readonly ok: boolean;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(context: SuiteContext): Promise<SuiteOutcome>;
}
