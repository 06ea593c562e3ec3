/**
 * Single-server membership changes (Raft thesis §4.1, as etcd applies them): the new
 * configuration takes effect on each node when the conf-change entry is applied.
 *
 * Guarantees: applyChange never produces a configuration with a node both voter and learner,
 * and refuses changes that make no sense (unknown node, removing the last voter).
 * Assumes: the leader allows at most one unapplied change (raft.ts enforces it).
 */
import { RaftError } from './errors.js';
import type { ConfChange, ConfState, NodeId } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

/**
 * The first entry of a bootstrapped cluster's log (index 1, term 1) carries the initial
 * membership, so a node that joins later with an empty log learns it by replication.
 */
export interface BootstrapConf {
  readonly type: 'bootstrap';
  readonly conf: ConfState;
}

export type ConfEntry = ConfChange | BootstrapConf;

export function encodeBootstrap(conf: ConfState): Uint8Array {
  // Sorted, so every node bootstrapping the same cluster writes the same entry.
  const voters = [...conf.voters].sort();
  const learners = [...conf.learners].sort();
  return encoder.encode(JSON.stringify({ type: 'bootstrap', voters, learners }));
}

const isIds = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Decodes the data of a 'confChange' entry (what the driver reports as membership events). */
export function decodeConfChange(data: Uint8Array): ConfEntry {
  const parsed = JSON.parse(decoder.decode(data)) as { type?: unknown; nodeId?: unknown; voters?: unknown; learners?: unknown };
  const { type, nodeId, voters, learners } = parsed;
  if (type === 'bootstrap' && isIds(voters) && isIds(learners)) return { type, conf: { voters, learners } };
  if ((type !== 'addLearner' && type !== 'promote' && type !== 'remove') || typeof nodeId !== 'string') {
    throw new Error('raft: malformed conf change entry');
  }
  return { type, nodeId };
}

/** Why `cc` cannot apply to `conf`, or undefined if it can. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | undefined {
  const voter = conf.voters.includes(cc.nodeId);
  const learner = conf.learners.includes(cc.nodeId);
  switch (cc.type) {
    case 'addLearner':
      return voter || learner ? `${cc.nodeId} is already a member` : undefined;
    case 'promote':
      return learner ? undefined : `${cc.nodeId} is not a learner`;
    case 'remove':
      if (!voter && !learner) return `${cc.nodeId} is not a member`;
      return voter && conf.voters.length === 1 ? 'cannot remove the last voter' : undefined;
  }
}

/** The configuration after `cc`; an inapplicable change leaves it unchanged. */
export function applyChange(conf: ConfState, cc: ConfEntry): ConfState {
  if (cc.type === 'bootstrap') return { voters: [...cc.conf.voters], learners: [...cc.conf.learners] };
  if (confChangeProblem(conf, cc) !== undefined) return conf;
  const without = (ids: readonly NodeId[]): NodeId[] => ids.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case 'addLearner':
      return { voters: [...conf.voters], learners: [...conf.learners, cc.nodeId] };
    case 'promote':
      return { voters: [...conf.voters, cc.nodeId], learners: without(conf.learners) };
    case 'remove':
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

export function checkConfChange(conf: ConfState, cc: ConfChange): void {
  const problem = confChangeProblem(conf, cc);
  if (problem !== undefined) throw new RaftError('INVALID_CONF_CHANGE', problem);
}
