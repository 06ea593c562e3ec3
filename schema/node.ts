/** GraphQL types describing one node. */
import type { NodeInfo } from '../src/api/context.js';
import { LOG_LEVELS } from '../src/config/schema.js';
import { builder } from './builder.js';

export const NodeInfoRef = builder.objectRef<NodeInfo>('NodeInfo').implement({
  description: 'The node that answered this request.',
  fields: (t) => ({
    id: t.exposeString('id'),
    version: t.exposeString('version', { description: 'distsync version this node runs' }),
    address: t.exposeString('address', { description: 'Advertised host:port of the node' }),
    uptimeMs: t.float({ description: 'Milliseconds since the node started', resolve: (node) => node.uptimeMs() }),
  }),
});

export interface PingResult {
  readonly message: string;
  readonly nodeId: string;
  readonly receivedAt: number;
}

export const PingRef = builder.objectRef<PingResult>('Ping').implement({
  description: 'The answer to a ping: a round trip through the API and its auth.',
  fields: (t) => ({
    message: t.exposeString('message'),
    nodeId: t.exposeString('nodeId'),
    receivedAt: t.exposeFloat('receivedAt', { description: 'Wall-clock time the node received it (epoch ms)' }),
  }),
});


export const LogLevelEnum = builder.enumType('LogLevel', {
  description: "Verbosity of a node's structured logs",
  values: LOG_LEVELS,
});
