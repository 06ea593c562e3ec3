/**
 * The write-ahead log of one Raft group: hard state, log entries and snapshots in one directory.
 *
 * Guarantees:
 * - `append` resolves only after its records are written and fdatasynced (under 'always' and
 *   'batch' alike; 'batch' only waits up to `batchWindowMs` first to gather more appends).
 *   Appends resolve in call order, and a failed write or fsync fails the WAL for good: every
 *   pending and later call rejects (after a failed fsync the page cache cannot be trusted).
 * - Group commit (segment-writer.ts): appends that arrive while a write+fsync runs are written
 *   together and covered by the next single fsync, so N concurrent appends cost about two fsyncs.
 * - Appending entries at an index <= the last index first writes a truncate record, so recovery
 *   reproduces Raft's log overwrite.
 * - `saveSnapshot` makes the snapshot file durable before anything depends on it. If the log does
 *   not hold the snapshot's entry (an install beyond the log, or another term at that index) the
 *   log is reset to the snapshot index, as Raft requires. Then it removes whole segments whose
 *   entries all lie at or below the snapshot index, and keeps the newest `keepSnapshots`
 *   (default 2) snapshot files.
 * Assumes: one process per directory; callers append in Raft order (no gaps, never rewriting
 * entries at or below the snapshot index — both are rejected with `WalUsageError`).
 */
import { Buffer } from 'node:buffer';
import { dirname, resolve } from 'node:path';
import { WalFailedError, WalUsageError } from './errors.js';
import { countingFs, nodeStorageFs, type IoCounters, type StorageFs } from './fs-sync.js';
import { silentWalLogger, type WalLogger } from './logger.js';
import { encodeEntry, encodeHardState, encodeTruncate } from './record.js';
import { recoverWal } from './recovery.js';
import { createSegment } from './segment.js';
import { SegmentWriter } from './segment-writer.js';
import { SnapshotStore } from './snapshot-store.js';
import type { HardState, LogEntry, RecoveredState, Snapshot, WalStats } from './types.js';

export type FsyncMode = 'always' | 'batch';

export interface WalOptions {
  readonly fsync: FsyncMode;
  /** 'batch' only: how long the first waiting append may wait for company. Default 2 ms. */
  readonly batchWindowMs?: number;
  /** Rotate to a new segment once the current one reaches this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * How far ahead of the appends the current segment is zero-filled, so a durable append
   * overwrites allocated blocks instead of growing the file (one journal commit less per
   * write). Default 1 MiB; 0 turns it off.
   */
  readonly preallocateBytes?: number;
  /** Snapshot files to keep (1 or more). Default 2, so a damaged newest one can fall back. */
  readonly keepSnapshots?: number;
  readonly logger?: WalLogger;
  /** File-system layer; tests inject one to count directory syncs or fail fsyncs. */
  readonly fs?: StorageFs;
}

export interface AppendRequest {
  /** Consecutive entries; the first may be at or below the last index (overwrite). */
  readonly entries?: readonly LogEntry[];
  readonly hardState?: HardState;
}

export interface OpenedWal {
  readonly wal: Wal;
  readonly recovered: RecoveredState;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_PREALLOCATE_BYTES = 1024 * 1024;
const DEFAULT_BATCH_WINDOW_MS = 2;

function checkOptions(options: WalOptions): void {
  if (options.fsync !== 'always' && options.fsync !== 'batch') throw new WalUsageError(`unknown fsync mode ${String(options.fsync)}`);
  const minimums = [
    ['batchWindowMs', options.batchWindowMs, 0],
    ['segmentBytes', options.segmentBytes, 1],
    ['preallocateBytes', options.preallocateBytes, 0],
    ['keepSnapshots', options.keepSnapshots, 1],
  ] as const;
  for (const [what, value, min] of minimums) {
    if (value !== undefined && !(Number.isFinite(value) && value >= min)) throw new WalUsageError(`${what} must be >= ${min}`);
  }
}

/** Creates `dir` if needed; a new directory is an entry of its parent, so each new level's parent is fsynced. */
async function ensureDurableDir(fs: StorageFs, dir: string): Promise<void> {
  const firstCreated = await fs.mkdirp(dir);
  if (firstCreated === undefined) return;
  for (let level = resolve(dir); ; level = dirname(level)) {
    const parent = dirname(level);
    await fs.syncDir(parent);
    if (level === resolve(firstCreated) || parent === level) return;
  }
}

export class Wal {
  private readonly options: WalOptions;
  private readonly counters: IoCounters;
  private readonly logger: WalLogger;
  private readonly snapshots: SnapshotStore;
  private readonly writer: SegmentWriter;

