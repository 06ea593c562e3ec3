/**
 * WAL segment files: naming, creation and validation of one segment's records.
 *
 * A segment is `wal-<16 hex digits of its first index>.log`; it starts with a segmentHeader
 * record (magic, version, first index) followed by a hardState record, so compaction of older
 * segments never loses the latest hard state. Segments are created under a temporary name,
 * fsynced, renamed and the directory fsynced, so a segment file never exists without a durable
 * header. Names sort in write order because a new segment's first index is always greater than
 * the current one's (the WAL defers rotation until that holds).
 */
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { WalCorruptionError } from './errors.js';
import type { StorageFile, StorageFs } from './fs-sync.js';
import { decodePayload, encodeHardState, encodeSegmentHeader, findValidFrameAfter, readFrame, type WalRecord } from './record.js';
import type { HardState } from './types.js';

const SEGMENT_NAME = /^wal-([0-9a-f]{16})\.log$/;
export const TEMP_SUFFIX = '.tmp';

export function segmentFileName(firstIndex: number): string {
  return `wal-${firstIndex.toString(16).padStart(16, '0')}.log`;
}

/** The first index encoded in a segment file name, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match?.[1]) return undefined;
  const value = Number.parseInt(match[1], 16);
  return Number.isSafeInteger(value) ? value : undefined;
}

export interface PositionedRecord {
  readonly record: WalRecord;
  readonly offset: number;
}

export interface ScannedSegment {
  readonly records: readonly PositionedRecord[];
  /**
   * The end of the last valid record: where appends continue, and where the file must be
   * truncated when `torn` is set. Zero bytes after it (space filled ahead of the appends) are
   * the clean end of the segment, not a torn write.
   */
  readonly validEnd: number;
  readonly torn?: { readonly offset: number; readonly reason: string };
}

export interface ScanOptions {
  /** Path used in error messages. */
  readonly file: string;
  /** The first index the file name promises. */
  readonly firstIndex: number;
  /** Only the last segment may have a torn tail. */
  readonly isLast: boolean;
}

/**
 * Validates every record of one segment. A bad frame at the very end of the last segment (no
 * valid frame anywhere after it) is reported as `torn`; any other bad frame, any checksum-valid
 * record that does not decode, or a wrong header throws `WalCorruptionError`.
 */
export function scanSegment(buf: Buffer, options: ScanOptions): ScannedSegment {
  const corrupt = (offset: number, reason: string): WalCorruptionError =>
    new WalCorruptionError({ file: options.file, offset, reason });
  const records: PositionedRecord[] = [];
  let offset = 0;
  while (offset < buf.byteLength) {
    const frame = readFrame(buf, offset);
    // An all-zero frame never checks (the CRC of zero bytes is not zero), so zeros from here to
    // the end of the file hold no record: they are the space the writer filled ahead.
    if (frame.status !== 'ok' && offset > 0 && isZeroFrom(buf, offset)) break;
    if (frame.status !== 'ok') {
      const reason = frame.status === 'partial' ? 'record runs past the end of the file' : 'checksum mismatch';
      const next = findValidFrameAfter(buf, offset);
      if (options.isLast && next === undefined) return { records, validEnd: offset, torn: { offset, reason } };
      const where =
        next !== undefined
          ? `; a valid record follows at offset ${next}`
          : '; it is not the last segment, so this is not a torn write';
      throw corrupt(offset, reason + where);
    }
    const record = decodePayload(frame.type, frame.payload);
    if (typeof record === 'string') throw corrupt(offset, record);
    if (offset === 0) {
      if (record.kind !== 'segmentHeader') throw corrupt(0, 'the segment does not start with a segment header');
      if (record.firstIndex !== options.firstIndex) {
        throw corrupt(0, `header first index ${record.firstIndex} does not match the file name (${options.firstIndex})`);
      }
    } else if (record.kind === 'segmentHeader') {
      throw corrupt(offset, 'a second segment header inside the segment');
    }
    records.push({ record, offset });
    offset = frame.end;
  }
  return { records, validEnd: offset };
}

/** Whether every byte of `buf` from `offset` on is zero. */
function isZeroFrom(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < buf.byteLength; i++) if (buf[i] !== 0) return false;
  return true;
}

export interface OpenSegment {
  readonly path: string;
  readonly firstIndex: number;
  readonly file: StorageFile;
  /** Bytes of records in the file, i.e. where the next record is written. */
  size: number;
  /**
   * The file's length: bytes from `size` up to here are zero, filled ahead of the appends so
   * that a durable append overwrites blocks already allocated instead of growing the file
   * (a growing file costs a journal commit per write on ext4/xfs).
   */
  allocated: number;
}

/** Creates a segment (header + hard state) atomically and leaves it open for appending. */
export async function createSegment(
  fs: StorageFs,
  dir: string,
  options: { readonly firstIndex: number; readonly hardState: HardState },
): Promise<OpenSegment> {
  const path = join(dir, segmentFileName(options.firstIndex));
  const temp = path + TEMP_SUFFIX;
  const head = Buffer.concat([encodeSegmentHeader(options.firstIndex), encodeHardState(options.hardState)]);
  // O_DSYNC: the header write is durable on return, and so is every append after it.
  const file = await fs.openFile(temp, { create: true, dsync: true });
  try {
    await file.writeDurable(head, 0);
    // The open handle keeps pointing at the same inode after the rename.
    await fs.rename(temp, path);
    await fs.syncDir(dir);
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
  return { path, firstIndex: options.firstIndex, file, size: head.byteLength, allocated: head.byteLength };
}
