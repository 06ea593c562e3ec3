/**
 * IncarnationPins in memory: for tests and simulations. A node uses a persisted implementation
 * (a pin must survive a restart, or a peer that lost its data dir would be pinned afresh).
 */
import type { IncarnationPins } from './types.js';

export class MemoryIncarnationPins implements IncarnationPins {
  private readonly pins: Map<string, string>;

  /** `initial`: pins to start from, as [peer, incarnation] pairs. */
  constructor(initial: Iterable<readonly [string, string]> = []) {
    this.pins = new Map(initial);
  }

  check(peer: string, incarnation: string): boolean {
    const pinned = this.pins.get(peer);
    if (pinned === undefined) {
      this.pins.set(peer, incarnation);
      return true;
    }
    return pinned === incarnation;
  }

  /** The incarnation pinned for `peer`, if any. */
  pinned(peer: string): string | undefined {
    return this.pins.get(peer);
  }

  /** Forgets `peer`'s pin (what removing it from the cluster does), so it is pinned afresh. */
  forget(peer: string): void {
    this.pins.delete(peer);
  }
}
