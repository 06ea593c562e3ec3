/**
 * The leader side of the Raft core (etcd's stepLeader and the replication half of raft.go):
 * replication with batching, pipelining (inflight windows) and fast back-off; commit by
 * counting current-term entries only; CheckQuorum; chunked InstallSnapshot streams;
 * ReadIndex; leadership transfer.
 *
 * Functions over the Raft state (raft.ts) rather than methods, to keep each file to one
 * concern. Guarantees: the leader never commits an entry of an earlier term by counting
 * replicas (Figure 8), never counts its own entries before they are durable (thesis §10.2.1),
 * and never tells a follower to commit beyond what it is known to hold.
 */
import { committedIndex, hasQuorum } from './quorum.js';
import type { Progress } from './progress.js';
import type { Raft } from './raft.js';
import { NONE, type Message, type NodeId } from './types.js';

/** Snapshot chunks in flight per follower: a few, so heartbeats are never queued far behind. */
const SNAPSHOT_WINDOW_CHUNKS = 8;

export function tickLeader(r: Raft): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.electionTimeout) {
    r.electionElapsed = 0;
    // CheckQuorum (thesis §6.2): a leader that has not heard from a majority steps down.
    if (r.checkQuorum && !quorumActive(r)) {
      r.becomeFollower(r.term, NONE);
      return;
    }
    for (const [id, pr] of r.prs) if (id !== r.id) pr.recentActive = false;
    // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
    r.leadTransferee = NONE;
  }
  for (const [id, pr] of r.prs) {
    const s = pr.stream;
    if (pr.state === 'snapshot' && s && ++s.idleTicks >= Math.max(2, r.electionTimeout / 2) && pr.recentActive) {
      // No progress: a chunk or an ack was lost, or the follower restarted and an old ack made
      // us skip ahead. Resend from what it said last (only to a follower that still answers).
      s.idleTicks = 0;
      s.sent = s.acked = Math.min(s.acked, s.reported);
      sendSnapshotChunks(r, id, pr);
    }
  }
  if (r.heartbeatElapsed >= r.heartbeatTimeout) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r);
  }
}

export function quorumActive(r: Raft): boolean {
  return hasQuorum(r.conf.voters, (id) => id === r.id || (r.prs.get(id)?.recentActive ?? false));
}

export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.prs.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const ents = r.log.slice(pr.next, r.maxSizePerMsg);
  if (prevTerm === undefined || ents === undefined) {
    // The follower needs entries we compacted: InstallSnapshot (§7).
    if (!pr.recentActive) return false;
    pr.becomeSnapshot(r.log.snapshot);
    sendSnapshotChunks(r, to, pr);
    return true;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: 'App',
    to,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.log.committed,
  });
  pr.sentEntries(ents.length, ents.at(-1)?.index ?? prevIndex);
  return true;
}

export function sendSnapshotChunks(r: Raft, to: NodeId, pr: Progress): void {
  const s = pr.stream;
  if (!s) return;
  const total = s.snapshot.data.length;
  const chunk = Math.max(1, r.maxSizePerMsg);
  const window = SNAPSHOT_WINDOW_CHUNKS;
  if (total === 0) {
    // An empty snapshot still travels as one (empty) chunk; `sent` = 1 marks it sent.
    if (s.sent === 0) r.send({ type: 'Snap', to, snapshot: s.snapshot.meta, snapOffset: 0, snapTotal: 0 });
    s.sent = 1;
    return;
  }
  while (s.sent < total && s.sent - s.acked < window * chunk) {
    const end = Math.min(total, s.sent + chunk);
    r.send({
      type: 'Snap',
      to,
      snapshot: s.snapshot.meta,
      snapOffset: s.sent,
      snapTotal: total,
      snapData: s.snapshot.data.subarray(s.sent, end),
    });
    s.sent = end;
  }
}

export function bcastHeartbeat(r: Raft): void {
  const ctx = r.readOnly.lastPending();
  for (const [id, pr] of r.prs) {
    if (id === r.id) continue;
    // Never tell a follower to commit beyond what it is known to hold.
    r.send({ type: 'Heartbeat', to: id, commit: Math.min(pr.match, r.log.committed), context: ctx });
  }
}

export function maybeCommit(r: Raft): boolean {
  const mci = committedIndex(r.conf.voters, (id) => r.prs.get(id)?.match ?? 0);
  // Figure 8 / §5.4.2: only an entry of the current term is committed by counting replicas.
  if (mci <= r.log.committed || r.log.term(mci) !== r.term) return false;
  const firstInTerm = r.log.term(r.log.committed) !== r.term;
  r.log.commitTo(mci);
  r.needBcast = true;
  if (firstInTerm) releasePendingReads(r);
  return true;
}

