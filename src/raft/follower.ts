/**
 * The follower side (Raft §5.3, §7): accepting entries, commit indexes and snapshots from
 * the leader, forwarding requests to it, answering with fast back-off hints.
 *
 * Guarantees: a follower never truncates a committed entry; it commits only what the
 * leader's message verified (min(leader commit, last new index)); acknowledgements are queued
 * as ordinary messages, so they leave only after the Ready that made them durable.
 */
import type { Raft } from './raft.js';
import { NONE, type Message, type Snapshot } from './types.js';
import { hup } from './election.js';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'Prop':
    case 'ReadIndex':
    case 'TransferLeader':
      if (r.lead !== NONE) r.send({ ...m, to: r.lead });
      return;
    case 'App':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppend(r, m);
      return;
    case 'Heartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case 'Snap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapChunk(r, m);
      return;
    case 'TimeoutNow':
      // Thesis §3.10: campaign at once, skipping PreVote and the leader lease.
      hup(r, 'transfer');
      return;
    case 'ReadIndexResp':
      // Once per request: a duplicated answer must not serve the read twice.
      if (r.forwardedReads.delete(m.context)) r.readStates.push({ index: m.index, ctx: m.context });
      return;
    case 'Hup':
    case 'PreVote':
    case 'PreVoteResp':
    case 'Vote':
    case 'VoteResp':
    case 'AppResp':
    case 'HeartbeatResp':
    case 'SnapResp':
      return; // not for a follower (stale responses, or handled in step())
  }
}

export function handleAppend(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    r.send({ type: 'AppResp', to: m.from, index: r.log.committed });
    return;
  }
  const last = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (last !== undefined) {
    r.send({ type: 'AppResp', to: m.from, index: last });
    return;
  }
  // Fast back-off (§5.3, etcd's findConflictByTerm): suggest the last index whose term is
  // <= the leader's term at m.index, so a whole divergent term is skipped per round trip.
  const [hintIndex, hintTerm] = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({ type: 'AppResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm });
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  r.send({ type: 'HeartbeatResp', to: m.from, context: m.context });
}

export function handleSnapChunk(r: Raft, m: Message): void {
  const out = r.assembler.accept(m);
  if (out.kind === 'ack') {
    r.send({ type: 'SnapResp', to: m.from, index: out.received, reject: out.reject });
    return;
  }
  const snap = out.snapshot;
  if (restoreSnapshot(r, snap)) {
    r.send({ type: 'AppResp', to: m.from, index: r.log.lastIndex() });
  } else {
    r.send({ type: 'AppResp', to: m.from, index: r.log.committed });
  }
}

export function restoreSnapshot(r: Raft, snap: Snapshot): boolean {
  const { index, term } = snap.meta;
  if (index <= r.log.committed) return false;
  if (r.log.matchTerm(index, term)) {
    // We already hold the snapshot's last entry: by log matching, everything before it too.
    r.log.commitTo(index);
    return false;
  }
  r.log.installSnapshot(snap);
  r.conf = snap.meta.conf;
  r.confIndex = index;
  r.rebuildProgress();
  return true;
}
