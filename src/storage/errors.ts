/**
 * Errors the storage layer throws. A `WalCorruptionError` means the data directory holds
 * something recovery must not guess about: the node stops and an operator decides. The message
 * always names the file, the byte offset and what to do, so the log line alone is actionable.
 * These are internal (startup) errors, not user-facing API errors, so they are not part of the
 * GraphQL error registry in `src/errors.ts`.
 */

export interface WalCorruptionDetails {
  /** The file that holds the bad data (absolute or as given to `Wal.open`). */
  readonly file: string;
  /** Byte offset of the first bad byte or record in `file`. */
  readonly offset: number;
  /** What is wrong, e.g. "checksum mismatch". */
  readonly reason: string;
}

const ADVICE =
  'The WAL will not drop data it cannot prove is an unacknowledged torn write. ' +
  'Restore this node from a backup, or remove its data directory and let it rejoin ' +
  'from the cluster as a new member (it must not keep its old identity).';

export class WalCorruptionError extends Error {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;

  constructor(details: WalCorruptionDetails) {
    super(`WAL corruption in ${details.file} at byte offset ${details.offset}: ${details.reason}. ${ADVICE}`);
    this.name = 'WalCorruptionError';
    this.file = details.file;
    this.offset = details.offset;
    this.reason = details.reason;
  }
}

/** The WAL refused a call (bad argument or a closed/failed log); nothing was written. */
export class WalUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalUsageError';
  }
}

/** A write or fsync failed; the WAL refuses further writes (the page cache can no longer be trusted). */
export class WalFailedError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'WalFailedError';
  }
}
