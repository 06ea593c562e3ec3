/** A replicated counter for driver tests: payload "add:N" adds N and returns the new total. */
import type { AppliedCommand, StateMachine } from '../../../src/raft/driver/state-machine.js';

export class CounterMachine implements StateMachine {
  total = 0;
  readonly applied: Array<{ index: number; clientId: string; n: number }> = [];

  apply(command: AppliedCommand): number {
    const n = Number(Buffer.from(command.payload).toString('utf8').slice(4));
    this.total += n;
    this.applied.push({ index: command.index, clientId: command.clientId, n });
    return this.total;
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ total: this.total }));
  }

  restore(data: Uint8Array): void {
    this.total = (JSON.parse(Buffer.from(data).toString('utf8')) as { total: number }).total;
  }
}

export const add = (n: number): Uint8Array => Buffer.from(`add:${n}`);
