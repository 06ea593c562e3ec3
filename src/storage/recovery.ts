/**
 * Startup recovery: reads the WAL directory, repairs a torn tail, picks a snapshot and replays.
 *
 * Rules:
 * - Leftover `*.tmp` files (an interrupted segment creation or snapshot write) are removed.
 * - Every record of every segment is validated. A bad record at the very end of the last
 *   segment with nothing valid after it is a torn write: the file is truncated to the last good
 *   record, fdatasynced, and a warning is logged. Anything else bad throws `WalCorruptionError`.
 * - The newest snapshot whose checksum holds is used. A damaged newer one is skipped (and
 *   renamed to `*.corrupt`) only if the WAL still bridges from the older snapshot; else the
 *   error names the damaged file.
 * Assumes it runs alone on the directory (one WAL per directory, one process).
 */
import { join } from 'node:path';
import { WalCorruptionError } from './errors.js';
import { asBuffer, type StorageFs } from './fs-sync.js';
import { replayLog, type ReplayResult, type ReplaySegment } from './replay.js';
import { parseSegmentFileName, scanSegment, TEMP_SUFFIX } from './segment.js';
import { SnapshotStore, type SnapshotFileRef } from './snapshot-store.js';
import type { Snapshot } from './types.js';
import type { WalLogger } from './logger.js';

export interface RecoveredSegment {
  readonly path: string;
  readonly firstIndex: number;
  /** Where the records end (appends continue here in the last segment). */
  readonly size: number;
  /** The file's length; zero-filled from `size` on. */
  readonly allocated: number;
}

export interface RecoveryResult extends ReplayResult {
  readonly snapshot?: Snapshot;
  /** Segment files kept, oldest first; the last one is where appends continue. */
  readonly segments: readonly RecoveredSegment[];
}

async function removeTempFiles(fs: StorageFs, dir: string, logger: WalLogger): Promise<void> {
  const temps = (await fs.readdir(dir)).filter((name) => name.endsWith(TEMP_SUFFIX));
  for (const name of temps) {
    await fs.unlink(join(dir, name));
    logger.warn({ file: name }, 'wal: removed an unfinished temporary file');
  }
  if (temps.length > 0) await fs.syncDir(dir);
}

async function scanSegments(fs: StorageFs, dir: string, logger: WalLogger) {
  const found = (await fs.readdir(dir))
    .map((name) => ({ name, firstIndex: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; firstIndex: number } => s.firstIndex !== undefined)
    .sort((a, b) => a.firstIndex - b.firstIndex);
  const scanned: (ReplaySegment & RecoveredSegment)[] = [];
  for (const [i, { name, firstIndex }] of found.entries()) {
    const path = join(dir, name);
    const buf = asBuffer(await fs.readFile(path));
    const isLast = i === found.length - 1;
    const result = scanSegment(buf, { file: path, firstIndex, isLast });
    if (result.torn) {
      logger.warn(
        { file: path, offset: result.torn.offset, droppedBytes: buf.byteLength - result.validEnd, reason: result.torn.reason },
        'wal: torn tail in the last segment (an unacknowledged write); truncating to the last valid record',
      );
      const file = await fs.openFile(path, { create: false });
      try {
        await file.truncate(result.validEnd);
        await file.datasync();
      } finally {
        await file.close();
      }
    }
    if (result.records.length === 0) {
      // Only reachable when the header itself was torn, so the segment never held a record.
      await fs.unlink(path);
      await fs.syncDir(dir);
      logger.warn({ file: path }, 'wal: removed a last segment without a valid header');
      continue;
    }
    const allocated = result.torn ? result.validEnd : buf.byteLength;
    scanned.push({ file: path, path, firstIndex, records: result.records, size: result.validEnd, allocated });
  }
  return scanned;
}

export async function recoverWal(fs: StorageFs, dir: string, options: { readonly logger: WalLogger }): Promise<RecoveryResult> {
  const { logger } = options;
  await removeTempFiles(fs, dir, logger);
  const segments = await scanSegments(fs, dir, logger);
  const store = new SnapshotStore(fs, dir);
  const skipped: (SnapshotFileRef & { error: string })[] = [];
  for (const ref of await store.list()) {
    const read = await store.read(ref);
    if ('error' in read) {
      skipped.push({ ...ref, error: read.error });
      logger.warn({ file: ref.name, reason: read.error }, 'wal: snapshot file is damaged; trying an older one');
      continue;
    }
    const replay = replayFromFallback(segments, read.snapshot, { skipped, dir });
    for (const bad of skipped) await store.quarantine(bad);
    return { ...replay, snapshot: read.snapshot, segments: withoutRecords(segments) };
  }
  const replay = replayFromFallback(segments, undefined, { skipped, dir });
  return { ...replay, segments: withoutRecords(segments) };
}

/** Drops the parsed records, so the entries' memory is not held by the segment list. */
function withoutRecords(segments: readonly RecoveredSegment[]): RecoveredSegment[] {
  return segments.map(({ path, firstIndex, size, allocated }) => ({ path, firstIndex, size, allocated }));
}

/** Replays; when newer snapshots were skipped, a gap becomes an error naming the damaged one. */
function replayFromFallback(
  segments: readonly ReplaySegment[],
  snapshot: Snapshot | undefined,
  options: { readonly skipped: readonly { name: string; error: string }[]; readonly dir: string },
): ReplayResult {
  const { skipped, dir } = options;
  try {
    return replayLog(segments, snapshot?.metadata);
  } catch (err) {
    const newest = skipped[0];
    if (!(err instanceof WalCorruptionError) || !newest) throw err;
    throw new WalCorruptionError({
      file: join(dir, newest.name),
      offset: 0,
      reason:
        `the newest snapshot is damaged (${newest.error}) and the WAL no longer holds the entries ` +
        `to rebuild from ${snapshot ? `the older snapshot at index ${snapshot.metadata.index}` : 'index 1'} (${err.reason})`,
    });
  }
}
