/**
 * The incarnation of each peer as first seen, kept in <data-dir>/peers.json. A peer that
 * later presents another incarnation lost its data dir (or is an impostor holding the
 * secret) and is refused until an operator removes and re-adds it. Checks are synchronous
 * (the handshake needs an answer now); new pins are written to disk in the background,
 * one write at a time, durably.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { writeFileDurably } from './node-identity.js';

export class PersistedIncarnationPins {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly pins: Map<string, string>,
    private readonly logger: Logger,
  ) {}

  static async load(dataDir: string, logger: Logger): Promise<PersistedIncarnationPins> {
    const file = path.join(dataDir, 'peers.json');
    let pins = new Map<string, string>();
    try {
      pins = new Map(Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, string>));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new PersistedIncarnationPins(file, pins, logger);
  }

  check(peer: string, incarnation: string): boolean {
    const pinned = this.pins.get(peer);
    if (pinned !== undefined) return pinned === incarnation;
    this.pins.set(peer, incarnation);
    this.persist();
    return true;
  }

  /** Forgets a peer's incarnation (the peer was removed from the cluster). */
  forget(peer: string): void {
    if (this.pins.delete(peer)) this.persist();
  }

  flushed(): Promise<void> {
    return this.writing;
  }

  private persist(): void {
    const snapshot = JSON.stringify(Object.fromEntries(this.pins), null, 2) + '\n';
    this.writing = this.writing
      .then(() => writeFileDurably(this.file, snapshot))
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not save peer incarnations'));
  }
}
