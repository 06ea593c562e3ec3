/**
 * A replicated counter in the meta group, reachable only through the node's test hooks
 * (`--test-hooks`): multi-process tests use it to check that no acknowledged write is lost
 * across crashes and leader changes. `add` returns the new total and the index it applied at.
 */
import type { MetaModule } from './meta-state-machine.js';

export const TEST_COUNTER = 'testCounter';

export interface CounterAdd {
  readonly add: number;
}

export class TestCounterModule implements MetaModule {
  readonly name = TEST_COUNTER;
  total = 0;
  writes = 0;

  apply(command: unknown, context: { index: number }): { total: number; writes: number; index: number } {
    const n = (command as CounterAdd).add;
    if (typeof n === 'number' && Number.isSafeInteger(n)) {
      this.total += n;
      this.writes++;
    }
    return { total: this.total, writes: this.writes, index: context.index };
  }

  snapshot(): unknown {
    return { total: this.total, writes: this.writes };
  }

  restore(state: unknown): void {
    const s = (state ?? { total: 0, writes: 0 }) as { total: number; writes: number };
    this.total = s.total;
    this.writes = s.writes;
  }
}
