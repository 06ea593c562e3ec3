/**
 * Time as an input. Components that need "now" or a timer take a Scheduler, so tests
 * and simulations can run them on virtual time (ManualScheduler) and production on the
 * real monotonic clock (RealScheduler).
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds on a monotonic clock (not wall time). */
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

export class RealScheduler implements Scheduler {
  private readonly origin = performance.now();

  now(): number {
    return performance.now() - this.origin;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref?.();
    return { cancel: () => clearTimeout(timer) };
  }
}

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: nothing happens until advance() or runUntilIdle() is called. Timers due
 * at the same instant fire in the order they were set, so a run is reproducible.
 */
export class ManualScheduler implements Scheduler {
  private current = 0;
  private seq = 0;
  private timers: PendingTimer[] = [];

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Moves time forward by `ms`, firing every timer that comes due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = next.at;
      next.callback();
    }
    this.current = target;
  }

  /** Fires timers until none is left (bounded, so a timer loop cannot spin forever). */
  runUntilIdle(maxTimers = 100_000): void {
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = this.nextDue(Number.POSITIVE_INFINITY);
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    throw new Error(`ManualScheduler.runUntilIdle: more than ${maxTimers} timers fired`);
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    if (best) {
      best.cancelled = true;
      this.timers = this.timers.filter((t) => t !== best);
    }
    return best;
  }
}
