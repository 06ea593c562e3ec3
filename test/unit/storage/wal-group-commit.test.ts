import { describe, expect, it } from 'vitest';
import { Wal } from '../../../src/storage/index.js';
import { entry, recordingFs, tempDir } from './helpers.js';

describe('Wal group commit', () => {
  it("covers 100 concurrent appends under 'always' with a handful of fsyncs", async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'always' });
    const before = wal.stats().fsyncs;
    await Promise.all(Array.from({ length: 100 }, (_, i) => wal.append({ entries: [entry(i + 1, 1)] })));
    const used = wal.stats().fsyncs - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(3);
    expect(wal.stats()).toMatchObject({ lastIndex: 100, appends: 100 });
    await wal.close();
    expect((await Wal.open(dir, { fsync: 'always' })).recovered.entries).toHaveLength(100);
  });

  it('writes appends that arrive during an fsync together, under the next single fsync', async () => {
    const dir = await tempDir();
    const fs = recordingFs();
    // No preallocation: its zero-fill writes would add durable writes of their own.
    const { wal } = await Wal.open(dir, { fsync: 'always', fs, preallocateBytes: 0 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    fs.beforeDatasync = () => gate;
    const before = wal.stats().fsyncs;
    const acked: number[] = [];
    const first = wal.append({ entries: [entry(1, 1)] }).then(() => acked.push(1));
    // Arrive one per macrotask while the first fsync is held open.
    const rest: Promise<number>[] = [];
    for (let i = 2; i <= 50; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      rest.push(wal.append({ entries: [entry(i, 1)] }).then(() => acked.push(i)));
    }
    expect(acked).toEqual([]);
    fs.beforeDatasync = undefined;
    release();
    await Promise.all([first, ...rest]);
    expect(wal.stats().fsyncs - before).toBe(2);
    // Acknowledged in append order.
    expect(acked).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await wal.close();
  });

  it("'batch' mode acknowledges only after the window, with one fsync for the appends in it", async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'batch', batchWindowMs: 40, preallocateBytes: 0 });
    const before = wal.stats().fsyncs;
    const start = performance.now();
    const acks: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 1; i <= 10; i++) {
      all.push(wal.append({ entries: [entry(i, 1)] }).then(() => void acks.push(performance.now() - start)));
      // Separate macrotasks, well inside the window.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(all);
    expect(Math.min(...acks)).toBeGreaterThanOrEqual(39);
    expect(wal.stats().fsyncs - before).toBe(1);
    await wal.close();
  });

  it("'batch' mode close flushes appends still waiting for their window", async () => {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { fsync: 'batch', batchWindowMs: 10_000 });
    const pending = wal.append({ entries: [entry(1, 1)] });
    const start = performance.now();
    await wal.close();
    await pending;
    expect(performance.now() - start).toBeLessThan(5_000);
    expect((await Wal.open(dir, { fsync: 'always' })).recovered.entries).toHaveLength(1);
  });
});
