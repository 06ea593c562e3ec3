/**
 * Reconnect delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"). Attempt n waits a uniform draw from [0, min(maxMs, initialMs * 2^n)],
 * so peers that lost a link at the same moment do not redial in lockstep.
 *
 * Guarantees: every delay is in [0, maxMs]; the ceiling doubles per failed attempt up to maxMs
 * and returns to initialMs after reset(). Randomness is an input (Random), so tests replay.
 */
import type { Random } from '../util/random.js';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly random: Random;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff: need 0 < initialMs <= maxMs, got ${options.initialMs}, ${options.maxMs}`);
    }
  }

  /** The current ceiling: what the next delay is drawn below. */
  ceilingMs(): number {
    // Capping the exponent keeps 2 ** attempt finite however long a peer stays away.
    return Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
  }

  /** The delay before the next attempt; raises the ceiling for the one after. */
  next(): number {
    const delay = this.options.random.int(0, Math.floor(this.ceilingMs()));
    this.attempt++;
    return delay;
  }

  /** After a link has stayed up: start again from initialMs. */
  reset(): void {
    this.attempt = 0;
  }
}
