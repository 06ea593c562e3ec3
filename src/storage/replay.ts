/**
 * Replays validated WAL records into the log a Raft node restarts with.
 *
 * Rules: the first segment's first index minus one must be covered by the snapshot (else
 * entries are missing); each later segment must start right after the previous one's last
 * index; every entry must have index = last + 1; a truncate record sets the last index (down:
 * Raft overwrite; up: only as far as the snapshot covers). Entries at or below the snapshot
 * index are dropped (the snapshot holds them). The last hardState record wins. If the log's term
 * at the snapshot index differs from the snapshot's term, the log after it is discarded.
 * Pure: no I/O, so the rules are testable on their own and violations name file and offset.
 */
import { WalCorruptionError } from './errors.js';
import type { PositionedRecord } from './segment.js';
import { EMPTY_HARD_STATE, type HardState, type LogEntry } from './types.js';

export interface ReplaySegment {
  readonly file: string;
  readonly firstIndex: number;
  readonly records: readonly PositionedRecord[];
}

export interface ReplayResult {
  readonly hardState: HardState;
  /** Entries after the snapshot index, consecutive. */
  readonly entries: LogEntry[];
  /** The last index the records describe (may be below the snapshot index). */
  readonly rawLastIndex: number;
  /**
   * True when the records do not continue the snapshot: the log ends below it, or holds a
   * different term at its index (a snapshot install that crashed before its truncate record).
   * The WAL then writes a truncate record to the snapshot index before accepting appends.
   */
  readonly needsReset: boolean;
}

export function replayLog(
  segments: readonly ReplaySegment[],
  snapshot: { readonly index: number; readonly term: number } | undefined,
): ReplayResult {
  const snapIndex = snapshot?.index ?? 0;
  let hardState = EMPTY_HARD_STATE;
  const entries: LogEntry[] = [];
  const first = segments[0];
  if (!first) return { hardState, entries, rawLastIndex: snapIndex, needsReset: false };
  if (first.firstIndex - 1 > snapIndex) {
    throw new WalCorruptionError({
      file: first.file,
      offset: 0,
      reason: `entries ${snapIndex + 1}..${first.firstIndex - 1} are missing: the oldest segment starts at ${first.firstIndex} but the snapshot covers only up to ${snapIndex}`,
    });
  }
  let last = first.firstIndex - 1;
  let termAtSnapshot: number | undefined;
  for (const segment of segments) {
    const fail = (offset: number, reason: string): WalCorruptionError =>
      new WalCorruptionError({ file: segment.file, offset, reason });
    if (segment.firstIndex !== last + 1) {
      throw fail(0, `segment starts at index ${segment.firstIndex} but the previous segment ends at ${last}`);
    }
    for (const { record, offset } of segment.records) {
      switch (record.kind) {
        case 'segmentHeader':
          break;
        case 'hardState':
          hardState = record.hardState;
          break;
        case 'entry': {
          const { index } = record.entry;
          if (index !== last + 1) throw fail(offset, `entry index ${index} does not follow index ${last}`);
          last = index;
          if (index === snapIndex) termAtSnapshot = record.entry.term;
          if (index > snapIndex) entries.push(record.entry);
          break;
        }
        case 'truncate': {
          const target = record.lastIndex;
          if (target > last && target > snapIndex) {
            throw fail(offset, `the log skips from ${last} to ${target} but the snapshot covers only up to ${snapIndex}`);
          }
          // The record states the term at its index, so a reset to the snapshot index is recognised.
          if (target === snapIndex) termAtSnapshot = record.term;
          else if (target < snapIndex) termAtSnapshot = undefined;
          while (entries.length > 0 && (entries[entries.length - 1]?.index ?? 0) > target) entries.pop();
          last = target;
          break;
        }
        default: {
          const exhaustive: never = record;
          throw fail(offset, `unexpected record ${String(exhaustive)}`);
        }
      }
    }
  }
  let needsReset = last < snapIndex;
  if (snapshot && termAtSnapshot !== undefined && termAtSnapshot !== snapshot.term) {
    // The log disagrees with the snapshot at its own index: Raft discards the whole log.
    entries.length = 0;
    needsReset = true;
  }
  return { hardState, entries, rawLastIndex: last, needsReset };
}
