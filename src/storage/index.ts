/** The storage layer's public face: the WAL, its types and errors. */
export { Wal, type AppendRequest, type FsyncMode, type OpenedWal, type WalOptions } from './wal.js';
export { WalCorruptionError, WalFailedError, WalUsageError } from './errors.js';
export { nodeStorageFs, type StorageFile, type StorageFs } from './fs-sync.js';
export type { WalLogger } from './logger.js';
export * from './types.js';
