/** Root fields of the cluster view. */
import { builder } from '../schema/builder.js';
import {
  ClusterEventRef,
  ClusterRef,
  LeadershipRef,
  RaftEventRef,
  type ClusterEventPayload,
  type RaftEventPayload,
} from '../schema/cluster.js';
import type { ClusterEvent } from '../src/services/cluster-service.js';
import { clusterView, roleName } from '../src/services/cluster-view.js';
import type { RaftEvent } from '../src/raft/driver/raft-group.js';
import { appError } from '../src/errors.js';
import type { NodeServices } from '../src/api/context.js';
import { NODE_ID, parseHostPort } from '../src/config/schema.js';
import { eventStream } from '../src/util/event-stream.js';

function currentView(services: NodeServices) {
  return {
    id: services.node.clusterId,
    ...clusterView(services.cluster.members(), services.meta.status(), services.meta.appliedIndex()),
  };
}

/** Cluster events are a lossy stream: a slow subscriber keeps the newest this many. */
const CLUSTER_EVENT_BUFFER = 256;

builder.queryField('cluster', (t) =>
  t.field({
    type: ClusterRef,
    authScopes: { read: true },
    description: "The cluster as the answering node sees it",
    resolve: (_root, _args, ctx) => currentView(ctx.services),
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

/** Raft events are informational and lossy like cluster events. */
const RAFT_EVENT_BUFFER = 256;

builder.subscriptionField('raftEvents', (t) =>
  t.field({
    type: RaftEventRef,
    authScopes: { read: true },
    description: 'Leader elections and role changes of the meta group as the answering node observes them',
    subscribe: (_root, _args, ctx) =>
      eventStream<RaftEvent>((push) => ctx.services.meta.onEvent(push), {
        capacity: RAFT_EVENT_BUFFER,
        policy: 'drop-oldest',
      }),
    resolve: (delivered: { event: RaftEvent; droppedBefore: number }): RaftEventPayload => ({
      ...delivered.event,
      role: roleName(delivered.event.role, false),
      droppedBefore: delivered.droppedBefore,
    }),
  }),
);

builder.mutationField('transferLeadership', (t) =>
  t.field({
    type: LeadershipRef,
    authScopes: { admin: true },
    description: 'Hands leadership of the meta group to a voting member; answers once it leads',
    args: { to: t.arg.string({ required: true, description: 'Id of the member to lead' }) },
    resolve: async (_root, { to }, ctx) => {
      if (!to.trim()) throw appError('BAD_USER_INPUT', 'to must name a member');
      const status = await ctx.services.meta.transferLeadership(to);
      return { leader: status.lead, term: status.term };
    },
  }),
);

builder.mutationField('addNode', (t) =>
  t.field({
    type: ClusterRef,
    authScopes: { admin: true },
    description:
      'Adds a member, reachable at host:port and started with --join --cluster-id. It joins as a LEARNER and is promoted to voter once its log has caught up',
    args: {
      id: t.arg.string({ required: true }),
      address: t.arg.string({ required: true, description: 'host:port of the new node' }),
    },
    resolve: async (_root, { id, address }, ctx) => {
      if (!NODE_ID.test(id)) throw appError('BAD_USER_INPUT', 'id must be 1-63 letters, digits, "-" or "_"');
      if (!parseHostPort(address)) throw appError('BAD_USER_INPUT', `address must be host:port, got "${address}"`);
      await ctx.services.meta.addNode(id, address);
      return currentView(ctx.services);
    },
  }),
);

builder.mutationField('removeNode', (t) =>
  t.field({
    type: ClusterRef,
    authScopes: { admin: true },
    description: 'Removes a member from the cluster; its pinned identity is forgotten so it can be added again later',
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      await ctx.services.meta.removeNode(id);
      return currentView(ctx.services);
    },
  }),
);
