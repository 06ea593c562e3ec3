/**
 * Builds the cluster view the API shows: each member's reachability from the failure
 * detector, joined with the meta group's Raft status as this node knows it.
 */
import type { Role, Status } from '../raft/types.js';
import type { MemberView } from './cluster-service.js';

export type RaftRoleName = 'LEADER' | 'FOLLOWER' | 'CANDIDATE' | 'PRE_CANDIDATE' | 'LEARNER';

export interface ClusterMemberView extends MemberView {
  readonly role: RaftRoleName;
  readonly matchIndex: number | undefined;
}

export interface ClusterStatusView {
  readonly nodes: readonly ClusterMemberView[];
  readonly leader: string | undefined;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

const ROLE: Record<Role, RaftRoleName> = {
  leader: 'LEADER',
  follower: 'FOLLOWER',
  candidate: 'CANDIDATE',
  preCandidate: 'PRE_CANDIDATE',
};

export function roleName(role: Role, learner: boolean): RaftRoleName {
  return learner && role === 'follower' ? 'LEARNER' : ROLE[role];
}

export function clusterView(members: readonly MemberView[], status: Status, appliedIndex: number): ClusterStatusView {
  const learners = new Set(status.config.learners);
  const nodes = members.map((m): ClusterMemberView => {
    const learner = learners.has(m.id);
    let role: RaftRoleName;
    if (m.self) role = roleName(status.role, learner);
    else if (m.id === status.lead) role = 'LEADER';
    else role = learner ? 'LEARNER' : 'FOLLOWER';
    const progress = status.progress[m.id];
    return { ...m, role, matchIndex: status.role === 'leader' ? (m.self ? status.lastIndex : progress?.match) : undefined };
  });
  return {
    nodes,
    leader: status.lead || undefined,
    term: status.term,
    commitIndex: status.commit,
    appliedIndex,
  };
}
