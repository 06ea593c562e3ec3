/**
 * The lock table as a module of the replicated `meta` state machine. Commands arrive
 * without a clock: the module stamps each with the state machine's time (the proposing
 * leader's timestamp, never running back), so every replica applies the same transition.
 * The table's events are numbered by (log index, position) — a cursor a subscriber can
 * resume from — and handed to a local listener after each command; the listener only
 * publishes, it never changes state.
 */
import type { MetaModule } from '../cluster/meta-state-machine.js';
import { LockTable } from './lock-table.js';
import type { LockError, LockEvent, LockTableOptions } from './types.js';

export const LOCKS = 'locks';

type Stamped<T> = Omit<T, 'now'>;
type Commands = {
  openSession: Stamped<Parameters<LockTable['openSession']>[0]>;
  keepAlive: Stamped<Parameters<LockTable['keepAlive']>[0]>;
  closeSession: Stamped<Parameters<LockTable['closeSession']>[0]>;
  expireSessions: Stamped<Parameters<LockTable['expireSessions']>[0]>;
  extendAll: Stamped<Parameters<LockTable['extendAll']>[0]>;
  acquire: Stamped<Parameters<LockTable['acquire']>[0]>;
  cancelWait: Stamped<Parameters<LockTable['cancelWait']>[0]>;
  release: Stamped<Parameters<LockTable['release']>[0]>;
  downgrade: Stamped<Parameters<LockTable['downgrade']>[0]>;
  prune: Stamped<Parameters<LockTable['prune']>[0]>;
};

/**
 * `caller`, when set, is the principal making the call: a command naming a session it does
 * not own is refused with FORBIDDEN inside the state machine, so the check and the change
 * are one atomic step. Trusted callers (the leader's own duties, admins) leave it out.
 */
export type LockCommand = { [K in keyof Commands]: { readonly op: K; readonly caller?: string } & Commands[K] }[keyof Commands];

/** Each command goes to the table method of the same name, stamped with the state-machine clock. */
const DISPATCH: { [K in keyof Commands]: (t: LockTable, cmd: Commands[K] & { now: number }) => unknown } = {
  openSession: (t, cmd) => t.openSession(cmd),
  keepAlive: (t, cmd) => t.keepAlive(cmd),
  closeSession: (t, cmd) => t.closeSession(cmd),
  expireSessions: (t, cmd) => t.expireSessions(cmd),
  extendAll: (t, cmd) => t.extendAll(cmd),
  acquire: (t, cmd) => t.acquire(cmd),
  cancelWait: (t, cmd) => t.cancelWait(cmd),
  release: (t, cmd) => t.release(cmd),
  downgrade: (t, cmd) => t.downgrade(cmd),
  prune: (t, cmd) => t.prune(cmd),
};

export interface SequencedLockEvent {
  /** Log index of the command that caused it, and its position among that command's events. */
  readonly index: number;
  readonly position: number;
  readonly event: LockEvent;
}

export class LockModule implements MetaModule {
  readonly name = LOCKS;
  private table: LockTable;
  private readonly listeners = new Set<(events: readonly SequencedLockEvent[]) => void>();
  private readonly restoreListeners = new Set<(lastIndex: number) => void>();
  /** Log index of the last lock command applied (kept in snapshots: event history starts after it). */
  private lastIndex = 0;

  constructor(private readonly options: LockTableOptions = {}) {
    this.table = new LockTable(options);
  }

  apply(command: unknown, context: { readonly index: number; readonly now: number }): unknown {
    const c = command as LockCommand;
    // Own keys only: an op such as "toString" must not reach Object.prototype.
    const run = Object.hasOwn(DISPATCH, c.op)
      ? (DISPATCH[c.op] as (t: LockTable, cmd: LockCommand & { now: number }) => unknown)
      : undefined;
    if (!run) return { ok: false, code: 'BAD_INPUT', message: `unknown lock command "${String(c.op)}"` };
    const t = this.table;
    this.lastIndex = context.index;
    const refused = this.checkCaller(c);
    if (refused) return refused;
    const result = run(t, { ...c, now: context.now });
    const events = t.drainEvents().map((event, position) => ({ index: context.index, position, event }));
    if (events.length > 0) for (const listener of this.listeners) listener(events);
    return result;
  }

  private checkCaller(c: LockCommand): LockError | undefined {
    if (c.caller === undefined || c.op === 'openSession') return undefined;
    const sessionId = 'sessionId' in c ? c.sessionId : undefined;
    // Leader duties (expire, extend, prune) and session-less cancels are not a client's to run.
    if (sessionId === undefined) return { ok: false, code: 'FORBIDDEN', message: `a client may not run "${c.op}" without a session` };
    const owner = this.table.sessionOwner(sessionId);
    if (owner !== undefined && owner !== c.caller) {
      return { ok: false, code: 'FORBIDDEN', message: 'the session belongs to another token', sessionId };
    }
    return undefined;
  }

  /** The table, for local reads (after a read barrier when they must be linearizable). */
  view(): Pick<
    LockTable,
    'lock' | 'locks' | 'session' | 'sessions' | 'waitForGraph' | 'checkFence' | 'garbageDue' | 'overdueWaits' | 'sessionsDue'
  > {
    return this.table;
  }

  onEvents(listener: (events: readonly SequencedLockEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after a snapshot replaced the state: events up to `lastIndex` were never seen here. */
  onRestore(listener: (lastIndex: number) => void): () => void {
    this.restoreListeners.add(listener);
    return () => this.restoreListeners.delete(listener);
  }

  snapshot(): unknown {
    return { table: this.table.snapshot(), lastIndex: this.lastIndex };
  }

  restore(state: unknown): void {
    // Snapshots from before lastIndex was kept hold the table alone.
    const wrapped = typeof state === 'object' && state !== null && 'table' in state && 'lastIndex' in state;
    const tableState = wrapped ? (state as { table: unknown }).table : state;
    this.lastIndex = wrapped ? Number((state as { lastIndex: unknown }).lastIndex) : 0;
    this.table = tableState === undefined ? new LockTable(this.options) : LockTable.restore(tableState);
    for (const listener of this.restoreListeners) listener(this.lastIndex);
  }
}
