import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeTruncate,
  findValidFrameAfter,
  readFrame,
} from '../../../src/storage/record.js';
import { decodeSnapshot, encodeSnapshot, parseSnapshotFileName, snapshotFileName } from '../../../src/storage/snapshot-store.js';
import { parseSegmentFileName, segmentFileName } from '../../../src/storage/segment.js';

function decode(buf: Buffer) {
  const frame = readFrame(buf, 0);
  if (frame.status !== 'ok') throw new Error(frame.status);
  return decodePayload(frame.type, frame.payload);
}

describe('record codec', () => {
  it('round-trips every record type, with u64 indexes up to 2^53-1', () => {
    const big = Number.MAX_SAFE_INTEGER;
    expect(decode(encodeSegmentHeader(big))).toEqual({ kind: 'segmentHeader', version: 1, firstIndex: big });
    expect(decode(encodeEntry({ index: big, term: 7, type: 'confChange', data: new Uint8Array([1, 2, 3]) }))).toEqual({
      kind: 'entry',
      entry: { index: big, term: 7, type: 'confChange', data: new Uint8Array([1, 2, 3]) },
    });
    expect(decode(encodeHardState({ term: 2 ** 40, vote: 'nöde-1', commit: 9 }))).toEqual({
      kind: 'hardState',
      hardState: { term: 2 ** 40, vote: 'nöde-1', commit: 9 },
    });
    expect(decode(encodeTruncate(0, 3))).toEqual({ kind: 'truncate', lastIndex: 0, term: 3 });
  });

  it('lays out [u32 length][u32 crc][u8 type][payload] little-endian, indexes as u64', () => {
    const buf = encodeTruncate(0x0102030405, 2);
    expect(buf.readUInt32LE(0)).toBe(16);
    expect(buf.readUInt8(8)).toBe(4);
    expect(buf.readBigUInt64LE(9)).toBe(0x0102030405n);
  });

  it('refuses indexes that are not safe integers instead of rounding them', () => {
    expect(() => encodeEntry({ index: 2 ** 53, term: 1, type: 'normal', data: new Uint8Array() })).toThrow(RangeError);
    expect(() => encodeHardState({ term: -1, vote: '', commit: 0 })).toThrow(RangeError);
    const tooBig = encodeTruncate(1, 1);
    tooBig.writeBigUInt64LE(2n ** 60n, 9);
    expect(decodePayload(4, tooBig.subarray(9))).toMatch(/out of range/);
  });

  it('detects a flip of any single bit of a record, the length field included', () => {
    const good = encodeEntry({ index: 3, term: 2, type: 'normal', data: Buffer.from('payload') });
    for (let byte = 0; byte < good.byteLength; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(good);
        bad[byte] = (bad[byte] ?? 0) ^ (1 << bit);
        expect(readFrame(bad, 0).status, `byte ${byte} bit ${bit}`).not.toBe('ok');
      }
    }
  });

  it('reports a frame cut short as partial, and finds the next valid frame after garbage', () => {
    const a = encodeTruncate(1, 1);
    expect(readFrame(a.subarray(0, a.byteLength - 1), 0).status).toBe('partial');
    const joined = Buffer.concat([Buffer.from([9, 9, 9]), a]);
    expect(findValidFrameAfter(joined, 0)).toBe(3);
    expect(findValidFrameAfter(Buffer.alloc(64), 0)).toBeUndefined();
  });
});

describe('file names and snapshot codec', () => {
  it('names segments and snapshots with fixed-width hex so they sort by index', () => {
    expect(segmentFileName(255)).toBe('wal-00000000000000ff.log');
    expect(parseSegmentFileName('wal-00000000000000ff.log')).toBe(255);
    expect(parseSegmentFileName('wal-ff.log')).toBeUndefined();
    expect(snapshotFileName(16, 2)).toBe('snap-0000000000000010-0000000000000002.snap');
    expect(parseSnapshotFileName(snapshotFileName(16, 2))).toMatchObject({ index: 16, term: 2 });
  });

  it('round-trips a snapshot and detects any flipped byte by its checksum', () => {
    const snap = { metadata: { index: 10, term: 3, config: { voters: ['a', 'b'], learners: ['c'] } }, data: Buffer.from('state') };
    const buf = encodeSnapshot(snap);
    expect(decodeSnapshot(buf)).toEqual({ ...snap, data: new Uint8Array(Buffer.from('state')) });
    for (let i = 0; i < buf.byteLength; i++) {
      const bad = Buffer.from(buf);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      expect(typeof decodeSnapshot(bad), `byte ${i}`).toBe('string');
    }
  });
});