export function stepLeader(r: Raft, m: Message): void {
  if (m.type === 'Prop') {
    if (r.leadTransferee !== NONE || m.entries.length === 0) return;
    r.appendEntries(m.entries.map((e) => ({ type: 'normal' as const, data: e.data })));
    return;
  }
  if (m.type === 'ReadIndex') {
    handleReadIndex(r, m.from === NONE ? r.id : m.from, m.context);
    return;
  }
  if (m.type === 'TransferLeader') {
    handleTransfer(r, m.context);
    return;
  }
  const pr = r.prs.get(m.from);
  if (!pr || m.from === r.id) return;
  if (m.type === 'AppResp' || m.type === 'HeartbeatResp' || m.type === 'SnapResp') {
    pr.recentActive = true;
    if (m.type === 'AppResp') handleAppResp(r, m, pr);
    else if (m.type === 'HeartbeatResp') handleHeartbeatResp(r, m, pr);
    else handleSnapResp(r, m, pr);
  }
}

export function handleAppResp(r: Raft, m: Message, pr: Progress): void {
  if (m.reject) {
    let next = m.rejectHint;
    if (m.logTerm > 0) next = r.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
    if (pr.maybeDecrTo(m.index, next)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, m.from, true);
    }
    return;
  }
  // While a snapshot streams, only the answer to its last chunk matters: the follower then
  // holds at least the snapshot's index (installed, or already had it). Earlier acks are stale.
  if (pr.state === 'snapshot' && m.index < (pr.stream?.snapshot.meta.index ?? 0)) return;
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index)) return;
  if (pr.state === 'probe') pr.becomeReplicate();
  else if (pr.state === 'snapshot') {
    if (pr.match + 1 >= r.log.firstIndex()) pr.becomeReplicate();
    else pr.becomeProbe();
  } else pr.inflights.freeLE(m.index);
  if (maybeCommit(r)) {
    // needBcast carries the new commit index to everyone at the next Ready.
  } else if (wasPaused) {
    sendAppend(r, m.from, true);
  }
  while (sendAppend(r, m.from, false)) {
    // keep the pipeline full
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    r.send({ type: 'TimeoutNow', to: m.from });
  }
}

export function handleHeartbeatResp(r: Raft, m: Message, pr: Progress): void {
  pr.probeSent = false;
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex()) sendAppend(r, m.from, true);
  if (m.context === '') return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks || !hasQuorum(r.conf.voters, (id) => acks.has(id))) return;
  for (const req of r.readOnly.advance(m.context)) answerRead(r, req.from, req.ctx, req.index);
}

export function handleSnapResp(r: Raft, m: Message, pr: Progress): void {
  const s = pr.stream;
  if (pr.state !== 'snapshot' || !s) return;
  s.reported = m.index;
  if (m.reject) {
    // The follower holds only m.index bytes of this stream (it restarted, or it has no room
    // for what we sent ahead): resend from there.
    s.acked = s.sent = m.index;
    s.idleTicks = 0;
  } else if (m.index > s.acked) {
    s.acked = m.index;
    s.sent = Math.max(s.sent, s.acked);
    s.idleTicks = 0;
  }
  sendSnapshotChunks(r, m.from, pr);
}

/** Thesis §6.4: record the commit index, then confirm leadership with a heartbeat round. */
export function handleReadIndex(r: Raft, from: NodeId, ctx: string): void {
  if (r.log.term(r.log.committed) !== r.term) {
    // Our commit index may lag the true one until we commit an entry of our term.
    r.pendingReads.push({ from, ctx });
    return;
  }
  if (r.conf.voters.length === 1 && r.promotable()) {
    answerRead(r, from, ctx, r.log.committed);
    return;
  }
  r.readOnly.add(r.log.committed, ctx, from, r.id);
  bcastHeartbeat(r);
}

export function releasePendingReads(r: Raft): void {
  const reads = r.pendingReads;
  r.pendingReads = [];
  for (const req of reads) handleReadIndex(r, req.from, req.ctx);
}

export function answerRead(r: Raft, from: NodeId, ctx: string, index: number): void {
  if (from === r.id) r.readStates.push({ index, ctx });
  else r.send({ type: 'ReadIndexResp', to: from, index, context: ctx });
}

export function handleTransfer(r: Raft, target: NodeId): void {
  const pr = r.prs.get(target);
  if (target === r.id || !pr || pr.learner) return;
  if (r.leadTransferee === target) return;
  // The transfer must finish within one election timeout (checked in tickLeader).
  r.electionElapsed = 0;
  r.leadTransferee = target;
  if (pr.match === r.log.lastIndex()) r.send({ type: 'TimeoutNow', to: target });
  else sendAppend(r, target, true);
}
