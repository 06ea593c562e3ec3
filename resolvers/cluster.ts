/** Root fields of the cluster view. */
import { builder } from '../schema/builder.js';
import { ClusterEventRef, ClusterRef, type ClusterEventPayload } from '../schema/cluster.js';
import type { ClusterEvent } from '../src/services/cluster-service.js';
import { eventStream } from '../src/util/event-stream.js';

/** Cluster events are a lossy stream: a slow subscriber keeps the newest this many. */
const CLUSTER_EVENT_BUFFER = 256;

builder.queryField('cluster', (t) =>
  t.field({
    type: ClusterRef,
    authScopes: { read: true },
    description: "The cluster as the answering node sees it",
    resolve: (_root, _args, ctx) => ({ nodes: ctx.services.cluster.members() }),
  }),
);

builder.subscriptionField('clusterEvents', (t) =>
  t.field({
    type: ClusterEventRef,
    authScopes: { read: true },
    description: 'Peer up/down events as the answering node observes them',
    subscribe: (_root, _args, ctx) =>
      eventStream<ClusterEvent>((push) => ctx.services.cluster.onEvent(push), {
        capacity: CLUSTER_EVENT_BUFFER,
        policy: 'drop-oldest',
      }),
    resolve: (delivered: { event: ClusterEvent; droppedBefore: number }): ClusterEventPayload => ({
      ...delivered.event,
      droppedBefore: delivered.droppedBefore,
    }),
  }),
);