  // The log as accepted (including appends not yet durable): validation runs against this.
  private hardState: HardState;
  private snapshotMeta: { index: number; term: number };
  private lastIndex: number;
  /** terms[i] is the term of entry snapshotMeta.index + 1 + i. */
  private terms: number[];

  private snapshotChain: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private appendsDone = 0;

  private constructor(
    init: { readonly options: WalOptions; readonly counters: IoCounters; readonly snapshots: SnapshotStore; readonly writer: SegmentWriter },
    state: { readonly hardState: HardState; readonly snapshot: { index: number; term: number }; readonly lastIndex: number; readonly terms: number[] },
  ) {
    this.options = init.options;
    this.counters = init.counters;
    this.logger = init.options.logger ?? silentWalLogger;
    this.snapshots = init.snapshots;
    this.writer = init.writer;
    this.hardState = state.hardState;
    this.snapshotMeta = state.snapshot;
    this.lastIndex = state.lastIndex;
    this.terms = state.terms;
  }

  /** Recovers the directory (creating it if needed) and opens the WAL for appending. */
  static async open(dir: string, options: WalOptions): Promise<OpenedWal> {
    checkOptions(options);
    const counters: IoCounters = { fsyncs: 0, dirSyncs: 0, bytesWritten: 0 };
    const fs = countingFs(options.fs ?? nodeStorageFs, counters);
    const logger = options.logger ?? silentWalLogger;
    await ensureDurableDir(fs, dir);
    const rec = await recoverWal(fs, dir, { logger });
    const lastSegment = rec.segments.at(-1);
    const current = lastSegment
      ? { ...lastSegment, file: await fs.openFile(lastSegment.path, { create: false, dsync: true }) }
      : await createSegment(fs, dir, { firstIndex: rec.rawLastIndex + 1, hardState: rec.hardState });
    const writer = new SegmentWriter({
      fs,
      dir,
      logger,
      mode: options.fsync,
      batchWindowMs: options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
      segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      preallocateBytes: options.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES,
      segments: lastSegment ? rec.segments : [current],
      current,
      written: { lastIndex: rec.rawLastIndex, hardState: rec.hardState },
    });
    const snapshot = { index: rec.snapshot?.metadata.index ?? 0, term: rec.snapshot?.metadata.term ?? 0 };
    const wal = new Wal(
      { options, counters, snapshots: new SnapshotStore(fs, dir), writer },
      {
        hardState: rec.hardState,
        snapshot,
        lastIndex: rec.needsReset ? snapshot.index : rec.rawLastIndex,
        terms: rec.entries.map((e) => e.term),
      },
    );
    if (rec.needsReset) {
      logger.warn({ snapshotIndex: snapshot.index, lastIndex: rec.rawLastIndex }, 'wal: log does not continue the snapshot; resetting it to the snapshot index');
      await wal.enqueue([encodeTruncate(snapshot.index, snapshot.term)]);
    }
    logger.info(
      { dir, segments: writer.segmentCount, snapshotIndex: snapshot.index, lastIndex: wal.lastIndex, entries: rec.entries.length },
      'wal: recovered',
    );
    return {
      wal,
      recovered: {
        hardState: rec.hardState,
        ...(rec.snapshot ? { snapshot: rec.snapshot } : {}),
        entries: rec.entries,
      },
    };
  }

