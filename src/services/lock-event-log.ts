/**
 * The node's retained history of lock events, for subscriptions that must never drop one.
 *
 * Events arrive in log order, each numbered by a cursor (log index, position) that is the
 * same on every replica. The newest `capacity` events are kept in a ring. A reader is a
 * position in that ring, so nothing is buffered per subscriber: a subscriber resumes from
 * any cursor still retained, waits at the end for new events, and one that falls so far
 * behind that the ring overwrote its position is ended with SUBSCRIBER_TOO_SLOW instead of
 * silently skipping ahead.
 *
 * The history is complete only after its horizon: events at or before it may be missing
 * (evicted, or never seen because this replica started from a snapshot). Resuming from a
 * cursor before the horizon fails with CURSOR_EXPIRED. When a snapshot replaces the state
 * at run time, the events it skipped are never seen here: every open reader ends with
 * CURSOR_EXPIRED so its client re-reads the state.
 */
import { appError } from '../errors.js';
import type { SequencedLockEvent } from '../lock/meta-module.js';

export interface Cursor {
  readonly index: number;
  readonly position: number;
}

export function formatCursor(c: Cursor): string {
  return `${c.index}:${c.position}`;
}

/** Parses "index:position"; undefined when malformed. */
export function parseCursor(text: string): Cursor | undefined {
  const match = /^(\d{1,16}):(\d{1,9})$/.exec(text);
  if (!match) return undefined;
  const index = Number(match[1]);
  const position = Number(match[2]);
  return Number.isSafeInteger(index) ? { index, position } : undefined;
}

function after(a: Cursor, b: Cursor): boolean {
  return a.index > b.index || (a.index === b.index && a.position > b.position);
}

export const DEFAULT_LOCK_HISTORY = 100_000;

export interface ReadOptions {
  /** Resume strictly after this cursor; undefined = only events from now on. */
  readonly after?: Cursor;
  readonly filter: (event: SequencedLockEvent) => boolean;
  /** Ends the stream (done) after delivering an event for which this is true. */
  readonly last?: (event: SequencedLockEvent) => boolean;
}

export class LockEventLog {
  private readonly ring: SequencedLockEvent[] = [];
  /** Sequence number of the next event appended (events are numbered from 0). */
  private appended = 0;
  /** Every event after this cursor is still known (until evicted). */
  private horizon: Cursor = { index: 0, position: -1 };
  /** Bumped when a snapshot leaves a gap; readers of an older epoch end. */
  private epoch = 0;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly capacity: number = DEFAULT_LOCK_HISTORY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be ≥ 1');
  }

  append(events: readonly SequencedLockEvent[]): void {
    for (const event of events) {
      const slot = this.appended % this.capacity;
      const evicted = this.ring[slot];
      if (evicted !== undefined && this.appended >= this.capacity) this.horizon = { index: evicted.index, position: evicted.position };
      this.ring[slot] = event;
      this.appended++;
    }
    if (events.length > 0) this.wake();
  }

  /**
   * The state now reflects everything up to log index `index` that this log did not see
   * (a snapshot was installed): history before it is unknowable here.
   */
  gap(index: number): void {
    this.ring.length = 0;
    this.appended = 0;
    this.horizon = { index, position: Number.MAX_SAFE_INTEGER };
    this.epoch++;
    this.wake();
  }

  /** Number of events retained. */
  get size(): number {
    return Math.min(this.appended, this.capacity);
  }

  /** The cursor of the newest event (the horizon when none is retained): "from now on". */
  lastCursor(): Cursor {
    if (this.appended === 0) return this.horizon;
    const newest = this.ring[(this.appended - 1) % this.capacity]!;
    return { index: newest.index, position: newest.position };
  }

  /** The oldest cursor a reader may resume after. */
  get oldestResumable(): Cursor {
    return this.horizon;
  }

  /**
   * An async iterator over matching events. Throws CURSOR_EXPIRED at once (not on the
   * first next()) when `after` is before the horizon.
   */
  read(options: ReadOptions): AsyncIterableIterator<SequencedLockEvent> {
    const start = options.after;
    if (start !== undefined && after(this.horizon, start)) {
      throw appError('CURSOR_EXPIRED', `cursor ${formatCursor(start)} is older than this node's lock history (${formatCursor(this.horizon)})`, {
        details: { oldestCursor: formatCursor(this.horizon) },
      });
    }
    let seq = start === undefined ? this.appended : this.firstAfter(start);
    const epoch = this.epoch;
    let finished = false;
    let wake: (() => void) | undefined;

    const next = async (): Promise<IteratorResult<SequencedLockEvent>> => {
      for (;;) {
        if (finished) return { value: undefined, done: true };
        if (this.epoch !== epoch) {
          finished = true;
          throw appError('CURSOR_EXPIRED', 'this node installed a snapshot and cannot replay the events it skipped; re-read the state and subscribe again');
        }
        if (seq < this.appended - this.capacity) {
          finished = true;
          throw appError('SUBSCRIBER_TOO_SLOW', `the subscriber fell more than ${this.capacity} lock events behind; resume from its last cursor`);
        }
        while (seq < this.appended) {
          const event = this.ring[seq % this.capacity]!;
          seq++;
          if (start !== undefined && !after(event, start)) continue;
          if (!options.filter(event)) continue;
          if (options.last?.(event) === true) finished = true;
          return { value: event, done: false };
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.wakers.add(resolve);
        });
      }
    };

    const stop = (): void => {
      finished = true;
      if (wake) {
        this.wakers.delete(wake);
        wake();
      }
    };

    const iterator: AsyncIterableIterator<SequencedLockEvent> = {
      next,
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error?: unknown) => {
        stop();
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Number of readers waiting at the end (for tests and metrics). */
  get waitingReaders(): number {
    return this.wakers.size;
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }

  /** Sequence number of the first retained event after `cursor` (binary search; the ring is in cursor order). */
  private firstAfter(cursor: Cursor): number {
    let lo = Math.max(0, this.appended - this.capacity);
    let hi = this.appended;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (after(this.ring[mid % this.capacity]!, cursor)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
