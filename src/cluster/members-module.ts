/**
 * The addresses of members added at run time, replicated in the meta group (the Raft
 * configuration says who is a member; this says where to reach them). Members from the
 * bootstrap `--peers` list need no entry. Changes are reported to a local listener after
 * they apply, so the node can update its peer links; the listener never changes state.
 */
import type { MetaModule } from './meta-state-machine.js';

export const MEMBERS = 'members';

export type MembersCommand =
  | { readonly op: 'put'; readonly id: string; readonly address: string }
  | { readonly op: 'delete'; readonly id: string };

export class MembersModule implements MetaModule {
  readonly name = MEMBERS;
  private addresses = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  apply(command: unknown): { ok: boolean } {
    const c = command as Partial<MembersCommand> & { id?: unknown; address?: unknown };
    if (typeof c.id !== 'string') return { ok: false };
    if (c.op === 'put' && typeof c.address === 'string') this.addresses.set(c.id, c.address);
    else if (c.op === 'delete') this.addresses.delete(c.id);
    else return { ok: false };
    this.changed();
    return { ok: true };
  }

  address(id: string): string | undefined {
    return this.addresses.get(id);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): unknown {
    return Object.fromEntries(this.addresses);
  }

  restore(state: unknown): void {
    this.addresses = new Map(Object.entries((state ?? {}) as Record<string, string>));
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
