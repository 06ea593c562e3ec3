/**
 * LockService: sessions and locks over the replicated lock table. It decides nothing
 * itself — every change is a meta command — but it runs the leader's duties (propose
 * expiry of sessions past their deadline; on winning an election, extend every deadline
 * first, as etcd does for leases) and turns a queued acquire into a promise that ends
 * with the first replicated outcome: a grant, a deadlock abort, or a cancel. A local timer
 * only proposes the cancel, so a grant can never be lost between the two.
 */
import { randomBytes } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { appError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { LOCKS, type LockCommand, type LockModule, type SequencedLockEvent } from '../lock/meta-module.js';
import type { LockError, LockMode } from '../lock/types.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';
import type { MetaService } from './meta-service.js';

/** Above two election timeouts (2 × 1 s) plus a keepalive round, so a leader change cannot expire a live session. */
export const MIN_SESSION_TTL_MS = 3_000;
export const MAX_SESSION_TTL_MS = 24 * 60 * 60 * 1000;

export interface Grant {
  readonly fencingToken: string;
  readonly expiresAt: number;
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
  /** How often the leader looks for sessions past their deadline. */
  readonly expiryCheckMs?: number;
  readonly wallClock?: () => number;
}

function toGraphQLError(error: LockError): GraphQLError {
  const code: ErrorCode = error.code === 'BAD_INPUT' ? 'BAD_USER_INPUT' : error.code;
  const { ok: _ok, code: _code, message, ...details } = error;
  return appError(code, message, { details });
}

export class LockService {
  private readonly waiters = new Map<string, Waiter>();
  private readonly unsubscribe: Array<() => void> = [];
  private timer: TimerHandle | undefined;
  private stopped = false;
  private expiring = false;

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
      this.expireDue();
      this.timer = this.options.scheduler.setTimer(this.options.expiryCheckMs ?? 200, loop);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    for (const off of this.unsubscribe) off();
    const error = appError('UNAVAILABLE', 'the node is shutting down');
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  async openSession(owner: string, ttlMs: number): Promise<{ sessionId: string; expiresAt: number }> {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_SESSION_TTL_MS || ttlMs > MAX_SESSION_TTL_MS) {
      throw appError('BAD_USER_INPUT', `ttlMs must be a whole number from ${MIN_SESSION_TTL_MS} to ${MAX_SESSION_TTL_MS}`);
    }
    const sessionId = `ses_${randomBytes(12).toString('hex')}`;
    const result = await this.command<{ session: { expiresAt: number } }>({ op: 'openSession', sessionId, owner, ttlMs });
    return { sessionId, expiresAt: result.session.expiresAt };
  }

  async keepAlive(sessionId: string, owner: string, isAdmin: boolean): Promise<{ expiresAt: number }> {
    await this.checkOwner(sessionId, owner, isAdmin);
    return this.command<{ expiresAt: number }>({ op: 'keepAlive', sessionId });
  }

  async closeSession(sessionId: string, owner: string, isAdmin: boolean): Promise<void> {
    await this.checkOwner(sessionId, owner, isAdmin);
    await this.command({ op: 'closeSession', sessionId });
  }

  /** Waits up to timeoutMs for the lock; `timeoutMs: 0` is a try-lock. */
  async acquire(request: {
    readonly requestId: string;
    readonly sessionId: string;
    readonly owner: string;
    readonly isAdmin: boolean;
    readonly name: string;
    readonly mode: LockMode;
    readonly timeoutMs: number;
  }): Promise<Grant> {
    await this.checkOwner(request.sessionId, request.owner, request.isAdmin);
    // Registered before proposing: the grant can apply in the same batch as the wait.
    const granted = new Promise<Grant>((resolve, reject) => this.waiters.set(request.requestId, { resolve, reject }));
    granted.catch(() => undefined);
    let outcome: { status: 'GRANTED'; fencingToken: string; expiresAt: number } | { status: 'WAITING' };
    try {
      outcome = await this.command({
        op: 'acquire',
        requestId: request.requestId,
        sessionId: request.sessionId,
        name: request.name,
        mode: request.mode,
        timeoutMs: request.timeoutMs,
      });
    } catch (error) {
      this.waiters.delete(request.requestId);
      throw error;
    }
    if (outcome.status === 'GRANTED') {
      this.waiters.delete(request.requestId);
      return { fencingToken: outcome.fencingToken, expiresAt: outcome.expiresAt };
    }
    const timer = this.options.scheduler.setTimer(request.timeoutMs, () => {
      // Only a proposal: if the grant applies first, it wins and the cancel is a no-op.
      void this.command({ op: 'cancelWait', requestId: request.requestId, reason: 'TIMEOUT' }).catch(() => undefined);
    });
    try {
      return await granted;
    } finally {
      timer.cancel();
      this.waiters.delete(request.requestId);
    }
  }

  async release(sessionId: string, owner: string, isAdmin: boolean, name: string, fencingToken: string): Promise<void> {
    await this.checkOwner(sessionId, owner, isAdmin);
    await this.command({ op: 'release', sessionId, name, fencingToken });
  }

  /** Whether `fencingToken` belongs to a current hold of `name` (always a linearizable read). */
  async checkFence(name: string, fencingToken: string): Promise<boolean> {
    await this.options.meta.readBarrier();
    const result = this.options.locks.view().checkFence({ name, fencingToken });
    if (!result.ok) throw toGraphQLError(result);
    return result.valid;
  }

  private async checkOwner(sessionId: string, owner: string, isAdmin: boolean): Promise<void> {
    await this.options.meta.readBarrier();
    const session = this.options.locks.view().session(sessionId);
    if (!session) throw appError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
    if (session.owner !== owner && !isAdmin) throw appError('FORBIDDEN', 'the session belongs to another token');
  }

  private async command<T>(command: LockCommand): Promise<T> {
    const result = (await this.options.meta.propose(LOCKS, command)) as ({ ok: true } & T) | LockError;
    if (!result.ok) throw toGraphQLError(result);
    return result;
  }

  private onEvents(events: readonly SequencedLockEvent[]): void {
    for (const { event } of events) {
      if (!('requestId' in event)) continue;
      const waiter = this.waiters.get(event.requestId);
      if (!waiter) continue;
      if (event.type === 'GRANTED') {
        const session = this.options.locks.view().session(event.sessionId);
        waiter.resolve({ fencingToken: event.fencingToken, expiresAt: session?.expiresAt ?? 0 });
      } else if (event.type === 'DEADLOCK_VICTIM') {
        waiter.reject(appError('DEADLOCK', `deadlock: ${event.cycle.join(' → ')}`, { details: { cycle: event.cycle } }));
      } else if (event.type === 'WAIT_CANCELLED') {
        const code: ErrorCode = event.reason === 'TIMEOUT' ? 'LOCK_TIMEOUT' : event.reason === 'CANCELLED' ? 'LOCK_TIMEOUT' : 'SESSION_EXPIRED';
        waiter.reject(appError(code, `the wait for "${event.name}" ended: ${event.reason}`));
      }
    }
  }

  /** Leader only: propose the expiry of sessions whose deadline has passed. */
  private expireDue(): void {
    if (this.expiring || this.options.meta.status().role !== 'leader') return;
    const now = (this.options.wallClock ?? Date.now)();
    const due = this.options.locks
      .view()
      .sessions()
      .some((s) => s.state === 'OPEN' && s.expiresAt <= now);
    if (!due) return;
    this.expiring = true;
    void this.command({ op: 'expireSessions' })
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'proposing session expiry failed'))
      .finally(() => {
        this.expiring = false;
      });
  }
}
