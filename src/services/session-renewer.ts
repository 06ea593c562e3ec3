/**
 * Keeps lock sessions alive for as long as a subscription of theirs is open on a connection
 * that answers pings: a session is renewed when a third of its TTL has passed since its last
 * renewal, provided one of its connections has no ping unanswered for longer than TTL/3. A
 * paused client stops answering pings, so its session runs out like any other.
 */
import type { Logger } from '../log.js';
import type { LockModule } from '../lock/meta-module.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';

/** What the renewer needs of a client connection (graphql-ws connections provide it). */
export interface LiveConnection {
  /** When the oldest ping still unanswered was sent (on `now()`'s clock), or undefined if none is. */
  unansweredSince(): number | undefined;
  now(): number;
  readonly closed: boolean;
  onClose(listener: () => void): () => void;
}

export interface SessionRenewerOptions {
  readonly locks: LockModule;
  readonly renew: (sessionId: string) => Promise<{ expiresAt: number }>;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Epoch ms on the same clock as session deadlines. */
  readonly wallClock?: () => number;
  readonly checkEveryMs?: number;
}

export class SessionRenewer {
  private readonly connections = new Map<string, Map<LiveConnection, number>>();
  private readonly inFlight = new Set<string>();
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: SessionRenewerOptions) {}

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.check();
      this.timer = this.options.scheduler.setTimer(this.options.checkEveryMs ?? 250, loop);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.connections.clear();
  }

  /** Renews `sessionId` while `connection` stays live; returns the function that stops it. */
  hold(sessionId: string, connection: LiveConnection): () => void {
    let byConnection = this.connections.get(sessionId);
    if (!byConnection) {
      byConnection = new Map();
      this.connections.set(sessionId, byConnection);
    }
    const holders = byConnection;
    holders.set(connection, (holders.get(connection) ?? 0) + 1);
    let released = false;
    const offClose = connection.onClose(() => release());
    const release = (): void => {
      if (released) return;
      released = true;
      offClose();
      const count = (holders.get(connection) ?? 1) - 1;
      if (count > 0) holders.set(connection, count);
      else holders.delete(connection);
      if (holders.size === 0 && this.connections.get(sessionId) === holders) this.connections.delete(sessionId);
    };
    return release;
  }

  /** Sessions currently held by at least one subscription. */
  get heldSessions(): number {
    return this.connections.size;
  }

  private check(): void {
    const now = (this.options.wallClock ?? Date.now)();
    const view = this.options.locks.view();
    for (const [sessionId, holders] of this.connections) {
      if (this.inFlight.has(sessionId)) continue;
      const session = view.session(sessionId);
      if (!session || session.state !== 'OPEN') continue;
      const third = session.ttlMs / 3;
      if (session.expiresAt - now > session.ttlMs - third) continue; // renewed recently
      const live = [...holders.keys()].some((c) => {
        if (c.closed) return false;
        const since = c.unansweredSince();
        return since === undefined || c.now() - since <= third;
      });
      if (!live) continue;
      this.inFlight.add(sessionId);
      this.options
        .renew(sessionId)
        .catch((error: unknown) => this.options.logger.debug({ err: error, sessionId }, 'renewing a subscribed session failed'))
        .finally(() => this.inFlight.delete(sessionId));
    }
  }
}
