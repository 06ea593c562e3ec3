/**
 * WAL record framing and payload codecs.
 *
 * A record is `[u32 length][u32 crc][u8 type][payload]`, little-endian, where `length` is the
 * payload's byte count and `crc` is CRC-32 (IEEE, `node:zlib` crc32) over the length field, the
 * type byte and the payload — so a flipped bit anywhere in a record, including its length, fails
 * the check. Payloads (all integers u64 LE unless noted):
 * - segmentHeader (1): "DSYNCWAL" magic, u16 format version, first index of the segment
 * - entry (2): index, term, u8 entry type (0 normal, 1 confChange, 2 noop), data
 * - hardState (3): term, commit, vote as UTF-8 (the rest of the payload)
 * - truncate (4): lastIndex, term — "the log now ends at lastIndex, whose entry has this term":
 *   below the previous last index it discards the suffix (Raft overwrite); above it, it skips to
 *   a snapshot's index (the entries in between are covered by the snapshot).
 * Guarantees: decoding never throws on arbitrary bytes; it reports why a frame or payload is bad.
 */
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import type { EntryType, HardState, LogEntry } from './types.js';
import { assertU64Safe, readU64, u64 } from './u64.js';

export const FRAME_HEADER_BYTES = 9;
export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('DSYNCWAL', 'ascii');
const MAX_PAYLOAD = 0xffff_ffff;

export const RecordType = { segmentHeader: 1, entry: 2, hardState: 3, truncate: 4 } as const;
type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange', 'noop'];

export type WalRecord =
  | { readonly kind: 'segmentHeader'; readonly version: number; readonly firstIndex: number }
  | { readonly kind: 'entry'; readonly entry: LogEntry }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | { readonly kind: 'truncate'; readonly lastIndex: number; readonly term: number };

function checksum(frame: Buffer, end: number): number {
  return crc32(frame.subarray(8, end), crc32(frame.subarray(0, 4)));
}

