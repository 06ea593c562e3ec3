/** GraphQL types of the cluster view and its events. */
import type { ClusterEvent } from '../src/services/cluster-service.js';
import type { ClusterMemberView, ClusterStatusView, RaftRoleName } from '../src/services/cluster-view.js';
import type { RaftEventType } from '../src/raft/driver/raft-group.js';
import { builder } from './builder.js';

type ClusterNodeView = ClusterMemberView;
type ClusterView = ClusterStatusView;

export const RaftRoleEnum = builder.enumType('RaftRole', {
  values: {
    LEADER: { description: 'Leads the meta group' },
    FOLLOWER: { description: 'A voting member following the leader' },
    CANDIDATE: { description: 'Campaigning for leadership (only known for the answering node)' },
    PRE_CANDIDATE: { description: 'Checking whether it could win an election (only known for the answering node)' },
    LEARNER: { description: 'Receives the log but does not vote yet' },
  } as const,
});

export const ClusterNodeRef = builder.objectRef<ClusterNodeView>('ClusterNode').implement({
  description: "A member of the cluster as the answering node sees it.",
  fields: (t) => ({
    id: t.exposeString('id'),
    address: t.exposeString('address'),
    self: t.exposeBoolean('self', { description: 'True for the node that answered' }),
    reachable: t.exposeBoolean('reachable', {
      description: 'Whether the answering node hears heartbeats from this member (its local view)',
    }),
    lastSeenMs: t.float({
      nullable: true,
      description: 'Milliseconds since the answering node last heard from it; null if never',
      resolve: (m) => m.lastSeenMs ?? null,
    }),
    rttMs: t.float({
      nullable: true,
      description: 'Round-trip time of the last answered heartbeat, in ms; null until one is answered',
      resolve: (m) => m.rttMs ?? null,
    }),
    role: t.field({
      type: RaftRoleEnum,
      description: "The member's role in the meta group as the answering node sees it",
      resolve: (m) => m.role,
    }),
    matchIndex: t.field({
      type: 'Int64',
      nullable: true,
      description: 'Highest log index known to be replicated on the member; answered by the leader only (null elsewhere)',
      resolve: (m) => m.matchIndex ?? null,
    }),
  }),
});

export const ClusterRef = builder.objectRef<ClusterView & { readonly id: string }>('Cluster').implement({
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The cluster id; a joining node is started with --join --cluster-id <id>' }),
    nodes: t.field({
      type: [ClusterNodeRef],
      description: 'Every member, the answering node included, sorted by id',
      resolve: (c) => c.nodes,
    }),
    leader: t.string({
      nullable: true,
      description: 'The id of the meta group leader, null while none is known',
      resolve: (c) => c.leader ?? null,
    }),
    term: t.field({ type: 'Int64', description: 'Current Raft term of the answering node', resolve: (c) => c.term }),
    commitIndex: t.field({
      type: 'Int64',
      description: 'Highest log index the answering node knows to be committed',
      resolve: (c) => c.commitIndex,
    }),
    appliedIndex: t.field({
      type: 'Int64',
      description: 'Highest log index applied to the answering node’s state machine',
      resolve: (c) => c.appliedIndex,
    }),
  }),
});

export interface RaftEventPayload {
  readonly type: RaftEventType;
  readonly nodeId?: string;
  readonly group: string;
  readonly leader: string;
  readonly role: RaftRoleName;
  readonly term: number;
  readonly droppedBefore: number;
}

export const RaftEventTypeEnum = builder.enumType('RaftEventType', {
  values: {
    LEADER_ELECTED: { description: 'The answering node learned of a new leader' },
    ROLE_CHANGED: { description: "The answering node's own role changed" },
    NODE_ADDED: { description: 'A member joined the group (as a learner until it catches up)' },
    NODE_PROMOTED: { description: 'A learner caught up and became a voter' },
    NODE_REMOVED: { description: 'A member left the group' },
  } as const,
});

export const RaftEventRef = builder.objectRef<RaftEventPayload>('RaftEvent').implement({
  fields: (t) => ({
    type: t.field({ type: RaftEventTypeEnum, resolve: (e) => e.type }),
    group: t.exposeString('group', { description: 'The Raft group, "meta" for now' }),
    nodeId: t.string({
      nullable: true,
      description: 'The member a NODE_* event is about',
      resolve: (e) => e.nodeId ?? null,
    }),
    leader: t.string({ nullable: true, resolve: (e) => e.leader || null }),
    role: t.field({ type: RaftRoleEnum, description: "The answering node's role after the event", resolve: (e) => e.role }),
    term: t.field({ type: 'Int64', resolve: (e) => e.term }),
    droppedBefore: t.exposeInt('droppedBefore', {
      description: 'Events dropped just before this one because the subscriber fell behind',
    }),
  }),
});

export interface LeadershipView {
  readonly leader: string;
  readonly term: number;
}

export const LeadershipRef = builder.objectRef<LeadershipView>('Leadership').implement({
  fields: (t) => ({
    leader: t.exposeString('leader'),
    term: t.field({ type: 'Int64', resolve: (l) => l.term }),
  }),
});

export const ClusterEventTypeEnum = builder.enumType('ClusterEventType', {
  values: {
    PEER_UP: { description: 'The answering node hears the peer again' },
    PEER_DOWN: { description: 'The answering node has not heard the peer within the failure timeout' },
  } as const,
});

export interface ClusterEventPayload extends ClusterEvent {
  readonly droppedBefore: number;
}

export const ClusterEventRef = builder.objectRef<ClusterEventPayload>('ClusterEvent').implement({
  fields: (t) => ({
    sequence: t.exposeInt('sequence', { description: 'Per-node counter of events, starting at 1' }),
    type: t.field({ type: ClusterEventTypeEnum, resolve: (e) => e.type }),
    nodeId: t.exposeString('nodeId', { description: 'The peer the event is about' }),
    at: t.exposeFloat('at', { description: 'Wall-clock time of the observation (epoch ms)' }),
    droppedBefore: t.exposeInt('droppedBefore', {
      description: 'Events dropped just before this one because the subscriber fell behind (the stream keeps the newest)',
    }),
  }),
});
