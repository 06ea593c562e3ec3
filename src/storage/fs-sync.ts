/**
 * The thin file-system layer the WAL and snapshot store use, so tests can count directory
 * fsyncs or inject failures without touching the real `fs` module.
 *
 * Guarantees: every call goes through `node:fs/promises` (libuv threadpool), so fsync never
 * blocks the event loop; `write` writes the whole buffer (looping over short writes).
 * Assumes Linux semantics: a directory opened read-only can be fsynced, and that fsync makes
 * the creation, rename or removal of its entries durable.
 */
import { Buffer } from 'node:buffer';
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';

/** One open file, written at explicit positions (no O_APPEND, so a truncated tail is reused). */
export interface StorageFile {
  write(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the data and the size that reaching it needs, not timestamps. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StorageFs {
  /** Opens for reading and writing; `create` makes (or empties) the file first. */
  openFile(path: string, options: { readonly create: boolean }): Promise<StorageFile>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(dir: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates the directory and missing parents; returns the first directory created, if any. */
  mkdirp(dir: string): Promise<string | undefined>;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  syncDir(dir: string): Promise<void>;
}

class NodeFile implements StorageFile {
  constructor(private readonly handle: FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done, position + done);
      // A regular file only writes short on ENOSPC-like conditions, which then throw on retry.
      done += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export const nodeStorageFs: StorageFs = {
  async openFile(path, options) {
    return new NodeFile(await open(path, options.create ? 'w+' : 'r+'));
  },
  async readFile(path) {
    return readFile(path);
  },
  readdir(dir) {
    return readdir(dir);
  },
  rename(from, to) {
    return rename(from, to);
  },
  unlink(path) {
    return unlink(path);
  },
  mkdirp(dir) {
    return mkdir(dir, { recursive: true });
  },
  async syncDir(dir) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** A Buffer view of the same memory (no copy: segments can be 64 MiB). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface IoCounters {
  fsyncs: number;
  dirSyncs: number;
  bytesWritten: number;
}

/** Wraps `base` so every file write, file datasync and directory sync is counted in `counters`. */
export function countingFs(base: StorageFs, counters: IoCounters): StorageFs {
  const wrapFile = (file: StorageFile): StorageFile => ({
    async write(data, position) {
      await file.write(data, position);
      counters.bytesWritten += data.byteLength;
    },
    async datasync() {
      await file.datasync();
      counters.fsyncs++;
    },
    truncate: (length) => file.truncate(length),
    close: () => file.close(),
  });
  return {
    ...base,
    async openFile(path, options) {
      return wrapFile(await base.openFile(path, options));
    },
    async syncDir(dir) {
      await base.syncDir(dir);
      counters.dirSyncs++;
    },
  };
}
