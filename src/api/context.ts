/**
 * The GraphQL context: who is calling and the node's services. Resolvers reach the
 * engines only through `services`, so the same resolvers run over HTTP and WebSocket.
 */
import type { ClusterService } from '../services/cluster-service.js';
import type { MetaService } from '../services/meta-service.js';
import type { LockModule } from '../lock/meta-module.js';
import type { LockService } from '../services/lock-service.js';
import type { LockEventLog } from '../services/lock-event-log.js';
import type { SessionRenewer } from '../services/session-renewer.js';
import type { Principal } from './auth.js';
import type { ConnectionLiveness } from './graphql-ws-binding.js';

export interface NodeInfo {
  readonly id: string;
  readonly version: string;
  /** The advertised host:port of this node. */
  readonly address: string;
  /** The cluster this node belongs to (16 hex digits). */
  readonly clusterId: string;
  uptimeMs(): number;
  /** The node's current log level (pino level name). */
  logLevel(): string;
  setLogLevel(level: string): void;
}

export interface NodeServices {
  readonly node: NodeInfo;
  readonly cluster: ClusterService;
  readonly meta: MetaService;
  /** The replicated lock table (the lock API builds on it). */
  readonly locks: LockModule;
  readonly lockService: LockService;
  /** Retained lock events, for subscriptions that resume from a cursor. */
  readonly lockEvents: LockEventLog;
  /** Renews sessions while their subscriptions' connections answer pings. */
  readonly sessionRenewer: SessionRenewer;
}

export interface GraphQLContext {
  readonly principal: Principal;
  readonly services: NodeServices;
  /** Present for operations over graphql-ws. */
  readonly connection?: ConnectionLiveness;
  /** Runs a listener when the client goes away before its answer (graphql-ws, lean HTTP). */
  readonly abandoned?: (listener: () => void) => () => void;
}
