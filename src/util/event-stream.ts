/**
 * Turns pushed events into an async iterator with a bounded buffer, for GraphQL
 * subscriptions. Two policies, because streams differ in what loss means:
 * - `drop-oldest`: lossy streams (cluster events, invalidations) keep the newest
 *   `capacity` events and tell the consumer how many were dropped before each one;
 * - `close`: streams that must not lose events end with an error once the buffer is
 *   full, so a slow subscriber learns it fell behind instead of silently missing events.
 * The source listener is removed as soon as the consumer stops (return/throw/break).
 */
export interface Delivered<T> {
  readonly event: T;
  /** Events discarded since the previous delivery (drop-oldest policy only). */
  readonly droppedBefore: number;
}

export interface EventStreamOptions {
  readonly capacity: number;
  readonly policy: 'drop-oldest' | 'close';
  /** Error to end the stream with under the `close` policy. */
  readonly overflowError?: () => Error;
}

export type Unsubscribe = () => void;

export function eventStream<T>(
  subscribe: (push: (event: T) => void) => Unsubscribe,
  options: EventStreamOptions,
): AsyncIterableIterator<Delivered<T>> {
  const buffer: Array<{ event: T; droppedBefore: number }> = [];
  let dropped = 0;
  let waiting: ((result: IteratorResult<Delivered<T>>) => void) | undefined;
  let failWaiting: ((error: Error) => void) | undefined;
  let failure: Error | undefined;
  let done = false;

  const unsubscribe = subscribe((event) => {
    if (done || failure) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      failWaiting = undefined;
      resolve({ value: { event, droppedBefore: dropped }, done: false });
      dropped = 0;
      return;
    }
    if (buffer.length >= options.capacity) {
      if (options.policy === 'close') {
        failure = options.overflowError?.() ?? new Error('subscriber too slow: event buffer full');
        stop();
        return;
      }
      // The dropped head's own gap plus itself now precede the new head.
      const removed = buffer.shift()!;
      const next = buffer[0];
      if (next) next.droppedBefore += removed.droppedBefore + 1;
      else dropped += removed.droppedBefore + 1;
    }
    buffer.push({ event, droppedBefore: dropped });
    dropped = 0;
  });

  function stop(): void {
    if (done) return;
    done = true;
    unsubscribe();
    if (waiting) {
      const resolve = waiting;
      const reject = failWaiting;
      waiting = undefined;
      failWaiting = undefined;
      if (failure && reject) reject(failure);
      else resolve({ value: undefined, done: true });
    }
  }

  const iterator: AsyncIterableIterator<Delivered<T>> = {
    next() {
      const head = buffer.shift();
      if (head) return Promise.resolve({ value: head, done: false });
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting = resolve;
        failWaiting = reject;
      });
    },
    return() {
      buffer.length = 0;
      failure = undefined;
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error?: unknown) {
      buffer.length = 0;
      stop();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
