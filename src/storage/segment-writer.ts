/**
 * The write path of the WAL: a queue of encoded writes, group commit, and segment rotation.
 *
 * Guarantees:
 * - A write's promise resolves only after its bytes are durable (one pwrite through the
 *   segment's O_DSYNC descriptor: what write + fdatasync guarantee); writes resolve in the
 *   order they were queued.
 * - Group commit: everything queued while a durable write runs goes out as one durable write.
 *   'always' starts a flush at once (after one microtask, so writes queued in the same
 *   synchronous run share it); 'batch' waits until the oldest queued write is `batchWindowMs`
 *   old.
 * - Rotation happens only at a write boundary, after the current segment is durable, so only
 *   the last segment can ever hold a torn tail. A segment's first index is always greater than
 *   the current one's, so file names sort in write order.
 * - A failed write or rotation fails the writer for good: the failing writes and all
 *   queued ones reject with `WalFailedError`, and so does every later write.
 */
import { Buffer } from 'node:buffer';
import { WalFailedError } from './errors.js';
import type { StorageFs } from './fs-sync.js';
import type { WalLogger } from './logger.js';
import { createSegment, type OpenSegment } from './segment.js';
import type { HardState } from './types.js';

let zeroBuffer = Buffer.alloc(0);

/** `length` zero bytes (a shared buffer: it is only ever read). */
function zeros(length: number): Buffer {
  if (zeroBuffer.byteLength < length) zeroBuffer = Buffer.alloc(length);
  return zeroBuffer.subarray(0, length);
}

export interface SegmentRef {
  readonly path: string;
  readonly firstIndex: number;
}

/** The log's last index and hard state once a write is on disk (for the next segment's header). */
export interface StateAfterWrite {
  readonly lastIndex: number;
  readonly hardState: HardState;
}

export interface SegmentWriterInit {
  readonly fs: StorageFs;
  readonly dir: string;
  readonly logger: WalLogger;
  readonly mode: 'always' | 'batch';
  readonly batchWindowMs: number;
  readonly segmentBytes: number;
  /** How far ahead of the appends the current segment is zero-filled (0: not at all). */
  readonly preallocateBytes: number;
  /** Existing segments, oldest first; the last one is `current`. */
  readonly segments: readonly SegmentRef[];
  readonly current: OpenSegment;
  /** The state at the end of `current` as found on disk. */
  readonly written: StateAfterWrite;
}

