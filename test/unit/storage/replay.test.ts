import { describe, expect, it } from 'vitest';
import { WalCorruptionError } from '../../../src/storage/errors.js';
import { replayLog, type ReplaySegment } from '../../../src/storage/replay.js';
import type { WalRecord } from '../../../src/storage/record.js';
import { entry } from './helpers.js';

const e = (index: number, term: number): WalRecord => ({ kind: 'entry', entry: entry(index, term) });
const cut = (lastIndex: number, term: number): WalRecord => ({ kind: 'truncate', lastIndex, term });
const hs = (term: number, commit: number): WalRecord => ({ kind: 'hardState', hardState: { term, vote: '', commit } });

function seg(firstIndex: number, ...records: WalRecord[]): ReplaySegment {
  const all: WalRecord[] = [{ kind: 'segmentHeader', version: 1, firstIndex }, ...records];
  return { file: `wal-${firstIndex}.log`, firstIndex, records: all.map((record, i) => ({ record, offset: i * 10 })) };
}

const indexes = (r: { entries: { index: number; term: number }[] }) => r.entries.map((x) => `${x.index}/${x.term}`);

describe('replayLog', () => {
  it('applies entries, overwrites and the last hard state in order across segments', () => {
    const r = replayLog([seg(1, e(1, 1), e(2, 1), e(3, 1), hs(1, 2)), seg(4, e(4, 1), cut(2, 1), e(3, 2), hs(2, 3))], undefined);
    expect(indexes(r)).toEqual(['1/1', '2/1', '3/2']);
    expect(r.hardState).toEqual({ term: 2, vote: '', commit: 3 });
    expect(r).toMatchObject({ rawLastIndex: 3, needsReset: false });
  });

  it('drops entries covered by the snapshot', () => {
    const r = replayLog([seg(3, e(3, 1), e(4, 1), e(5, 2))], { index: 4, term: 1 });
    expect(indexes(r)).toEqual(['5/2']);
  });

  it('reports the file and offset of an entry that does not follow the last index', () => {
    expect(() => replayLog([seg(1, e(1, 1), e(3, 1))], undefined)).toThrow(
      expect.objectContaining({ name: 'WalCorruptionError', file: 'wal-1.log', offset: 20 }),
    );
  });

  it('detects a gap between segments and before the first segment', () => {
    expect(() => replayLog([seg(1, e(1, 1)), seg(3, e(3, 1))], undefined)).toThrow(/previous segment ends at 1/);
    expect(() => replayLog([seg(5, e(5, 1))], { index: 3, term: 1 })).toThrow(/entries 4\.\.4 are missing/);
    expect(() => replayLog([seg(5, e(5, 1))], { index: 4, term: 1 })).not.toThrow();
  });

  it('allows a truncate to skip forward only as far as the snapshot covers', () => {
    const ok = replayLog([seg(1, e(1, 1), cut(10, 3), e(11, 3))], { index: 10, term: 3 });
    expect(indexes(ok)).toEqual(['11/3']);
    expect(() => replayLog([seg(1, e(1, 1), cut(10, 3))], { index: 5, term: 1 })).toThrow(WalCorruptionError);
  });

  it('asks for a reset when the log ends below the snapshot or disagrees with its term', () => {
    expect(replayLog([seg(1, e(1, 1), e(2, 1))], { index: 5, term: 2 })).toMatchObject({ entries: [], needsReset: true });
    const conflict = replayLog([seg(1, e(1, 1), e(2, 1), e(3, 1))], { index: 2, term: 2 });
    expect(conflict).toMatchObject({ entries: [], needsReset: true });
    // After the reset record (truncate at the snapshot index with its term) the log is consistent.
    const reset = replayLog([seg(1, e(1, 1), e(2, 1), e(3, 1), cut(2, 2), e(3, 2))], { index: 2, term: 2 });
    expect(reset).toMatchObject({ needsReset: false });
    expect(indexes(reset)).toEqual(['3/2']);
  });
});