  /** Durably appends entries and/or a hard state; see the module header for ordering rules. */
  append(request: AppendRequest): Promise<void> {
    try {
      this.assertWritable();
      const bytes: Buffer[] = [];
      const entries = request.entries ?? [];
      const first = entries[0];
      if (first) bytes.push(...this.prepareEntries(first, entries));
      if (request.hardState) bytes.push(encodeHardState(request.hardState));
      // Validation and encoding above may throw; state changes only after all of it passed.
      if (first) {
        this.terms.length = first.index - 1 - this.snapshotMeta.index;
        for (const entry of entries) this.terms.push(entry.term);
        this.lastIndex = first.index + entries.length - 1;
      }
      if (request.hardState) this.hardState = { ...request.hardState };
      return this.enqueue(bytes).then(() => {
        this.appendsDone++;
      });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Writes the snapshot file durably, then compacts segments and old snapshot files. */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    const run = this.snapshotChain.then(() => this.doSaveSnapshot(snapshot));
    this.snapshotChain = run.catch(() => undefined);
    return run;
  }

  /** Flushes pending appends, then closes the current segment. Later appends reject. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    await this.snapshotChain.catch(() => undefined);
    await this.writer.close();
  }

  stats(): WalStats {
    return {
      fsyncs: this.counters.fsyncs,
      dirSyncs: this.counters.dirSyncs,
      bytesWritten: this.counters.bytesWritten,
      segments: this.writer.segmentCount,
      lastIndex: this.lastIndex,
      snapshotIndex: this.snapshotMeta.index,
      appends: this.appendsDone,
    };
  }

  private assertWritable(): void {
    const failure = this.writer.failure;
    if (failure) throw new WalFailedError('the WAL failed earlier and accepts no more writes', { cause: failure });
    if (this.closed) throw new WalUsageError('the WAL is closed');
  }

  private termOf(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term;
    return index > this.snapshotMeta.index ? this.terms[index - this.snapshotMeta.index - 1] : undefined;
  }

  /** Validates a batch of entries against the accepted log and encodes it (truncate first if needed). */
  private prepareEntries(first: LogEntry, entries: readonly LogEntry[]): Buffer[] {
    if (first.index <= this.snapshotMeta.index) {
      throw new WalUsageError(`cannot write entry ${first.index}: it is covered by the snapshot at ${this.snapshotMeta.index}`);
    }
    if (first.index > this.lastIndex + 1) {
      throw new WalUsageError(`entry ${first.index} would leave a gap after the last index ${this.lastIndex}`);
    }
    let prevTerm = this.termOf(first.index - 1) ?? 0;
    const bytes: Buffer[] = first.index <= this.lastIndex ? [encodeTruncate(first.index - 1, prevTerm)] : [];
    for (const [i, entry] of entries.entries()) {
      if (entry.index !== first.index + i) throw new WalUsageError(`entries are not consecutive at ${entry.index}`);
      if (entry.term < prevTerm) throw new WalUsageError(`entry ${entry.index} has term ${entry.term} below the previous term ${prevTerm}`);
      prevTerm = entry.term;
      bytes.push(encodeEntry(entry));
    }
    return bytes;
  }

  private enqueue(bytes: readonly Buffer[]): Promise<void> {
    return this.writer.write(bytes, { lastIndex: this.lastIndex, hardState: this.hardState });
  }

  private async doSaveSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertWritable();
    const { index, term } = snapshot.metadata;
    if (index <= this.snapshotMeta.index) {
      throw new WalUsageError(`snapshot index ${index} is not above the current snapshot index ${this.snapshotMeta.index}`);
    }
    await this.snapshots.write(snapshot);
    // Raft: keep the log after the snapshot only if it holds the snapshot's entry; else drop it all.
    const keepsLog = index <= this.lastIndex && this.termOf(index) === term;
    this.terms = keepsLog ? this.terms.slice(index - this.snapshotMeta.index) : [];
    this.snapshotMeta = { index, term };
    if (!keepsLog) {
      this.lastIndex = index;
      await this.enqueue([encodeTruncate(index, term)]);
    }
    const removed = await this.writer.removeSegmentsCoveredBy(index);
    if (removed > 0) this.logger.info({ removed, snapshotIndex: index }, 'wal: compacted segments');
    await this.snapshots.prune({ keep: this.options.keepSnapshots ?? 2 });
  }
}
