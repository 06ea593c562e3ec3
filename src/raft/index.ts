/** Public surface of the Raft core. */
export { RawNode, type LogView, type RawNodeOptions } from './raw-node.js';
export { RaftError, type RaftErrorCode } from './errors.js';
export type { ProposalPosition, RestoreState } from './raft.js';
export { decodeConfChange, encodeConfChange, type BootstrapConf, type ConfEntry } from './conf-change.js';
export * from './types.js';