function frame(type: RecordTypeCode, payload: Buffer): Buffer {
  if (payload.byteLength > MAX_PAYLOAD) throw new RangeError(`record payload too large: ${payload.byteLength}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.writeUInt32LE(payload.byteLength, 0);
  out.writeUInt8(type, 8);
  payload.copy(out, FRAME_HEADER_BYTES);
  out.writeUInt32LE(checksum(out, out.byteLength), 4);
  return out;
}

export function encodeSegmentHeader(firstIndex: number): Buffer {
  assertU64Safe(firstIndex, 'segment first index');
  const payload = Buffer.alloc(MAGIC.byteLength + 2 + 8);
  MAGIC.copy(payload, 0);
  payload.writeUInt16LE(FORMAT_VERSION, MAGIC.byteLength);
  payload.writeBigUInt64LE(u64(firstIndex), MAGIC.byteLength + 2);
  return frame(RecordType.segmentHeader, payload);
}

export function encodeEntry(entry: LogEntry): Buffer {
  assertU64Safe(entry.index, 'entry index');
  assertU64Safe(entry.term, 'entry term');
  const typeCode = ENTRY_TYPES.indexOf(entry.type);
  if (typeCode < 0) throw new RangeError(`unknown entry type ${String(entry.type)}`);
  const payload = Buffer.allocUnsafe(17 + entry.data.byteLength);
  payload.writeBigUInt64LE(u64(entry.index), 0);
  payload.writeBigUInt64LE(u64(entry.term), 8);
  payload.writeUInt8(typeCode, 16);
  payload.set(entry.data, 17);
  return frame(RecordType.entry, payload);
}

export function encodeHardState(hardState: HardState): Buffer {
  assertU64Safe(hardState.term, 'hard state term');
  assertU64Safe(hardState.commit, 'hard state commit');
  const vote = Buffer.from(hardState.vote, 'utf8');
  const payload = Buffer.allocUnsafe(16 + vote.byteLength);
  payload.writeBigUInt64LE(u64(hardState.term), 0);
  payload.writeBigUInt64LE(u64(hardState.commit), 8);
  vote.copy(payload, 16);
  return frame(RecordType.hardState, payload);
}

export function encodeTruncate(lastIndex: number, term: number): Buffer {
  assertU64Safe(lastIndex, 'truncate index');
  assertU64Safe(term, 'truncate term');
  const payload = Buffer.alloc(16);
  payload.writeBigUInt64LE(u64(lastIndex), 0);
  payload.writeBigUInt64LE(u64(term), 8);
  return frame(RecordType.truncate, payload);
}

export type FrameResult =
  | { readonly status: 'ok'; readonly type: number; readonly payload: Buffer; readonly end: number }
  | { readonly status: 'partial' | 'checksum' };

/** Reads the frame at `offset`: 'partial' when it runs past the end of `buf`. */
export function readFrame(buf: Buffer, offset: number): FrameResult {
  if (buf.byteLength - offset < FRAME_HEADER_BYTES) return { status: 'partial' };
  const length = buf.readUInt32LE(offset);
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buf.byteLength) return { status: 'partial' };
  const view = buf.subarray(offset, end);
  if (checksum(view, view.byteLength) !== buf.readUInt32LE(offset + 4)) return { status: 'checksum' };
  return { status: 'ok', type: view.readUInt8(8), payload: view.subarray(FRAME_HEADER_BYTES), end };
}

/**
 * The offset of the first checksum-valid frame of a known type that starts after `from`, or
 * undefined. Used only when a frame is bad, to tell a torn tail (nothing valid after it) from
 * corruption in the middle. Scans every byte offset because a damaged length field says nothing
 * about where the next record starts.
 */
export function findValidFrameAfter(buf: Buffer, from: number): number | undefined {
  const known = new Set<number>(Object.values(RecordType));
  for (let at = from + 1; at + FRAME_HEADER_BYTES <= buf.byteLength; at++) {
    if (!known.has(buf.readUInt8(at + 8))) continue;
    if (at + FRAME_HEADER_BYTES + buf.readUInt32LE(at) > buf.byteLength) continue;
    if (readFrame(buf, at).status === 'ok') return at;
  }
  return undefined;
}

/** Decodes a checksum-valid frame's payload; a string says why it is not a valid record. */
export function decodePayload(type: number, payload: Buffer): WalRecord | string {
  switch (type) {
    case RecordType.segmentHeader: {
      if (payload.byteLength !== MAGIC.byteLength + 10) return 'segment header has the wrong size';
      if (!payload.subarray(0, MAGIC.byteLength).equals(MAGIC)) return 'segment header magic mismatch';
      const version = payload.readUInt16LE(MAGIC.byteLength);
      if (version !== FORMAT_VERSION) return `unsupported WAL format version ${version}`;
      const firstIndex = readU64(payload, MAGIC.byteLength + 2);
      return firstIndex === undefined ? 'segment first index out of range' : { kind: 'segmentHeader', version, firstIndex };
    }
    case RecordType.entry: {
      if (payload.byteLength < 17) return 'entry record too short';
      const index = readU64(payload, 0);
      const term = readU64(payload, 8);
      const entryType = ENTRY_TYPES[payload.readUInt8(16)];
      if (index === undefined || term === undefined) return 'entry index or term out of range';
      if (entryType === undefined) return `unknown entry type ${payload.readUInt8(16)}`;
      // Copy: a subarray would pin the whole segment buffer for as long as the entry lives.
      const data = new Uint8Array(payload.subarray(17));
      return { kind: 'entry', entry: { index, term, type: entryType, data } };
    }
    case RecordType.hardState: {
      if (payload.byteLength < 16) return 'hard state record too short';
      const term = readU64(payload, 0);
      const commit = readU64(payload, 8);
      if (term === undefined || commit === undefined) return 'hard state term or commit out of range';
      return { kind: 'hardState', hardState: { term, commit, vote: payload.toString('utf8', 16) } };
    }
    case RecordType.truncate: {
      if (payload.byteLength !== 16) return 'truncate record has the wrong size';
      const lastIndex = readU64(payload, 0);
      const term = readU64(payload, 8);
      if (lastIndex === undefined || term === undefined) return 'truncate index or term out of range';
      return { kind: 'truncate', lastIndex, term };
    }
    default:
      return `unknown record type ${type}`;
  }
}
