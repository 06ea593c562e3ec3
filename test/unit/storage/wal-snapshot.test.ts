import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeStorageFs } from '../../../src/storage/fs-sync.js';
import { Wal, WalCorruptionError, type Snapshot } from '../../../src/storage/index.js';
import { SnapshotStore } from '../../../src/storage/snapshot-store.js';
import { entry, plain, range, segmentFiles, snapshotFiles, tempDir } from './helpers.js';

function snapshot(index: number, term: number, data = `state@${index}`): Snapshot {
  return { metadata: { index, term, config: { voters: ['a', 'b', 'c'], learners: ['d'] } }, data: new TextEncoder().encode(data) };
}

/** 1..count in term 1, one append each, small segments so there are many. */
async function filledWal(count: number, segmentBytes = 200) {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { fsync: 'always', segmentBytes });
  for (let i = 1; i <= count; i++) await wal.append({ entries: [entry(i, 1)], hardState: { term: 1, vote: 'a', commit: i } });
  return { dir, wal };
}

describe('Wal snapshots and compaction', () => {
  it('removes segments before the snapshot index; recovery returns the snapshot and only later entries', async () => {
    const { dir, wal } = await filledWal(60);
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(6);
    await wal.saveSnapshot(snapshot(40, 1));
    const after = await segmentFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(wal.stats()).toMatchObject({ snapshotIndex: 40, segments: after.length, lastIndex: 60 });
    // Every remaining segment is needed: the oldest starts at or below 41.
    const firsts = after.map((f) => Number.parseInt(f.slice(4, 20), 16));
    expect(firsts[0]).toBeLessThanOrEqual(41);
    expect(firsts[1]).toBeGreaterThan(41);
    await wal.append({ entries: [entry(61, 2)] });
    await wal.close();

    const { recovered, wal: again } = await Wal.open(dir, { fsync: 'always' });
    expect(recovered.snapshot?.metadata).toEqual(snapshot(40, 1).metadata);
    expect(new TextDecoder().decode(recovered.snapshot?.data)).toBe('state@40');
    expect(recovered.entries.map((e) => e.index)).toEqual(range(41, 61, 1).map((e) => e.index));
    expect(recovered.hardState).toEqual({ term: 1, vote: 'a', commit: 60 });
    await again.close();
  });

  it('keeps the newest two snapshot files', async () => {
    const { dir, wal } = await filledWal(30);
    for (const index of [10, 20, 25]) await wal.saveSnapshot(snapshot(index, 1));
    expect((await snapshotFiles(dir)).map((n) => Number.parseInt(n.slice(5, 21), 16))).toEqual([20, 25]);
    await wal.close();
  });

  it('installs a snapshot beyond the last index: the old log is dropped and appends continue after it', async () => {
    const { dir, wal } = await filledWal(10);
    await wal.saveSnapshot(snapshot(100, 5));
    expect(wal.stats().lastIndex).toBe(100);
    await wal.append({ entries: [entry(101, 5), entry(102, 6)] });
    await wal.close();
    const { recovered, wal: again } = await Wal.open(dir, { fsync: 'always' });
    expect(recovered.snapshot?.metadata.index).toBe(100);
    expect(plain(recovered.entries)).toEqual(plain([entry(101, 5), entry(102, 6)]));
    await again.close();
  });

  it('drops the log after a snapshot whose term disagrees with the entry at its index', async () => {
    const { dir, wal } = await filledWal(10);
    await wal.saveSnapshot(snapshot(5, 3));
    expect(wal.stats().lastIndex).toBe(5);
    await wal.close();
    const { recovered, wal: again } = await Wal.open(dir, { fsync: 'always' });
    expect(recovered.entries).toEqual([]);
    expect(again.stats().lastIndex).toBe(5);
    await again.close();
  });

  it('repairs a crash between a snapshot install and its truncate record', async () => {
    const { dir, wal } = await filledWal(10);
    await wal.close();
    // As if the process died right after the snapshot file became durable.
    await new SnapshotStore(nodeStorageFs, dir).write(snapshot(50, 4));
    const first = await Wal.open(dir, { fsync: 'always' });
    expect(first.recovered.entries).toEqual([]);
    expect(first.wal.stats().lastIndex).toBe(50);
    await first.wal.append({ entries: [entry(51, 4)] });
    await first.wal.close();
    const second = await Wal.open(dir, { fsync: 'always' });
    expect(second.recovered.entries.map((e) => e.index)).toEqual([51]);
    await second.wal.close();
  });

  it('falls back to the previous snapshot when the newest is damaged and the WAL bridges the gap', async () => {
    // Large segments: nothing is compacted, so entries after the older snapshot are all still there.
    const { dir, wal } = await filledWal(30, 1 << 20);
    await wal.saveSnapshot(snapshot(10, 1));
    await wal.saveSnapshot(snapshot(20, 1));
    await wal.close();
    const [older, newest] = await snapshotFiles(dir);
    const path = join(dir, newest ?? '');
    const buf = await readFile(path);
    buf[buf.byteLength - 1] = (buf[buf.byteLength - 1] ?? 0) ^ 1;
    await writeFile(path, buf);
    const { recovered, wal: again } = await Wal.open(dir, { fsync: 'always' });
    expect(recovered.snapshot?.metadata.index).toBe(10);
    expect(recovered.entries.map((e) => e.index)).toEqual(range(11, 30, 1).map((e) => e.index));
    // The damaged file is moved aside, not deleted.
    expect(await snapshotFiles(dir)).toEqual([older]);
    await again.close();
  });

  it('refuses to fall back when compaction removed the entries that would bridge the gap', async () => {
    const { dir, wal } = await filledWal(60);
    await wal.saveSnapshot(snapshot(10, 1));
    await wal.saveSnapshot(snapshot(50, 1));
    await wal.close();
    const newest = (await snapshotFiles(dir)).at(-1) ?? '';
    const path = join(dir, newest);
    const buf = await readFile(path);
    buf[30] = (buf[30] ?? 0) ^ 1;
    await writeFile(path, buf);
    const error: unknown = await Wal.open(dir, { fsync: 'always' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect((error as WalCorruptionError).file).toBe(path);
    expect((error as WalCorruptionError).message).toMatch(/newest snapshot is damaged \(checksum mismatch\).*older snapshot at index 10/);
  });
});
