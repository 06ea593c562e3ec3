/**
 * A bounded memory of handshake nonces, so a captured handshake cannot be replayed while its
 * timestamp is still inside the acceptance window.
 *
 * Guarantees: a nonce remembered with `expiresAt` is reported as seen until `expiresAt`; memory
 * never exceeds `maxEntries`. When full of live entries it refuses to remember more (the caller
 * refuses the handshake: failing closed is safe because only peers holding the secret reach
 * this point, see handshake.ts). Time is an input; this module reads no clock.
 */
export interface ReplayCacheOptions {
  readonly maxEntries?: number;
}

export class ReplayCache {
  private readonly maxEntries: number;
  /** nonce → expiry (ms, wall clock). Map keeps insertion order, which keeps purging cheap. */
  private readonly entries = new Map<string, number>();

  constructor(options: ReplayCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** True when `nonce` was remembered and has not expired at `nowMs`. */
  has(nonce: string, nowMs: number): boolean {
    const expiresAt = this.entries.get(nonce);
    return expiresAt !== undefined && expiresAt >= nowMs;
  }

  /** Remembers `nonce` until `expiresAt`; false when the cache is full of live entries. */
  remember(nonce: string, expiresAt: number, nowMs: number): boolean {
    this.purge(nowMs);
    if (this.entries.size >= this.maxEntries) return false;
    this.entries.set(nonce, expiresAt);
    return true;
  }

  private purge(nowMs: number): void {
    // Cheap path: expiries arrive roughly in insertion order, so drop from the head first.
    for (const [nonce, expiresAt] of this.entries) {
      if (expiresAt >= nowMs) break;
      this.entries.delete(nonce);
    }
    if (this.entries.size < this.maxEntries) return;
    // Full: peers' clocks differ, so an expired entry may hide behind a live one. Scan all.
    for (const [nonce, expiresAt] of this.entries) {
      if (expiresAt < nowMs) this.entries.delete(nonce);
    }
  }
}
