/** The pure lock table (see README.md). */
export { LockTable } from './lock-table.js';
export { SNAPSHOT_FORMAT } from './snapshot.js';
export { REQUEST_RETENTION_MS, SESSION_RETENTION_MS } from './state.js';
export type * from './types.js';
