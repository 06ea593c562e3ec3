import { cp, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, WalCorruptionError } from '../../../src/storage/index.js';
import { captureLogger, entry, plain, range, segmentFiles, tempDir } from './helpers.js';

/**
 * A one-segment WAL with entries 1..5 appended one by one; returns where each append starts.
 * Written without preallocation, so the file's size is where the next append starts.
 */
async function fiveAppends(): Promise<{ dir: string; file: string; starts: number[]; size: number }> {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { fsync: 'always', preallocateBytes: 0 });
  const [name] = await segmentFiles(dir);
  const file = join(dir, name ?? '');
  const starts: number[] = [];
  for (let i = 1; i <= 5; i++) {
    starts.push((await stat(file)).size);
    await wal.append({ entries: [entry(i, 1, { data: `payload-${i}` })], hardState: { term: 1, vote: 'a', commit: i - 1 } });
  }
  await wal.close();
  return { dir, file, starts, size: (await stat(file)).size };
}

async function flipByte(file: string, offset: number): Promise<void> {
  const buf = await readFile(file);
  buf[offset] = (buf[offset] ?? 0) ^ 0xff;
  await writeFile(file, buf);
}

async function copyDir(from: string): Promise<string> {
  const to = await tempDir();
  await cp(from, to, { recursive: true });
  return to;
}

describe('Wal recovery: torn tail', () => {
  it('recovers from the last append cut at every byte offset, and appends work after it', async () => {
    const base = await fiveAppends();
    const lastStart = base.starts[4] ?? 0;
    // The last append wrote an entry record (9-byte frame + 17 + 'payload-5') then a hard state record.
    const entryEnd = lastStart + 9 + 17 + 'payload-5'.length;
    expect(base.size).toBeGreaterThan(entryEnd);
    for (let cut = lastStart; cut < base.size; cut++) {
      const dir = await copyDir(base.dir);
      const file = join(dir, base.file.split('/').pop() ?? '');
      await truncate(file, cut);
      const logger = captureLogger();
      const { wal, recovered } = await Wal.open(dir, { fsync: 'always', logger });
      // Records are validated one by one: a complete entry record survives a torn hard state after it.
      const expected = cut >= entryEnd ? [1, 2, 3, 4, 5] : [1, 2, 3, 4];
      expect(recovered.entries.map((e) => e.index), `cut at ${cut}`).toEqual(expected);
      expect(recovered.hardState).toEqual({ term: 1, vote: 'a', commit: 3 });
      const goodEnd = cut >= entryEnd ? entryEnd : lastStart;
      if (cut > goodEnd) expect(logger.warnings.join()).toMatch(/torn tail/);
      // The file was truncated back to the last good record.
      expect((await stat(file)).size).toBe(goodEnd);
      const next = expected.length + 1;
      await wal.append({ entries: [entry(next, 2, { data: 'again' })] });
      await wal.close();
      const again = await Wal.open(dir, { fsync: 'always' });
      expect(plain(again.recovered.entries).map((e) => `${e.index}/${e.term}`)).toEqual([...expected.map((i) => `${i}/1`), `${next}/2`]);
      await again.wal.close();
    }
  });

  it('treats a flipped byte anywhere in the last record as torn', async () => {
    const base = await fiveAppends();
    // The last append wrote an entry record then a hard state record; flip each byte of the last record.
    const lastRecordStart = base.size - (9 + 16 + 1);
    for (let offset = lastRecordStart; offset < base.size; offset++) {
      const dir = await copyDir(base.dir);
      const file = join(dir, base.file.split('/').pop() ?? '');
      await flipByte(file, offset);
      const { wal, recovered } = await Wal.open(dir, { fsync: 'always' });
      expect(recovered.entries.map((e) => e.index), `flip at ${offset}`).toEqual([1, 2, 3, 4, 5]);
      expect(recovered.hardState.commit).toBe(3);
      await wal.close();
    }
  });

  it('removes a leftover temporary file from an interrupted segment creation', async () => {
    const base = await fiveAppends();
    await writeFile(join(base.dir, 'wal-0000000000000006.log.tmp'), Buffer.from([1, 2, 3]));
    const { wal, recovered } = await Wal.open(base.dir, { fsync: 'always' });
    expect(recovered.entries).toHaveLength(5);
    expect(await segmentFiles(base.dir)).toHaveLength(1);
    await wal.close();
  });
});

describe('Wal recovery: corruption is reported, never dropped', () => {
  it('throws WalCorruptionError naming file and offset for a flipped byte in any middle record', async () => {
    const base = await fiveAppends();
    // Every byte of the segment header and of appends 1..4 (each followed by valid records).
    for (let offset = 0; offset < (base.starts[4] ?? 0); offset++) {
      const dir = await copyDir(base.dir);
      const file = join(dir, base.file.split('/').pop() ?? '');
      await flipByte(file, offset);
      const error = await Wal.open(dir, { fsync: 'always' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, `flip at ${offset}`).toBeInstanceOf(WalCorruptionError);
      const corruption = error as WalCorruptionError;
      expect(corruption.file).toBe(file);
      expect(corruption.offset).toBeLessThanOrEqual(offset);
      expect(corruption.message).toContain(file);
      expect(corruption.message).toContain(`offset ${corruption.offset}`);
      expect(corruption.message).toMatch(/Restore this node/);
      // Nothing was truncated: the damaged file is left for the operator.
      expect((await stat(file)).size).toBe(base.size);
    }
  });

  it('names the exact record offset when a record payload is damaged', async () => {
    const base = await fiveAppends();
    const recordStart = base.starts[2] ?? 0;
    await flipByte(base.file, recordStart + 20);
    await expect(Wal.open(base.dir, { fsync: 'always' })).rejects.toMatchObject({
      name: 'WalCorruptionError',
      file: base.file,
      offset: recordStart,
    });
  });

  it('rejects a torn tail in a segment that is not the last one', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always', segmentBytes: 150 });
    for (let i = 1; i <= 20; i++) await wal.append({ entries: [entry(i, 1)] });
    await wal.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const first = join(dir, files[0] ?? '');
    await truncate(first, (await stat(first)).size - 3);
    await expect(Wal.open(dir, { fsync: 'always' })).rejects.toThrow(/not the last segment/);
  });

  it('detects a missing segment (a gap in indexes across segments)', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always', segmentBytes: 150 });
    for (let i = 1; i <= 20; i++) await wal.append({ entries: [entry(i, 1)] });
    await wal.close();
    const files = await segmentFiles(dir);
    await unlink(join(dir, files[1] ?? ''));
    await expect(Wal.open(dir, { fsync: 'always' })).rejects.toThrow(/segment starts at index \d+ but the previous segment ends at \d+/);
  });

  it('detects a missing oldest segment when no snapshot covers it', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always', segmentBytes: 150 });
    for (let i = 1; i <= 20; i++) await wal.append({ entries: [entry(i, 1)] });
    await wal.close();
    const files = await segmentFiles(dir);
    await unlink(join(dir, files[0] ?? ''));
    await expect(Wal.open(dir, { fsync: 'always' })).rejects.toThrow(/entries 1\.\.\d+ are missing/);
  });

  it('detects a segment whose header disagrees with its file name', async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always' });
    await wal.append({ entries: range(1, 3, 1) });
    await wal.close();
    const [name] = await segmentFiles(dir);
    await rename(join(dir, name ?? ''), join(dir, 'wal-0000000000000002.log'));
    await expect(Wal.open(dir, { fsync: 'always' })).rejects.toThrow(/does not match the file name/);
  });
});
