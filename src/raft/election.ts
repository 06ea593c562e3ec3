/**
 * Elections (Raft §5.2, §5.4.1; thesis §9.6 PreVote; thesis §3.10 transfer campaigns): who
 * may campaign, how votes are requested, granted and counted.
 *
 * Guarantees: a node grants at most one vote per term (the vote is recorded before the
 * response is queued, and the Ready contract persists it before the response is sent); it
 * grants only to a candidate whose log is at least as up to date as its own; a PreVote
 * changes no term and no vote; a node with an unapplied committed conf change does not
 * campaign (it may be counting the wrong voters).
 */
import type { Raft } from './raft.js';
import { voteResult } from './quorum.js';
import { NONE, type Message, type MessageType, type NodeId } from './types.js';

export type CampaignKind = 'pre' | 'election' | 'transfer';
/** Context of a Vote sent on TimeoutNow: receivers skip their leader lease for it. */
export const TRANSFER_CONTEXT = 'transfer';

export function hup(r: Raft, kind: CampaignKind): void {
  if (r.role === 'leader' || !r.promotable()) return;
  // A node that has not applied a committed conf change may be counting the wrong voters.
  for (let i = r.log.applied + 1; i <= r.log.committed; i++) {
    if (r.log.entry(i)?.type === 'confChange') return;
  }
  campaign(r, kind);
}

export function campaign(r: Raft, kind: CampaignKind): void {
  let term: number;
  let type: MessageType;
  if (kind === 'pre') {
    r.becomePreCandidate();
    term = r.term + 1;
    type = 'PreVote';
  } else {
    r.becomeCandidate();
    term = r.term;
    type = 'Vote';
  }
  if (poll(r, r.id, true) === 'won') {
    if (kind === 'pre') campaign(r, 'election');
    else r.becomeLeader();
    return;
  }
  for (const id of r.conf.voters) {
    if (id === r.id) continue;
    r.send({
      type,
      to: id,
      term,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
      context: kind === 'transfer' ? TRANSFER_CONTEXT : '',
    });
  }
}

export function poll(r: Raft, id: NodeId, granted: boolean): 'pending' | 'won' | 'lost' {
  if (!r.votes.has(id)) r.votes.set(id, granted);
  return voteResult(r.conf.voters, r.votes);
}

export function handleVoteRequest(r: Raft, m: Message): void {
  const respType = m.type === 'Vote' ? 'VoteResp' : 'PreVoteResp';
  const canVote =
    r.vote === m.from ||
    (r.vote === NONE && r.lead === NONE) ||
    (m.type === 'PreVote' && m.term > r.term);
  // §5.4.1: grant only to a candidate whose log is at least as up to date as ours.
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    // Respond with the candidate's term: for PreVote that is a future term we do not adopt.
    r.send({ type: respType, to: m.from, term: m.term });
    if (m.type === 'Vote') {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type: respType, to: m.from, reject: true });
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  const myResp: MessageType = r.role === 'preCandidate' ? 'PreVoteResp' : 'VoteResp';
  if (m.type === 'App' || m.type === 'Heartbeat' || m.type === 'Snap') {
    // A leader exists for our term (§5.2): fall back to follower and handle it as one.
    r.becomeFollower(m.term, m.from);
    r.step(m); // now as a follower
    return;
  }
  if (m.type !== myResp) return;
  const result = poll(r, m.from, !m.reject);
  if (result === 'won') {
    if (r.role === 'preCandidate') campaign(r, 'election');
    else r.becomeLeader();
  } else if (result === 'lost') {
    r.becomeFollower(r.term, NONE);
  }
}
