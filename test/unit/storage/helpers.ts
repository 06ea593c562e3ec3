/**
 * Shared helpers for the storage tests: temp directories (removed after each test), entry
 * factories and a recording file-system layer to observe syncs and inject faults.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { nodeStorageFs, type StorageFile, type StorageFs } from '../../../src/storage/fs-sync.js';
import type { EntryType, LogEntry } from '../../../src/storage/types.js';
import type { WalLogger } from '../../../src/storage/logger.js';

const dirs: string[] = [];

/** A fresh directory under the OS temp dir, removed after the current test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'distsync-wal-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export function entry(index: number, term: number, options: { data?: string; type?: EntryType } = {}): LogEntry {
  return { index, term, type: options.type ?? 'normal', data: new TextEncoder().encode(options.data ?? `e${index}t${term}`) };
}

export function range(from: number, to: number, term: number): LogEntry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
}

/** Entries as comparable plain values. */
export function plain(entries: readonly LogEntry[]): { index: number; term: number; type: string; data: string }[] {
  return entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^wal-[0-9a-f]{16}\.log$/.test(n)).sort();
}

export async function snapshotFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
}

export interface RecordingFs extends StorageFs {
  readonly ops: string[];
  /** Every directory passed to syncDir, in order. */
  readonly syncedDirs: string[];
  /** Called before each file datasync; throw to inject a failure, await to slow it. */
  beforeDatasync?: () => Promise<void>;
}

/** Wraps the real file system, recording each mutating call as a short string. */
export function recordingFs(): RecordingFs {
  const base = nodeStorageFs;
  const ops: string[] = [];
  const syncedDirs: string[] = [];
  const name = (p: string) => p.split('/').pop() ?? p;
  const fs: RecordingFs = {
    ...base,
    ops,
    syncedDirs,
    async openFile(path, options) {
      ops.push(`open ${name(path)}${options.create ? ' create' : ''}`);
      const file = await base.openFile(path, options);
      const wrapped: StorageFile = {
        write: (data, position) => file.write(data, position),
        datasync: async () => {
          await fs.beforeDatasync?.();
          ops.push(`datasync ${name(path)}`);
          await file.datasync();
        },
        // Recorded as the write and the datasync it stands for.
        writeDurable: async (data, position) => {
          await file.write(data, position);
          await wrapped.datasync();
        },
        truncate: (length) => file.truncate(length),
        close: () => file.close(),
      };
      return wrapped;
    },
    async rename(from, to) {
      ops.push(`rename ${name(from)} ${name(to)}`);
      await base.rename(from, to);
    },
    async unlink(path) {
      ops.push(`unlink ${name(path)}`);
      await base.unlink(path);
    },
    async syncDir(dir) {
      ops.push('syncDir');
      syncedDirs.push(dir);
      await base.syncDir(dir);
    },
  };
  return fs;
}

export interface CapturedLog extends WalLogger {
  readonly warnings: string[];
}

export function captureLogger(): CapturedLog {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (_fields, message) => warnings.push(message) };
}
