import { describe, expect, it } from 'vitest';
import { Wal, WalFailedError, WalUsageError } from '../../../src/storage/index.js';
import { silentLogger } from '../../../src/log.js';
import { entry, plain, range, recordingFs, segmentFiles, tempDir } from './helpers.js';

describe('Wal round trip', () => {
  it('recovers the same hard state and entries after close and reopen', async () => {
    const dir = await tempDir();
    const { wal, recovered } = await Wal.open(dir, { fsync: 'always', logger: silentLogger() });
    expect(recovered).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, entries: [] });
    const written = [entry(1, 1, { type: 'noop', data: '' }), entry(2, 1), entry(3, 2, { type: 'confChange' })];
    await wal.append({ entries: written.slice(0, 2), hardState: { term: 1, vote: 'n1', commit: 0 } });
    await wal.append({ entries: written.slice(2), hardState: { term: 2, vote: 'n2', commit: 2 } });
    expect(wal.stats()).toMatchObject({ lastIndex: 3, appends: 2, segments: 1 });
    await wal.close();

    const reopened = await Wal.open(dir, { fsync: 'always' });
    expect(reopened.recovered.hardState).toEqual({ term: 2, vote: 'n2', commit: 2 });
    expect(plain(reopened.recovered.entries)).toEqual(plain(written));
    expect(reopened.recovered.snapshot).toBeUndefined();
    // Appends continue where the log ended.
    await reopened.wal.append({ entries: [entry(4, 2)] });
    await reopened.wal.close();
    expect(plain((await Wal.open(dir, { fsync: 'always' })).recovered.entries).map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it('overwrites a conflicting suffix: 1..10, then 6..8 in a new term gives 1..5 old + 6..8 new', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always' });
    await wal.append({ entries: range(1, 10, 1) });
    await wal.append({ entries: range(6, 8, 2) });
    expect(wal.stats().lastIndex).toBe(8);
    await wal.close();
    const { recovered } = await Wal.open(dir, { fsync: 'always' });
    expect(plain(recovered.entries)).toEqual(plain([...range(1, 5, 1), ...range(6, 8, 2)]));
  });

  it('rotates segments at segmentBytes and recovers across them', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always', segmentBytes: 256 });
    for (let i = 1; i <= 60; i++) await wal.append({ entries: [entry(i, 1 + Math.floor(i / 20))], hardState: { term: 1 + Math.floor(i / 20), vote: 'a', commit: i - 1 } });
    // A truncation across a segment boundary, then more appends.
    await wal.append({ entries: range(25, 30, 9) });
    await wal.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    const firsts = files.map((f) => Number.parseInt(f.slice(4, 20), 16));
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    const { recovered, wal: again } = await Wal.open(dir, { fsync: 'always', segmentBytes: 256 });
    expect(recovered.entries.map((e) => e.index)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(recovered.entries.slice(24).every((e) => e.term === 9)).toBe(true);
    expect(recovered.hardState).toEqual({ term: 4, vote: 'a', commit: 59 });
    expect(again.stats().segments).toBe(files.length);
    await again.close();
  });

  it('rejects gaps, rewrites under the snapshot, decreasing terms and use after close', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always' });
    await wal.append({ entries: range(1, 3, 2) });
    await expect(wal.append({ entries: [entry(5, 2)] })).rejects.toBeInstanceOf(WalUsageError);
    await expect(wal.append({ entries: [entry(4, 1)] })).rejects.toThrow(/below the previous term/);
    await expect(wal.append({ entries: [entry(4, 2), entry(6, 2)] })).rejects.toThrow(/not consecutive/);
    await wal.saveSnapshot({ metadata: { index: 2, term: 2, config: { voters: ['a'], learners: [] } }, data: new Uint8Array() });
    await expect(wal.append({ entries: [entry(2, 3)] })).rejects.toThrow(/covered by the snapshot/);
    expect(wal.stats().lastIndex).toBe(3);
    await wal.close();
    await expect(wal.append({ entries: [entry(4, 2)] })).rejects.toThrow(/closed/);
  });

  it('fails for good after a failed fsync: the append and every later one reject', async () => {
    const dir = await tempDir();
    const fs = recordingFs();
    const { wal } = await Wal.open(dir, { fsync: 'always', fs });
    await wal.append({ entries: [entry(1, 1)] });
    fs.beforeDatasync = () => Promise.reject(new Error('EIO: injected'));
    const failing = wal.append({ entries: [entry(2, 1)] });
    const queued = wal.append({ entries: [entry(3, 1)] });
    await expect(failing).rejects.toBeInstanceOf(WalFailedError);
    await expect(queued).rejects.toBeInstanceOf(WalFailedError);
    fs.beforeDatasync = undefined;
    await expect(wal.append({ entries: [entry(4, 1)] })).rejects.toBeInstanceOf(WalFailedError);
    await wal.close();
  });
});
