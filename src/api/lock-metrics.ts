/**
 * Lock metrics. Two sources, because they mean different things:
 * - the replicated events this node applies (grants, releases, losses, deadlocks, expiries,
 *   hold time): every replica applies the same log, so each node reports the cluster's
 *   counts (aggregate with max, not sum);
 * - the acquires this node served (waits, wait time, timeouts): per node, sum them.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LockModule, SequencedLockEvent } from '../lock/meta-module.js';
import type { LockServiceObserver } from '../services/lock-service.js';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class LockMetrics implements LockServiceObserver {
  private readonly grants: Counter<'mode' | 'queued'>;
  private readonly releases: Counter;
  private readonly lost: Counter;
  private readonly deadlocks: Counter;
  private readonly expiries: Counter;
  private readonly waits: Counter;
  private readonly timeouts: Counter;
  private readonly waitSeconds: Histogram;
  private readonly holdSeconds: Histogram;
  /** When each hold (name + session) was granted on this replica, for hold time. */
  private readonly heldSince = new Map<string, number>();
  private readonly grantChildren = new Map<string, { inc(): void }>();

  constructor(
    registry: Registry,
    private readonly locks: LockModule,
    private readonly now: () => number = () => performance.now(),
  ) {
    const registers = [registry];
    this.grants = new Counter({ name: 'distsync_lock_grants_total', help: 'Lock grants applied (re-entrant acquires included)', labelNames: ['mode', 'queued'], registers });
    this.releases = new Counter({ name: 'distsync_lock_releases_total', help: 'Holds ended by release', registers });
    this.lost = new Counter({ name: 'distsync_lock_lost_total', help: 'Holds taken away because their session expired', registers });
    this.deadlocks = new Counter({ name: 'distsync_lock_deadlocks_total', help: 'Requests aborted as deadlock victims', registers });
    this.expiries = new Counter({ name: 'distsync_lock_session_expiries_total', help: 'Sessions expired by the leader', registers });
    this.waits = new Counter({ name: 'distsync_lock_waits_total', help: 'Acquires served by this node that had to queue', registers });
    this.timeouts = new Counter({ name: 'distsync_lock_timeouts_total', help: 'Acquires served by this node that timed out', registers });
    this.waitSeconds = new Histogram({
      name: 'distsync_lock_wait_seconds',
      help: 'Time queued acquires served by this node waited until they ended',
      buckets: SECONDS,
      registers,
    });
    this.holdSeconds = new Histogram({ name: 'distsync_lock_hold_seconds', help: 'Time from grant to release or loss of a hold', buckets: SECONDS, registers });
    new Gauge({
      name: 'distsync_lock_sessions',
      help: 'Open lock sessions on this replica',
      registers,
      collect() {
        this.set(locks.view().sessions().filter((s) => s.state === 'OPEN').length);
      },
    });
    new Gauge({
      name: 'distsync_lock_holds',
      help: 'Current holds on this replica',
      registers,
      collect() {
        this.set(locks.view().locks().reduce((n, l) => n + l.holders.length, 0));
      },
    });
  }

  /** Starts counting applied events; returns the function that stops it. */
  attach(): () => void {
    return this.locks.onEvents((events) => this.onEvents(events));
  }

  acquireEnded(outcome: 'granted' | 'timeout' | 'deadlock' | 'session' | 'error', waitedMs: number | undefined): void {
    if (outcome === 'timeout') this.timeouts.inc();
    if (waitedMs === undefined) return;
    this.waits.inc();
    this.waitSeconds.observe(waitedMs / 1000);
  }

  private onEvents(events: readonly SequencedLockEvent[]): void {
    const now = this.now();
    for (const { event } of events) {
      switch (event.type) {
        case 'GRANTED': {
          this.grantCounter(event.mode, event.queued).inc();
          const key = `${event.sessionId}\u0000${event.name}`;
          if (!this.heldSince.has(key)) this.heldSince.set(key, now);
          break;
        }
        case 'RELEASED':
          if (event.remaining === 0) {
            this.releases.inc();
            this.endHold(`${event.sessionId}\u0000${event.name}`, now);
          }
          break;
        case 'LOST':
          this.lost.inc();
          this.endHold(`${event.sessionId}\u0000${event.name}`, now);
          break;
        case 'DEADLOCK_VICTIM':
          this.deadlocks.inc();
          break;
        case 'EXPIRED':
          this.expiries.inc();
          break;
        case 'CLOSED':
        case 'DOWNGRADED':
        case 'WAIT_CANCELLED':
          break;
      }
    }
  }

  /** Label children cached: prom-client hashes labels on every inc() otherwise. */
  private grantCounter(mode: string, queued: boolean): { inc(): void } {
    const key = `${mode}|${queued}`;
    let child = this.grantChildren.get(key);
    if (!child) {
      child = this.grants.labels(mode, String(queued));
      this.grantChildren.set(key, child);
    }
    return child;
  }

  private endHold(key: string, now: number): void {
    const since = this.heldSince.get(key);
    if (since === undefined) return;
    this.heldSince.delete(key);
    this.holdSeconds.observe((now - since) / 1000);
  }
}
