/**
 * Safety invariants of Raft (Figure 3) checked by the simulation at every step, plus the
 * client-visible ones: acknowledged proposals are applied exactly once, in one order, on every
 * node, and nothing unproposed is ever applied.
 *
 * Each check is incremental (it looks at what changed), so it can run at every step.
 */
import type { Entry, HardState, NodeId } from '../../src/raft/types.js';
import type { LogView } from '../../src/raft/raw-node.js';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

const decoder = new TextDecoder();

export function entryKey(e: Entry): string {
  return `${e.type}:${decoder.decode(e.data)}`;
}

interface Applied {
  readonly term: number;
  readonly key: string;
}

export class Checker {
  /** term -> the one node that led it. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** `${index}:${term}` -> entry content and the term of the entry before it. */
  private readonly seenEntries = new Map<string, { key: string; prevTerm: number }>();
  /** index -> the entry applied there (by whoever applied it first). */
  readonly appliedAt = new Map<number, Applied>();
  maxAppliedIndex = 0;
  /** `${node}:${term}` -> the vote a node persisted in that term. */
  private readonly votes = new Map<string, NodeId>();

  fail(message: string): never {
    throw new InvariantViolation(message);
  }

  /** Election safety: at most one leader per term. */
  leader(id: NodeId, term: number): boolean {
    const known = this.leaderOfTerm.get(term);
    if (known !== undefined && known !== id) this.fail(`two leaders in term ${term}: ${known} and ${id}`);
    this.leaderOfTerm.set(term, id);
    return known === undefined;
  }

  /**
   * Log matching: (index, term) names one entry, and that entry always follows the same term
   * at index-1. By induction, two logs agreeing on (index, term) agree on the whole prefix.
   */
  entries(where: string, prevTerm: number, ents: readonly Entry[]): void {
    let prev = prevTerm;
    for (const e of ents) {
      const k = `${e.index}:${e.term}`;
      const content = entryKey(e);
      const seen = this.seenEntries.get(k);
      if (!seen) this.seenEntries.set(k, { key: content, prevTerm: prev });
      else if (seen.key !== content || seen.prevTerm !== prev) {
        this.fail(
          `log matching broken at ${where}: entry ${k} is ${content} after term ${prev}, elsewhere ${seen.key} after term ${seen.prevTerm}`,
        );
      }
      prev = e.term;
    }
  }

  /** State machine safety: every node applies the same entry at a given index. */
  apply(node: NodeId, e: Entry): void {
    const key = entryKey(e);
    const known = this.appliedAt.get(e.index);
    if (!known) {
      this.appliedAt.set(e.index, { term: e.term, key });
      this.maxAppliedIndex = Math.max(this.maxAppliedIndex, e.index);
    } else if (known.term !== e.term || known.key !== key) {
      this.fail(`${node} applied ${e.index}:${e.term} ${key}, others applied ${e.index}:${known.term} ${known.key}`);
    }
  }

  /** Leader completeness: a new leader holds every entry anyone has applied (= committed). */
  leaderCompleteness(id: NodeId, term: number, log: LogView): void {
    for (let i = log.firstIndex; i <= this.maxAppliedIndex; i++) {
      const a = this.appliedAt.get(i);
      if (!a) continue;
      const t = log.term(i);
      if (t !== a.term) this.fail(`leader ${id} of term ${term} lacks committed entry ${i}:${a.term} (has term ${t})`);
    }
  }

  /** A node never votes for two candidates in one term, across crashes (what it persisted). */
  hardState(id: NodeId, hs: HardState): void {
    if (hs.vote === '') return;
    const k = `${id}:${hs.term}`;
    const prev = this.votes.get(k);
    if (prev !== undefined && prev !== hs.vote) this.fail(`${id} voted for ${prev} and ${hs.vote} in term ${hs.term}`);
    this.votes.set(k, hs.vote);
  }
}
