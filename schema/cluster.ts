/** GraphQL types of the cluster view and its events. */
import type { ClusterEvent, MemberView } from '../src/services/cluster-service.js';
import { builder } from './builder.js';

export interface ClusterView {
  readonly nodes: readonly MemberView[];
}

export const ClusterNodeRef = builder.objectRef<MemberView>('ClusterNode').implement({
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
  }),
});

export const ClusterRef = builder.objectRef<ClusterView>('Cluster').implement({
  fields: (t) => ({
    nodes: t.field({
      type: [ClusterNodeRef],
      description: 'Every member, the answering node included, sorted by id',
      resolve: (c) => c.nodes,
    }),
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