interface PendingWrite {
  readonly bytes: readonly Buffer[];
  readonly after: StateAfterWrite;
  readonly enqueuedAt: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class SegmentWriter {
  private readonly init: SegmentWriterInit;
  private readonly segments: SegmentRef[];
  private current: OpenSegment;
  private written: StateAfterWrite;
  private pending: PendingWrite[] = [];
  private flushLoop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private failed: Error | undefined;

  constructor(init: SegmentWriterInit) {
    this.init = init;
    this.segments = init.segments.map(({ path, firstIndex }) => ({ path, firstIndex }));
    this.current = init.current;
    this.written = init.written;
  }

  get failure(): Error | undefined {
    return this.failed;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Queues encoded records; resolves once they are durable. */
  write(bytes: readonly Buffer[], after: StateAfterWrite): Promise<void> {
    if (this.failed) return Promise.reject(new WalFailedError('the WAL failed earlier and accepts no more writes', { cause: this.failed }));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, after, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /**
   * Removes, oldest first, every segment whose successor starts at or below `coveredIndex + 1`:
   * all entries such a segment still holds are at or below `coveredIndex` (a segment starts right
   * after the last index its predecessor ended with). The current segment is never removed.
   */
  async removeSegmentsCoveredBy(coveredIndex: number): Promise<number> {
    const victims: SegmentRef[] = [];
    while ((this.segments[1]?.firstIndex ?? Infinity) <= coveredIndex + 1) {
      const victim = this.segments.shift();
      if (victim) victims.push(victim);
    }
    for (const victim of victims) await this.init.fs.unlink(victim.path);
    if (victims.length > 0) await this.init.fs.syncDir(this.init.dir);
    return victims.length;
  }

  /** Flushes everything queued (without waiting for a batch window), then closes the segment. */
  async close(): Promise<void> {
    this.draining = true;
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.startFlushLoop();
      }
      if (!this.flushLoop) break;
      await this.flushLoop;
    }
    // A cleanly closed segment ends at its last record.
    if (!this.failed && this.current.allocated > this.current.size) await this.current.file.truncate(this.current.size);
    await this.current.file.close();
  }

  private schedule(): void {
    const first = this.pending[0];
    if (this.flushLoop || this.timer || !first) return;
    const wait = this.init.mode === 'batch' && !this.draining ? this.init.batchWindowMs - (performance.now() - first.enqueuedAt) : 0;
    if (wait > 0) {
      // Timers start from libuv's cached loop time and can fire early by real time: re-check.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.ceil(wait));
      return;
    }
    this.startFlushLoop();
  }

  private startFlushLoop(): void {
    this.flushLoop = this.runFlushLoop().finally(() => {
      this.flushLoop = undefined;
      if (!this.failed) this.schedule();
    });
  }

  private async runFlushLoop(): Promise<void> {
    // One microtask: writes queued in the same synchronous run join the first batch.
    await Promise.resolve();
    do {
      const batch = this.pending.splice(0);
      try {
        await this.writeBatch(batch);
      } catch (err) {
        this.fail(err, batch);
        return;
      }
      for (const write of batch) write.resolve();
      // 'batch' mode: writes that queued during this fsync wait out their own window.
    } while ((this.init.mode === 'always' || this.draining) && this.pending.length > 0);
  }

  /** One durable write for the batch, split only where a segment rotates. */
  private async writeBatch(batch: readonly PendingWrite[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flushChunk = async (): Promise<void> => {
      if (chunkBytes === 0) return;
      const data = Buffer.concat(chunk, chunkBytes);
      chunk = [];
      chunkBytes = 0;
      await this.fillAhead(this.current.size + data.byteLength);
      await this.current.file.writeDurable(data, this.current.size);
      this.current.size += data.byteLength;
    };
    for (const write of batch) {
      for (const b of write.bytes) {
        chunk.push(b);
        chunkBytes += b.byteLength;
      }
      this.written = write.after;
      // Names must keep increasing, so a segment whose log was truncated below its start grows on.
      if (this.current.size + chunkBytes >= this.init.segmentBytes && this.written.lastIndex + 1 > this.current.firstIndex) {
        await flushChunk();
        await this.rotate();
      }
    }
    await flushChunk();
  }

  /**
   * Makes sure the file is allocated (zero-filled, durably) up to `end` and a step beyond, so
   * appends overwrite allocated blocks. Never past the segment size.
   */
  private async fillAhead(end: number): Promise<void> {
    const segment = this.current;
    if (end <= segment.allocated) return;
    const target = Math.min(end + this.init.preallocateBytes, this.init.segmentBytes);
    // At the segment's end (it rotates after this write): the write itself grows the file.
    if (target <= end) return;
    // Never over records: after a write that grew the file itself, allocated is behind size.
    const from = Math.max(segment.allocated, segment.size);
    await segment.file.writeDurable(zeros(target - from), from);
    segment.allocated = target;
  }

  private async rotate(): Promise<void> {
    const previous = this.current;
    // The previous segment is fully durable here, so a torn tail can only be in the new one.
    this.current = await createSegment(this.init.fs, this.init.dir, {
      firstIndex: this.written.lastIndex + 1,
      hardState: this.written.hardState,
    });
    this.segments.push({ path: this.current.path, firstIndex: this.current.firstIndex });
    // No zeros are left behind: they are filled only up to the segment size, which the
    // rotating write passes (and recovery reads a zero tail as the end in any segment).
    await previous.file.close();
    this.init.logger.info({ segment: this.current.path, firstIndex: this.current.firstIndex }, 'wal: rotated segment');
  }

  private fail(err: unknown, batch: readonly PendingWrite[]): void {
    this.failed = err instanceof Error ? err : new Error(String(err));
    this.init.logger.warn({ err: this.failed.message }, 'wal: write or fsync failed; the WAL stops accepting writes');
    const error = new WalFailedError(`WAL write failed: ${this.failed.message}`, { cause: this.failed });
    for (const write of [...batch, ...this.pending.splice(0)]) write.reject(error);
  }
}
