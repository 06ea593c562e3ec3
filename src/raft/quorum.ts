/**
 * Majority math over a set of voters. Learners never appear here: callers pass voters only.
 * Guarantees: committedIndex is the largest index that a majority has matched; voteResult
 * says won as soon as a majority granted and lost as soon as a majority is out of reach.
 */
import type { NodeId } from './types.js';

export type VoteResult = 'pending' | 'won' | 'lost';

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The highest index acknowledged by a majority of `voters`; an empty set commits nothing. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matched = voters.map(matchOf).sort((a, b) => b - a);
  // Sorted descending, the majority-th value is held by at least a majority.
  return matched[majority(voters.length) - 1] ?? 0;
}

export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}

/** True if `active` holds a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  return voters.filter(active).length >= majority(voters.length);
}
