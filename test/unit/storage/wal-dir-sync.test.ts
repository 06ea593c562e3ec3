import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal } from '../../../src/storage/index.js';
import { entry, recordingFs, tempDir } from './helpers.js';

/** True when `op` is recorded and a directory sync follows it before `until` (or the end). */
function syncedAfter(ops: readonly string[], op: string): boolean {
  const at = ops.indexOf(op);
  return at >= 0 && ops.slice(at + 1).includes('syncDir');
}

describe('Wal directory fsync', () => {
  it('creates a segment as temp file, fdatasync, rename, then directory fsync', async () => {
    const dir = await tempDir();
    const fs = recordingFs();
    const { wal } = await Wal.open(dir, { fsync: 'always', fs });
    const name = 'wal-0000000000000001.log';
    expect(fs.ops).toEqual([`open ${name}.tmp create`, `datasync ${name}.tmp`, `rename ${name}.tmp ${name}`, 'syncDir']);
    expect(wal.stats().dirSyncs).toBe(1);
    await wal.close();
  });

  it('fsyncs the directory after each rotation', async () => {
    const dir = await tempDir();
    const fs = recordingFs();
    const { wal } = await Wal.open(dir, { fsync: 'always', fs, segmentBytes: 120 });
    for (let i = 1; i <= 20; i++) await wal.append({ entries: [entry(i, 1)] });
    const renames = fs.ops.filter((op) => op.startsWith('rename '));
    expect(renames.length).toBe(wal.stats().segments);
    expect(renames.length).toBeGreaterThan(3);
    for (const rename of renames) {
      const at = fs.ops.indexOf(rename);
      expect(fs.ops[at + 1], rename).toBe('syncDir');
      // The temp file was made durable before it got its real name.
      expect(fs.ops[at - 1]).toMatch(/^datasync wal-.*\.tmp$/);
    }
    expect(wal.stats().dirSyncs).toBe(renames.length);
    await wal.close();
  });

  it('fsyncs the directory after a snapshot rename and after compaction removes segments', async () => {
    const dir = await tempDir();
    const fs = recordingFs();
    const { wal } = await Wal.open(dir, { fsync: 'always', fs, segmentBytes: 120 });
    for (let i = 1; i <= 20; i++) await wal.append({ entries: [entry(i, 1)] });
    fs.ops.length = 0;
    await wal.saveSnapshot({ metadata: { index: 15, term: 1, config: { voters: ['a'], learners: [] } }, data: new Uint8Array(8) });
    const snap = 'snap-000000000000000f-0000000000000001.snap';
    expect(fs.ops.slice(0, 4)).toEqual([`open ${snap}.tmp create`, `datasync ${snap}.tmp`, `rename ${snap}.tmp ${snap}`, 'syncDir']);
    const unlinks = fs.ops.filter((op) => op.startsWith('unlink wal-'));
    expect(unlinks.length).toBeGreaterThan(0);
    expect(syncedAfter(fs.ops, unlinks.at(-1) ?? '')).toBe(true);
    await wal.close();
  });

  it('fsyncs the parents of a data directory it had to create', async () => {
    const root = await tempDir();
    const dir = join(root, 'data', 'meta');
    const fs = recordingFs();
    const { wal } = await Wal.open(dir, { fsync: 'always', fs });
    // root gains "data", data gains "meta", then meta gains the first segment.
    expect(fs.syncedDirs).toEqual([join(root, 'data'), root, dir]);
    await wal.close();
  });
});
