/**
 * LockService: sessions and locks over the replicated lock table. It decides nothing
 * itself — every change is a meta command, and ownership of a session is checked inside the
 * state machine — but it runs the leader's duties (expire sessions past their deadline,
 * cancel waits past theirs, collect garbage; on winning an election, extend every deadline
 * first, as etcd does for leases) and turns a queued acquire into a promise that ends with
 * the first replicated outcome: a grant, a deadlock abort, or a cancel. A local timer (or
 * the client going away) only proposes the cancel, so a grant can never be lost between
 * the two.
 */
import { randomBytes } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { appError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { LOCKS, type LockCommand, type LockModule, type SequencedLockEvent } from '../lock/meta-module.js';
import type { LockError, LockMode, LockView, SessionView, WaitForEdge } from '../lock/types.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';
import type { MetaService } from './meta-service.js';

/** Above two election timeouts (2 × 1 s) plus a keepalive round, so a leader change cannot expire a live session. */
export const MIN_SESSION_TTL_MS = 3_000;
export const MAX_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest wait one acquire may ask for; an async wait without a timeout waits this long. */
export const MAX_WAIT_MS = 24 * 60 * 60 * 1000;

export type Consistency = 'LINEARIZABLE' | 'LOCAL';

/** Who is calling: the principal's id, and whether it may act on any session. */
export interface Caller {
  readonly id: string;
  readonly isAdmin: boolean;
}

export interface Grant {
  readonly status: 'GRANTED';
  readonly requestId: string;
  readonly fencingToken: string;
  readonly expiresAt: number;
}

export type AcquireAnswer = Grant | { readonly status: 'WAITING'; readonly requestId: string };

export interface AcquireRequest {
  readonly requestId?: string;
  readonly sessionId: string;
  readonly caller: Caller;
  readonly name: string;
  readonly mode: LockMode;
  readonly timeoutMs: number;
  /** Answer WAITING at once instead of waiting; the outcome comes as a lock event. */
  readonly async?: boolean;
  /** Registers a callback for the client going away; a synchronous wait then proposes its cancel. */
  readonly onAbandon?: (cancel: () => void) => () => void;
}

export interface LockServiceObserver {
  /** A synchronous acquire of this node ended; waitedMs counts only queued requests. */
  acquireEnded(outcome: 'granted' | 'timeout' | 'deadlock' | 'session' | 'error', waitedMs: number | undefined): void;
}

interface Waiter {
  resolve(grant: Grant): void;
  reject(error: Error): void;
}

export interface LockServiceOptions {
  readonly selfId: string;
  readonly meta: MetaService;
  readonly locks: LockModule;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** How often the leader looks for sessions and waits past their deadline. */
  readonly expiryCheckMs?: number;
  readonly wallClock?: () => number;
  readonly observer?: LockServiceObserver;
}

export function lockErrorToGraphQL(error: LockError): GraphQLError {
  const code: ErrorCode = error.code === 'BAD_INPUT' ? 'BAD_USER_INPUT' : error.code;
  const { ok: _ok, code: _code, message, ...details } = error;
  return appError(code, message, { details });
}

function callerField(caller: Caller): { caller?: string } {
  return caller.isAdmin ? {} : { caller: caller.id };
}

export class LockService {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly unsubscribe: Array<() => void> = [];
  private timer: TimerHandle | undefined;
  private stopped = false;
  private sweeping = false;
  /** Generated request ids: unique per process run (random prefix), cheap per request (counter). */
  private readonly requestPrefix = randomBytes(9).toString('hex');
  private requestCount = 0;

  constructor(private readonly options: LockServiceOptions) {}

  start(): void {
    this.unsubscribe.push(this.options.locks.onEvents((events) => this.onEvents(events)));
    this.unsubscribe.push(
      this.options.meta.onEvent((event) => {
        if (event.type === 'LEADER_ELECTED' && event.leader === this.options.selfId) {
          // A new leader first moves every deadline out, so sessions whose keepalives went
          // to the old leader are not expired for the election's gap.
          void this.command({ op: 'extendAll', ttlFloor: 0 }).catch(() => undefined);
        }
      }),
    );
    const loop = () => {
      if (this.stopped) return;
      this.sweep();
      this.timer = this.options.scheduler.setTimer(this.options.expiryCheckMs ?? 200, loop);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    for (const off of this.unsubscribe) off();
    const error = appError('UNAVAILABLE', 'the node is shutting down');
    for (const set of this.waiters.values()) for (const waiter of set) waiter.reject(error);
    this.waiters.clear();
  }

  async openSession(caller: Caller, ttlMs: number): Promise<SessionView> {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_SESSION_TTL_MS || ttlMs > MAX_SESSION_TTL_MS) {
      throw appError('BAD_USER_INPUT', `ttlMs must be a whole number from ${MIN_SESSION_TTL_MS} to ${MAX_SESSION_TTL_MS}`, {
        details: { field: 'ttlMs' },
      });
    }
    const sessionId = `ses_${randomBytes(12).toString('hex')}`;
    const result = await this.command<{ session: SessionView }>({ op: 'openSession', sessionId, owner: caller.id, ttlMs });
    return result.session;
  }

  async keepAlive(sessionId: string, caller: Caller): Promise<{ sessionId: string; expiresAt: number }> {
    const result = await this.command<{ expiresAt: number }>({ op: 'keepAlive', sessionId, ...callerField(caller) });
    return { sessionId, expiresAt: result.expiresAt };
  }

  async closeSession(sessionId: string, caller: Caller): Promise<SessionView> {
    const result = await this.command<{ session: SessionView }>({ op: 'closeSession', sessionId, ...callerField(caller) });
    return result.session;
  }

  /** Waits up to timeoutMs for the lock (`0` is a try-lock), or answers WAITING at once when async. */
  async acquire(request: AcquireRequest): Promise<AcquireAnswer> {
    const ephemeral = request.requestId === undefined;
    const requestId = request.requestId ?? `req_${this.requestPrefix}${(++this.requestCount).toString(36)}`;
    if (!Number.isSafeInteger(request.timeoutMs) || request.timeoutMs < 0 || request.timeoutMs > MAX_WAIT_MS) {
      throw appError('BAD_USER_INPUT', `timeoutMs must be a whole number from 0 to ${MAX_WAIT_MS}`, { details: { field: 'timeoutMs' } });
    }
    const timeoutMs = request.async === true && request.timeoutMs === 0 ? MAX_WAIT_MS : request.timeoutMs;
    const startedAt = this.options.scheduler.now();
    // Registered before proposing: the grant can apply in the same batch as the wait.
    const waiter = request.async === true ? undefined : this.register(requestId);
    let outcome: { status: 'GRANTED'; fencingToken: string; expiresAt: number } | { status: 'WAITING' };
    try {
      outcome = await this.command({
        op: 'acquire',
        requestId,
        sessionId: request.sessionId,
        name: request.name,
        mode: request.mode,
        timeoutMs,
        ...(ephemeral ? { ephemeral } : {}),
        ...callerField(request.caller),
      });
    } catch (error) {
      waiter?.dispose();
      this.options.observer?.acquireEnded(outcomeOf(error), undefined);
      throw error;
    }
    if (outcome.status === 'GRANTED') {
      waiter?.dispose();
      this.options.observer?.acquireEnded('granted', undefined);
      return { status: 'GRANTED', requestId, fencingToken: outcome.fencingToken, expiresAt: outcome.expiresAt };
    }
    if (!waiter) return { status: 'WAITING', requestId };
    // Only proposals: if the grant applies first, it wins and the cancel is a no-op.
    const cancel = (reason: 'TIMEOUT' | 'CANCELLED') => () => {
      void this.command({ op: 'cancelWait', requestId, reason }).catch(() => undefined);
    };
    const timer = this.options.scheduler.setTimer(timeoutMs, cancel('TIMEOUT'));
    const offAbandon = request.onAbandon?.(cancel('CANCELLED'));
    try {
      const grant = await waiter.promise;
      this.options.observer?.acquireEnded('granted', this.options.scheduler.now() - startedAt);
      return grant;
    } catch (error) {
      this.options.observer?.acquireEnded(outcomeOf(error), this.options.scheduler.now() - startedAt);
      throw error;
    } finally {
      timer.cancel();
      offAbandon?.();
      waiter.dispose();
    }
  }

  async release(request: {
    readonly sessionId: string;
    readonly caller: Caller;
    readonly name: string;
    readonly fencingToken: string;
    readonly requestId?: string;
  }): Promise<{ remaining: number; alreadyReleased: boolean }> {
    return this.command({
      op: 'release',
      sessionId: request.sessionId,
      name: request.name,
      fencingToken: request.fencingToken,
      ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
      ...callerField(request.caller),
    });
  }

  /**
   * A client's cancel of its own waiting request. Answers whether this cancel ended the wait,
   * and the request's outcome: a grant that won the race is kept and returned.
   */
  async cancelWait(sessionId: string, caller: Caller, requestId: string): Promise<{ cancelled: boolean; grant: Grant | undefined }> {
    const result = await this.command<{ cancelled: boolean; outcome: { ok: boolean; status?: string; fencingToken?: string; expiresAt?: number } | undefined }>({
      op: 'cancelWait',
      requestId,
      sessionId,
      reason: 'CANCELLED',
      ...callerField(caller),
    });
    const o = result.outcome;
    const grant =
      o?.ok === true && o.status === 'GRANTED' && o.fencingToken !== undefined
        ? { status: 'GRANTED' as const, requestId, fencingToken: o.fencingToken, expiresAt: o.expiresAt ?? 0 }
        : undefined;
    return { cancelled: result.cancelled, grant };
  }

  async downgrade(sessionId: string, caller: Caller, name: string): Promise<{ mode: LockMode }> {
    return this.command({ op: 'downgrade', sessionId, name, ...callerField(caller) });
  }

  /** Whether `fencingToken` belongs to a current hold of `name` (always a linearizable read). */
  async checkFence(name: string, fencingToken: string): Promise<{ valid: boolean; mode: LockMode | undefined }> {
    await this.options.meta.readBarrier();
    const result = this.options.locks.view().checkFence({ name, fencingToken });
    if (!result.ok) throw lockErrorToGraphQL(result);
    return { valid: result.valid, mode: result.mode };
  }

  async lock(name: string, consistency: Consistency): Promise<LockView | undefined> {
    await this.barrier(consistency);
    return this.options.locks.view().lock(name);
  }

  /** Held or waited-for locks (the table keeps no others), by name, at most `first`. */
  async locks(prefix: string, first: number, consistency: Consistency): Promise<readonly LockView[]> {
    if (!Number.isSafeInteger(first) || first < 1 || first > 1000) {
      throw appError('BAD_USER_INPUT', 'first must be 1-1000', { details: { field: 'first' } });
    }
    await this.barrier(consistency);
    return this.options.locks
      .view()
      .locks()
      .filter((l) => l.name.startsWith(prefix))
      .slice(0, first);
  }

  /** One session; its owner or an admin may read it (FORBIDDEN otherwise). */
  async session(sessionId: string, caller: Caller, consistency: Consistency): Promise<SessionView | undefined> {
    await this.barrier(consistency);
    const session = this.options.locks.view().session(sessionId);
    if (session && !caller.isAdmin && session.owner !== caller.id) throw appError('FORBIDDEN', 'the session belongs to another token');
    return session;
  }

  /** Every session for an admin; a caller's own sessions otherwise. */
  async sessions(caller: Caller, consistency: Consistency): Promise<readonly SessionView[]> {
    await this.barrier(consistency);
    const all = this.options.locks.view().sessions();
    return caller.isAdmin ? all : all.filter((s) => s.owner === caller.id);
  }

  async waitForGraph(consistency: Consistency): Promise<readonly WaitForEdge[]> {
    await this.barrier(consistency);
    return this.options.locks.view().waitForGraph();
  }

  /** Renews a session on behalf of a live subscription (ownership was checked when it began). */
  renew(sessionId: string): Promise<{ sessionId: string; expiresAt: number }> {
    return this.keepAlive(sessionId, { id: 'subscription', isAdmin: true });
  }

  private barrier(consistency: Consistency): Promise<void> {
    return consistency === 'LOCAL' ? Promise.resolve() : this.options.meta.readBarrier();
  }

  private register(requestId: string): { promise: Promise<Grant>; dispose(): void } {
    let set = this.waiters.get(requestId);
    if (!set) {
      set = new Set();
      this.waiters.set(requestId, set);
    }
    const owned = set;
    let waiter!: Waiter;
    const promise = new Promise<Grant>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    promise.catch(() => undefined);
    owned.add(waiter);
    return {
      promise,
      dispose: () => {
        owned.delete(waiter);
        if (owned.size === 0 && this.waiters.get(requestId) === owned) this.waiters.delete(requestId);
      },
    };
  }

  private async command<T>(command: LockCommand): Promise<T> {
    let result: ({ ok: true } & T) | LockError;
    try {
      result = (await this.options.meta.propose(LOCKS, command)) as ({ ok: true } & T) | LockError;
    } catch (error) {
      // Applied, but this node learned of it through a snapshot, without its result. Acquires
      // (always) and releases given a request id are idempotent by it: asking again answers
      // what the first one was given.
      const byRequestId = command.op === 'acquire' || (command.op === 'release' && command.requestId !== undefined);
      if (!byRequestId || !(error instanceof GraphQLError) || error.extensions['applied'] !== true) throw error;
      result = (await this.options.meta.propose(LOCKS, command)) as ({ ok: true } & T) | LockError;
    }
    if (!result.ok) throw lockErrorToGraphQL(result);
    return result;
  }

  private onEvents(events: readonly SequencedLockEvent[]): void {
    if (this.waiters.size === 0) return;
    for (const { event } of events) {
      if (!('requestId' in event)) continue;
      const set = this.waiters.get(event.requestId);
      if (!set) continue;
      for (const waiter of set) {
        if (event.type === 'GRANTED') {
          const session = this.options.locks.view().session(event.sessionId);
          waiter.resolve({ status: 'GRANTED', requestId: event.requestId, fencingToken: event.fencingToken, expiresAt: session?.expiresAt ?? 0 });
        } else if (event.type === 'DEADLOCK_VICTIM') {
          waiter.reject(appError('DEADLOCK', `deadlock: ${event.cycle.join(' → ')}`, { details: { cycle: event.cycle } }));
        } else if (event.type === 'WAIT_CANCELLED') {
          const code: ErrorCode = event.reason === 'TIMEOUT' || event.reason === 'CANCELLED' ? 'LOCK_TIMEOUT' : 'SESSION_EXPIRED';
          waiter.reject(appError(code, `the wait for "${event.name}" ended: ${event.reason}`));
        }
      }
    }
  }

  /**
   * Leader only: propose the expiry of sessions and the cancel of waits past their deadline,
   * and a prune when finished records and ended sessions are past their retention.
   */
  private sweep(): void {
    if (this.sweeping || this.options.meta.status().role !== 'leader') return;
    const now = (this.options.wallClock ?? Date.now)();
    const view = this.options.locks.view();
    const proposals: Array<Promise<unknown>> = [];
    // expireSessions prunes too.
    if (view.sessionsDue(now)) proposals.push(this.command({ op: 'expireSessions' }));
    else if (view.garbageDue(now)) proposals.push(this.command({ op: 'prune' }));
    // Waits whose node died (its timer with it) still end at their deadline.
    for (const requestId of view.overdueWaits(now, 1_000)) {
      proposals.push(this.command({ op: 'cancelWait', requestId, reason: 'TIMEOUT' }));
    }
    if (proposals.length === 0) return;
    this.sweeping = true;
    void Promise.allSettled(proposals).then((results) => {
      this.sweeping = false;
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) this.options.logger.warn({ err: failed.reason }, 'proposing lock expiry failed');
    });
  }
}

function outcomeOf(error: unknown): 'timeout' | 'deadlock' | 'session' | 'error' {
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  if (code === 'LOCK_TIMEOUT') return 'timeout';
  if (code === 'DEADLOCK') return 'deadlock';
  if (code === 'SESSION_EXPIRED') return 'session';
  return 'error';
}
