/**
 * Preallocation: the current segment is zero-filled ahead of the appends, so a durable append
 * overwrites allocated blocks. Recovery reads a zero tail as the clean end of a segment (any
 * segment), a torn append into the zeros is still a torn tail, and a segment that is closed or
 * rotated away ends at its last record.
 */
import { appendFile, cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal } from '../../../src/storage/index.js';
import { captureLogger, entry, plain, segmentFiles, tempDir } from './helpers.js';

const MIB = 1024 * 1024;

/** A WAL with entries 1..n, each append ending with a hard state record (its last byte is not zero). */
async function openWithEntries(n: number, options: { segmentBytes?: number } = {}): Promise<{ dir: string; wal: Wal }> {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { fsync: 'always', ...options });
  for (let i = 1; i <= n; i++) {
    await wal.append({ entries: [entry(i, 1, { data: `payload-${i}` })], hardState: { term: 1, vote: 'a', commit: i - 1 } });
  }
  return { dir, wal };
}

/** The directory as a crash would leave it: copied while the WAL is open (every append resolved is durable). */
async function crashCopy(dir: string): Promise<string> {
  const to = await tempDir();
  await cp(dir, to, { recursive: true });
  return to;
}

function recordsEnd(buf: Buffer): number {
  let end = buf.byteLength;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

describe('Wal preallocation', () => {
  it('zero-fills ahead of the appends; after a crash the zero tail is the clean end, and appends go on', async () => {
    const { dir, wal } = await openWithEntries(5);
    const [name] = await segmentFiles(dir);
    expect((await stat(join(dir, name!))).size).toBeGreaterThanOrEqual(MIB);
    const crashed = await crashCopy(dir);
    await wal.close();

    const logger = captureLogger();
    const reopened = await Wal.open(crashed, { fsync: 'always', logger });
    expect(reopened.recovered.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(logger.warnings).toEqual([]);
    await reopened.wal.append({ entries: [entry(6, 2, { data: 'again' })] });
    await reopened.wal.close();
    // Closed cleanly: the segment ends at its last record.
    const file = join(crashed, name!);
    const buf = await readFile(file);
    expect(buf.byteLength).toBeLessThan(4096);
    expect(recordsEnd(buf)).toBe(buf.byteLength);
    const again = await Wal.open(crashed, { fsync: 'always' });
    expect(plain(again.recovered.entries).map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/1', '3/1', '4/1', '5/1', '6/2']);
    await again.wal.close();
  });

  it('treats an append torn inside the zero-filled space as a torn tail', async () => {
    const { dir, wal } = await openWithEntries(3);
    const crashed = await crashCopy(dir);
    await wal.close();
    const [name] = await segmentFiles(crashed);
    const file = join(crashed, name!);
    const buf = await readFile(file);
    const end = recordsEnd(buf);
    expect(buf.byteLength - end).toBeGreaterThan(MIB / 2);
    // The first bytes of a fourth append landed, the rest of it did not.
    buf.set([40, 0, 0, 0, 0x12, 0x34], end);
    await writeFile(file, buf);
    const logger = captureLogger();
    const reopened = await Wal.open(crashed, { fsync: 'always', logger });
    expect(reopened.recovered.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(logger.warnings.join()).toMatch(/torn tail/);
    expect((await stat(file)).size).toBe(end);
    await reopened.wal.close();
  });

  it('ends rotated segments at their last record, and reads zeros after it as the end in any segment', async () => {
    const { dir, wal } = await openWithEntries(12, { segmentBytes: 300 });
    await wal.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) {
      const buf = await readFile(join(dir, f));
      expect(recordsEnd(buf), f).toBe(buf.byteLength);
    }
    // As if the process died between a rotation and the trim of the previous segment.
    await appendFile(join(dir, files[0]!), Buffer.alloc(1000));
    const reopened = await Wal.open(dir, { fsync: 'always' });
    expect(reopened.recovered.entries.map((e) => e.index)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await reopened.wal.close();
  });

  it('refuses a negative preallocation', async () => {
    await expect(Wal.open(await tempDir(), { fsync: 'always', preallocateBytes: -1 })).rejects.toThrow(/preallocateBytes must be >= 0/);
  });
});
