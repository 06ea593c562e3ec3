/**
 * The thin file-system layer the WAL and snapshot store use, so tests can count directory
 * fsyncs or inject failures without touching the real `fs` module.
 *
 * Guarantees: every call runs on the libuv threadpool, so fsync never blocks the event loop;
 * `write` writes the whole buffer (looping over short writes). A file opened with `dsync`
 * (O_DSYNC) makes each write durable before it returns, so `writeDurable` is one trip to the
 * threadpool (one pwrite) instead of two (write, then fdatasync).
 * Assumes Linux semantics: a directory opened read-only can be fsynced, and that fsync makes
 * the creation, rename or removal of its entries durable.
 */
import { Buffer } from 'node:buffer';
import { constants, write as writeCallback } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';

/** One open file, written at explicit positions (no O_APPEND, so a truncated tail is reused). */
export interface StorageFile {
  write(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the data and the size that reaching it needs, not timestamps. */
  datasync(): Promise<void>;
  /** Writes the whole buffer and makes it durable: what write + datasync guarantee. */
  writeDurable(data: Uint8Array, position: number): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StorageFs {
  /**
   * Opens for reading and writing; `create` makes (or empties) the file first; `dsync` opens
   * it with O_DSYNC (every write durable on return: for files written through writeDurable).
   */
  openFile(path: string, options: { readonly create: boolean; readonly dsync?: boolean }): Promise<StorageFile>;
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
  constructor(
    private readonly handle: FileHandle,
    private readonly dsync: boolean,
  ) {}

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

  async writeDurable(data: Uint8Array, position: number): Promise<void> {
    if (!this.dsync) {
      await this.write(data, position);
      await this.datasync();
      return;
    }
    // The callback API on the handle's descriptor: the hot path of the WAL, without the
    // promise API's per-call bookkeeping. O_DSYNC makes each pwrite durable on return.
    let done = 0;
    while (done < data.byteLength) {
      done += await pwrite(this.handle.fd, data, done, data.byteLength - done, position + done);
    }
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function pwrite(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCallback(fd, data, offset, length, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

export const nodeStorageFs: StorageFs = {
  async openFile(path, options) {
    const flags = constants.O_RDWR | (options.create ? constants.O_CREAT | constants.O_TRUNC : 0) | (options.dsync ? constants.O_DSYNC : 0);
    return new NodeFile(await open(path, flags, 0o666), options.dsync === true);
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
    async writeDurable(data, position) {
      await file.writeDurable(data, position);
      counters.bytesWritten += data.byteLength;
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
