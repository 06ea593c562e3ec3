/**
 * The `meta` group's state machine: a dispatcher over modules (membership flags, the lock
 * table, the embedded stores as they arrive), each owning its part of the state and its
 * part of the snapshot. A command names its module; an unknown module or a module's
 * refusal is answered as a result, never thrown, so one bad command cannot stop a replica.
 * Deterministic: modules read time only from the command context.
 */
import type { AppliedCommand, StateMachine } from '../raft/driver/state-machine.js';

export interface MetaModule {
  readonly name: string;
  apply(command: unknown, context: { readonly index: number; readonly now: number }): unknown;
  snapshot(): unknown;
  restore(state: unknown): void;
}

export interface MetaCommand {
  readonly module: string;
  readonly command: unknown;
}

export type MetaResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export function encodeMetaCommand(command: MetaCommand): Uint8Array {
  return Buffer.from(JSON.stringify(command), 'utf8');
}

export class MetaStateMachine implements StateMachine {
  private readonly modules = new Map<string, MetaModule>();

  constructor(modules: readonly MetaModule[]) {
    for (const m of modules) this.modules.set(m.name, m);
  }

  apply(applied: AppliedCommand): MetaResult {
    let parsed: MetaCommand;
    try {
      parsed = JSON.parse(Buffer.from(applied.payload).toString('utf8')) as MetaCommand;
    } catch {
      return { ok: false, error: 'malformed meta command' };
    }
    const module = this.modules.get(parsed.module);
    if (!module) return { ok: false, error: `unknown meta module "${String(parsed.module)}"` };
    return { ok: true, value: module.apply(parsed.command, { index: applied.index, now: applied.now }) };
  }

  snapshot(): Uint8Array {
    const state: Record<string, unknown> = {};
    for (const [name, m] of this.modules) state[name] = m.snapshot();
    return Buffer.from(JSON.stringify(state), 'utf8');
  }

  restore(data: Uint8Array): void {
    const state = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
    for (const [name, m] of this.modules) m.restore(state[name]);
  }
}
