/**
 * Typed refusals of the Raft core. The driver maps them onto the node's error registry
 * (e.g. forward a proposal on NOT_LEADER, answer UNAVAILABLE when no leader is known).
 */
import type { NodeId } from './types.js';

export type RaftErrorCode =
  /** This node is not the leader; `lead` names the leader if one is known. */
  | 'NOT_LEADER'
  /** A leadership transfer is in progress; retry after it completes or aborts. */
  | 'TRANSFER_IN_PROGRESS'
  /** A membership change is still unapplied, or the leader has not committed in its term. */
  | 'CONF_CHANGE_PENDING'
  /** The membership change makes no sense against the current configuration. */
  | 'INVALID_CONF_CHANGE'
  /** compact() with an index outside (snapshot index, applied]. */
  | 'COMPACTED';

export class RaftError extends Error {
  override readonly name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    readonly lead: NodeId = '',
  ) {
    super(message);
  }
}
